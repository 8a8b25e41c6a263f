"""POST /v1/eval (score a question file as a background job) and GET /v1/eval/{job_id}.

Questions come as a multipart upload of a JSONL question file (field `file`) or as JSON,
`{"questions": [...]}`, in the format of eval/QUESTIONS.md. They are checked line by line
and against the documents the caller may read before a job starts; the job then runs
retrieval (bm25, dense, hybrid) and the answer path for each question, as `wenda eval`
does without its generic baseline, seeing only the documents the caller's key may read.
"""

from __future__ import annotations

import codecs
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from index.types import Document
from service.access import Access, visible
from service.api.deps import AccessDep, BackendDep
from service.api.eval_jobs import KEPT, EvalJob, EvalJobs
from service.api.eval_schemas import (
    EVAL_REQUEST_BODY,
    EvalJobResponse,
    EvalQuestionResult,
    EvalRequest,
    EvalStatusResponse,
)
from service.api.job_store import JobStore
from service.errors import (
    InvalidQuestionsError,
    InvalidRequestError,
    TooManyQuestionsError,
    UnknownJobError,
    UnsupportedFileError,
    translate_validation,
)
from service.questions import Question, QuestionFileError, check_questions, parse_questions
from service.schemas import error_docs

router = APIRouter(tags=["eval"])
# Signatures of files people upload by mistake: PDF, zip (xlsx, docx), gzip, PNG, JPEG, GIF,
# and the old Office format.
_BINARY = (b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"\x89PNG", b"\xff\xd8\xff", b"GIF8",
           b"\xd0\xcf\x11\xe0")
_SNIFF = 8192  # bytes looked at for NULs


async def get_jobs(request: Request) -> EvalJobs:
    """The app's evaluation jobs (service.app makes them, and stops them at shutdown)."""
    jobs = request.app.state.eval_jobs
    assert isinstance(jobs, EvalJobs)
    return jobs


JobsDep = Annotated[EvalJobs, Depends(get_jobs)]


@router.post("/eval", status_code=202, openapi_extra=EVAL_REQUEST_BODY, responses=error_docs(
    (413, "payload_too_large: the upload is over WENDA_MAX_UPLOAD_BYTES"),
    (415, "unsupported_file: not a text file, or neither multipart nor JSON"),
    (422, "invalid_questions (each bad line named), too_many_questions"),
    (429, "too_many_jobs: wait for a running job to finish")))
async def submit_eval(request: Request, response: Response, backend: BackendDep,
                      access: AccessDep, jobs: JobsDep) -> EvalJobResponse:
    """Check a question file and start scoring it; poll `status_url` for the results."""
    text, source = await read_questions(request)
    questions = await run_in_threadpool(
        validate_questions, text, source, jobs.max_questions, backend.documents, access)
    job = jobs.submit(backend, questions, access)
    status_url = str(request.app.url_path_for("get_eval", job_id=job.job_id))
    response.headers["Location"] = status_url
    return EvalJobResponse(job_id=job.job_id, status=job.status, questions=job.total,
                           status_url=status_url)


@router.get("/eval/{job_id}", responses=error_docs((404, "unknown_job")))
async def get_eval(job_id: str, request: Request, access: AccessDep, jobs: JobsDep
                   ) -> EvalStatusResponse:
    """A job's progress; when done, the summary `wenda eval` reports and every result."""
    try:
        return status_of(jobs.get(job_id, access))
    except UnknownJobError:  # another worker process's job, perhaps
        shared = await run_in_threadpool(_shared_job, request.app.state.build_jobs.store,
                                         job_id, access)
        if shared is None:
            raise
        return shared


def status_of(job: EvalJob) -> EvalStatusResponse:
    results = None
    if job.results is not None:
        results = [EvalQuestionResult.model_validate(asdict(r)) for r in job.results]
    return EvalStatusResponse(job_id=job.job_id, status=job.status, done=job.done,
                              total=job.total, elapsed_s=round(job.elapsed_s, 3),
                              summary=job.summary, results=results, error=job.error)


log = logging.getLogger("wenda.api")
_EVAL = "eval"  # the job store's kind for evaluation jobs
_GONE = "the server process running this evaluation stopped before it finished"
SHARE_EVERY_S = 0.5  # how often a running job's progress is copied to the job store


def share_jobs(store: JobStore) -> Callable[[EvalJob], None]:
    """EvalJobs.on_change: copy each job's state into the job store, where the other
    worker processes read it (a running job's progress at most every SHARE_EVERY_S)."""
    written: dict[str, tuple[str, float]] = {}
    lock = threading.Lock()

    def changed(job: EvalJob) -> None:
        now = time.monotonic()
        with lock:
            last = written.get(job.job_id)
            if last is not None and last[0] == job.status == "running" and \
                    now - last[1] < SHARE_EVERY_S:
                return
            written[job.job_id] = (job.status, now)
            if not job.active:
                written.pop(job.job_id, None)
        body = {"groups": None if job.access.groups is None else sorted(job.access.groups),
                "write": job.access.write, "started_at": time.time() - job.elapsed_s,
                "status": status_of(job).model_dump(mode="json")}
        try:
            if last is None:
                store.insert(job.job_id, job.status, body, max_active=1 << 30, kept=KEPT,
                             kind=_EVAL)
            else:
                store.update(job.job_id, job.status, body)
        except (OSError, sqlite3.Error) as exc:  # a read-only data folder: this worker only
            if last is None:
                log.warning("eval job %s: only this worker can tell its state: %s",
                            job.job_id, exc)

    return changed


def _shared_job(store: JobStore, job_id: str, access: Access) -> EvalStatusResponse | None:
    found = store.get(job_id)
    if found is None or found[2].get("status") is None:
        return None
    owner, state, body = found
    groups = body["groups"]
    if Access(None if groups is None else frozenset(groups), body["write"]) != access:
        return None
    status = EvalStatusResponse.model_validate(body["status"])
    if state in ("queued", "running"):
        if not store.alive(owner):
            return status.model_copy(update={"status": "failed", "error": _GONE})
        if state == "running":
            status = status.model_copy(update={
                "elapsed_s": round(time.time() - body["started_at"], 3)})
    return status


async def read_questions(request: Request) -> tuple[str, str]:
    """The question file's text and the name problems are reported under.

    The app's BodySizeLimit has already refused a body over WENDA_MAX_UPLOAD_BYTES (413).
    """
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _read_upload(request), "upload"
    if kind == "application/json":
        try:
            body = EvalRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise translate_validation(exc.errors()) from None
        # One item per line (json.dumps writes no newlines): item n is reported as line n.
        return "\n".join(json.dumps(q, ensure_ascii=False) for q in body.questions), "questions"
    raise UnsupportedFileError(
        "send the question file as multipart/form-data (field `file`) or JSON "
        f'{{"questions": [...]}}; got Content-Type {kind or "(none)"!r}')


async def _read_upload(request: Request) -> str:
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequestError(
                "file: upload the JSONL question file in the multipart field `file`")
        data = await upload.read()
    return decode_upload(data)


def decode_upload(data: bytes) -> str:
    """UTF-8 text (a leading BOM dropped); 415 for binary files, 422 naming a non-UTF-8 line."""
    if data.startswith(_BINARY) or (b"\x00" in data[:_SNIFF] and not data.startswith(
            (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))):
        raise UnsupportedFileError(
            "upload: not a text file; send the questions as UTF-8 JSONL, one object a line")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidQuestionsError(
            f"upload line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as "
            "UTF-8") from None


def validate_questions(text: str, source: str, limit: int, documents: Mapping[str, Document],
                       access: Access) -> list[Question]:
    """The questions, each line valid and every evidence string in a document the caller
    may read; 422 naming each problem otherwise."""
    count = sum(1 for line in text.splitlines() if line.strip())
    if count > limit:
        raise TooManyQuestionsError(
            f"{source}: {count:,} questions; a job takes at most {limit:,}, so split the file")
    try:
        questions = parse_questions(text, source)
    except QuestionFileError as exc:
        raise InvalidQuestionsError(str(exc)) from None
    readable = {d: doc.text for d, doc in visible(documents, access.filters()).items()}
    problems = check_questions(questions, readable).problems
    if problems:
        message = str(QuestionFileError([f"{source} question {p}" for p in problems]))
        if any("unknown document" in p for p in problems):
            message += " (see GET /v1/documents)"
        raise InvalidQuestionsError(message)
    return questions
