"""Documents over HTTP: POST /v1/documents adds files, PUT /v1/documents/{id} replaces one,
DELETE /v1/documents/{id} removes one; each returns a build job (GET /v1/jobs/{id}).

A request is checked (write permission, size, count, type, that each file reads) and its
files are stored in the documents store (index/library.py) before it is answered, so an
accepted upload survives a crash; the job then rebuilds the index in a worker thread and
is done when the service serves the new build. One build runs at a time; later jobs wait
their turn, each building whatever the store holds then.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from index.corpus import check_doc_id, meta_from_name
from index.library import Entry, Library
from index.load import SUPPORTED_SUFFIXES, LoadError, load_bytes
from index.store import current_index
from index.types import DocumentMeta, check_script
from service.access import Access
from service.api.deps import AccessDep, SettingsDep
from service.api.job_store import JobStore
from service.config import Settings
from service.errors import (
    ForbiddenError,
    InvalidRequestError,
    PayloadTooLargeError,
    TooManyJobsError,
    UnknownDocumentError,
    UnknownJobError,
    UnreadableDocumentError,
    UnsupportedFileError,
)
from service.schemas import error_docs

log = logging.getLogger("wenda.api")
router = APIRouter(tags=["documents"])
MAX_WAITING = 8  # build jobs queued at once
KEPT = 50  # finished jobs kept for polling
SERVE_TIMEOUT_S = 120.0  # how long a job waits for the service to load its build
LOOPBACK = ("127.0.0.1", "::1", "localhost")
FileStatus = Literal["stored", "rejected", "removed", "indexed", "skipped"]
JobKind = Literal["add", "replace", "remove", "resume"]
JobState = Literal["queued", "running", "done", "failed"]


class FileResult(BaseModel):
    name: str  # the file name uploaded, or the id removed
    doc_id: str
    status: FileStatus
    error: str | None = None


class JobResponse(BaseModel):
    job_id: str
    kind: JobKind
    state: JobState
    files: list[FileResult]
    stage: str = ""  # the build stage running: load, chunk, embed, index, serve
    done: int = 0
    total: int = 0
    elapsed_s: float = 0.0
    build: str | None = None  # the build it published, once done
    error: str | None = None
    status_url: str = ""


@dataclass
class BuildJob:
    job_id: str
    kind: JobKind
    access: Access
    files: list[FileResult]
    state: JobState = "queued"
    stage: str = ""
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)  # wall clock: any worker reads it
    finished: float | None = None
    build: str | None = None
    error: str | None = None

    def body(self) -> dict[str, Any]:
        """The job as the job store keeps it (JSON)."""
        return {"kind": self.kind, "groups": None if self.access.groups is None else sorted(
                    self.access.groups), "write": self.access.write,
                "files": [f.model_dump() for f in self.files], "stage": self.stage,
                "done": self.done, "total": self.total, "started": self.started,
                "finished": self.finished, "build": self.build, "error": self.error}

    @classmethod
    def from_body(cls, job_id: str, state: JobState, body: dict[str, Any]) -> BuildJob:
        groups = body["groups"]
        access = Access(None if groups is None else frozenset(groups), write=body["write"])
        return cls(job_id, body["kind"], access, [FileResult(**f) for f in body["files"]],
                   state, body["stage"], body["done"], body["total"], body["started"],
                   body["finished"], body["build"], body["error"])


Build = Callable[[Callable[[str, int, int], None]], tuple[str, list[tuple[str, str]]]]
Serve = Callable[[str], None]
_GONE = ("the server process running this job stopped before it finished; the documents it "
         "stored are built when the service runs again (the index served before is still "
         "served)")
PROGRESS_EVERY_S = 0.25  # how often a stage's progress is written to the job store


@dataclass
class BuildJobs:
    """The build jobs of one app, kept in the data folder's job store (service/api/
    job_store.py) so that every worker process of `wenda serve --workers N` answers for
    them. A job runs in a thread of the worker that took it: one at a time in a worker
    (`_turn`), and one build at a time across processes (`Library.build_lock`)."""

    store: JobStore
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _turn: threading.Lock = field(default_factory=threading.Lock)  # one job at a time here
    _written: dict[str, float] = field(default_factory=dict)  # job -> last progress write

    def submit(self, kind: JobKind, access: Access,
               files: list[FileResult], build: Build, serve: Serve) -> BuildJob:
        job = BuildJob(uuid.uuid4().hex, kind, access, files)
        waiting = self.store.insert(job.job_id, job.state, job.body(), MAX_WAITING, KEPT)
        if waiting >= MAX_WAITING:
            raise TooManyJobsError(f"{waiting} document jobs are waiting; try again when "
                                   "one has finished", {"Retry-After": "10"})
        snapshot = replace(job, files=list(job.files))
        threading.Thread(target=self._run, args=(job, build, serve), daemon=True,
                         name=f"wenda-build-{job.job_id[:8]}").start()
        return snapshot

    def get(self, job_id: str, access: Access) -> BuildJob:
        found = self.store.get(job_id)
        if found is None or BuildJob.from_body(job_id, "queued", found[2]).access != access:
            raise UnknownJobError(f"no document job {job_id!r}: the last {KEPT} finished "
                                  "jobs are kept")
        owner, state, body = found
        job = BuildJob.from_body(job_id, cast(JobState, state), body)
        if job.state in ("queued", "running") and not self.store.alive(owner):
            job = replace(job, state="failed", error=_GONE, finished=time.time())
            self.store.update(job_id, job.state, job.body())
        return job

    def _run(self, job: BuildJob, build: Build, serve: Serve) -> None:
        with self._turn, self.store.build_turn():
            self._update(job, state="running", stage="load")
            try:
                published, skipped = build(lambda stage, done, total: self._update(
                    job, progress=True, stage=stage, done=done, total=total))
                self._update(job, stage="serve", build=Path(published).name)
                serve(published)
            except Exception as exc:  # the job reports it; the served index is untouched
                ours = isinstance(exc, ValueError)
                log.error("document job %s failed: %s", job.job_id, exc, exc_info=not ours)
                self._update(job, state="failed", finished=time.time(),
                             error=without_paths(str(exc)) if ours else "the build failed; "
                             "the server log has the details (the index served before is "
                             "still served)")
                return
            reasons = dict(skipped)
            files = [f.model_copy(update={"status": "skipped", "error": reasons[f.doc_id]})
                     if f.doc_id in reasons and f.status == "stored" else
                     f.model_copy(update={"status": "indexed"}) if f.status == "stored" else f
                     for f in job.files]
            self._update(job, state="done", files=files, finished=time.time())

    def _update(self, job: BuildJob, progress: bool = False, **changes: Any) -> None:
        with self._lock:
            new_stage = changes.get("stage", job.stage) != job.stage
            for key, value in changes.items():
                setattr(job, key, value)
            now = time.monotonic()
            if progress and not new_stage and now - self._written.get(
                    job.job_id, 0.0) < PROGRESS_EVERY_S:
                return  # a build reports every batch; pollers need a few updates a second
            self._written[job.job_id] = now
            if job.state in ("done", "failed"):
                self._written.pop(job.job_id, None)
            self.store.update(job.job_id, job.state, job.body())


_PATH = re.compile(r"(?:/[^\s/:'\"]+)+/([^\s/:'\"]+)")


def without_paths(message: str) -> str:
    """A message as clients may read it: a host path (a corpus folder named in a manifest
    error) shortened to its last part."""
    return _PATH.sub(r"\1", message)


def get_jobs(request: Request) -> BuildJobs:
    jobs = request.app.state.build_jobs
    assert isinstance(jobs, BuildJobs)
    return jobs


JobsDep = Annotated[BuildJobs, Depends(get_jobs)]


_WRITE_ERRORS = ((403, "forbidden: the key has no write permission, or the server listens "
                  "beyond loopback without keys"), (429, "too_many_jobs"))


_FIELDS = {name: {"type": "string", "description": text} for name, text in (
    ("title", "the title as the document gives it"), ("title_en", "an English title"),
    ("company", "the company it is about (also an alias questions may use)"),
    ("aliases", "other names of the company, comma-separated"),
    ("year", "the year it reports on (a whole number)"), ("doc_type", "annual-results, "
     "annual-report, interim-results, prospectus, esg-report, ..."),
    ("script", "zh-Hant, zh-Hans or en (default: detected)"),
    ("groups", "access groups, comma-separated (empty: public)"),
    ("parallel", "the id of its edition in the other language"))}


def _body(one: bool) -> dict[str, Any]:
    files = {"type": "string", "format": "binary"} if one else {
        "type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1}
    fields = dict(_FIELDS) if one else {**_FIELDS, "doc_id": {
        "type": "string", "description": "the document id (one file only; default: from "
                                         "the file name)"}}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["files"], "additionalProperties": False,
        "properties": {"files": files | {
            "description": "txt, md, html, htm, pdf, docx, xlsx or csv"}, **fields}}}}}}


@router.post("/documents", status_code=202, openapi_extra=_body(one=False), responses=error_docs(
    *_WRITE_ERRORS, (413, "payload_too_large"), (415, "unsupported_file"),
    (422, "invalid_request, unreadable_document")))
async def add_documents(request: Request, response: Response, access: AccessDep,
                        settings: SettingsDep, jobs: JobsDep) -> JobResponse:
    """Add files (multipart field `files`, one or more) with optional manifest fields
    (title, title_en, company, aliases, year, doc_type, script, groups, parallel; doc_id
    with one file). A file whose id is in the corpus replaces that document."""
    _check_writer(access, settings)
    fields, files = await _read_form(request, settings)
    results = await run_in_threadpool(_store, Library(settings.data_dir), settings, access,
                                      fields, files, None)
    return _start(request, response, jobs, "add", access, results)


@router.put("/documents/{doc_id}", status_code=202, openapi_extra=_body(one=True),
            responses=error_docs(
    *_WRITE_ERRORS, (404, "unknown_document"), (413, "payload_too_large"),
    (415, "unsupported_file"), (422, "invalid_request, unreadable_document")))
async def replace_document(doc_id: str, request: Request, response: Response,
                           access: AccessDep, settings: SettingsDep, jobs: JobsDep
                           ) -> JobResponse:
    """Replace a document's file (multipart field `files`, one file) and, where given, its
    manifest fields; the others are kept."""
    _check_writer(access, settings)
    library = Library(settings.data_dir)
    entry = await run_in_threadpool(_writable_entry, library, settings, access, doc_id)
    fields, files = await _read_form(request, settings)
    if len(files) != 1:
        raise InvalidRequestError("files: replacing a document takes exactly one file")
    results = await run_in_threadpool(_store, library, settings, access, fields, files,
                                      entry.source.meta)
    return _start(request, response, jobs, "replace", access, results)


@router.delete("/documents/{doc_id}", status_code=202, responses=error_docs(
    *_WRITE_ERRORS, (404, "unknown_document")))
async def remove_document(doc_id: str, request: Request, response: Response,
                          access: AccessDep, settings: SettingsDep, jobs: JobsDep
                          ) -> JobResponse:
    """Remove a document from the corpus and rebuild without it."""
    _check_writer(access, settings)
    library = Library(settings.data_dir)
    entry = await run_in_threadpool(_writable_entry, library, settings, access, doc_id)
    await run_in_threadpool(library.remove, doc_id, entry.origin == "base")
    return _start(request, response, jobs, "remove", access,
                  [FileResult(name=doc_id, doc_id=doc_id, status="removed")])


@router.get("/jobs/{job_id}", responses=error_docs((404, "unknown_job")))
async def get_job(job_id: str, request: Request, access: AccessDep, jobs: JobsDep
                  ) -> JobResponse:
    """A document job's state, per-file status and build progress."""
    return _response(request, jobs.get(job_id, access))


# ---- checks ------------------------------------------------------------------------------

def _check_writer(access: Access, settings: Settings) -> None:
    if not settings.document_writes:
        raise ForbiddenError("this server's corpus is read-only over HTTP "
                             "(WENDA_DOCUMENT_WRITES=false)")
    if not access.write:
        raise ForbiddenError("adding or removing documents needs an API key with write "
                             "permission (WENDA_API_KEYS entry key:groups:write)")
    open_beyond_loopback = access.groups is None and settings.host not in LOOPBACK
    if open_beyond_loopback and not settings.api_keys:
        raise ForbiddenError("document writes are refused on a server listening beyond "
                             "loopback without API keys: set WENDA_API_KEYS with a write key")


def _writable_entry(library: Library, settings: Settings, access: Access, doc_id: str) -> Entry:
    """The corpus entry a writer may change; 404 for one it may not even read (a restricted
    document is indistinguishable from a missing one), 403 for a public one it may read
    but a group-restricted key may not change."""
    entries = {e.source.meta.doc_id: e for e in library.corpus([settings.corpus_dir])}
    entry = entries.get(doc_id)
    groups = set(entry.source.meta.groups) if entry else set()
    if entry is None or (access.groups is not None and groups and not groups & access.groups):
        raise UnknownDocumentError(f"no document {doc_id!r} (see GET /v1/documents)")
    if access.groups is not None and (not groups or not groups <= access.groups):
        raise ForbiddenError(f"{doc_id}: this key may change only documents of its groups "
                             f"({', '.join(sorted(access.groups)) or 'none'})")
    return entry


async def _read_form(request: Request, settings: Settings
                     ) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "multipart/form-data":
        raise UnsupportedFileError("send documents as multipart/form-data, files in the field "
                                   f"`files`; got Content-Type {kind or '(none)'!r}")
    async with request.form(max_files=settings.max_document_files + 1, max_fields=20) as form:
        uploads = [u for u in form.getlist("files") if isinstance(u, UploadFile)]
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if not uploads:
            raise InvalidRequestError("files: attach one or more documents in the field `files`")
        if len(uploads) > settings.max_document_files:
            raise PayloadTooLargeError(f"files: at most {settings.max_document_files} files "
                                       f"an upload, got {len(uploads)}")
        files = []
        for upload in uploads:
            name = Path(upload.filename or "").name
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                raise UnsupportedFileError(
                    f"{name or '(no name)'}: unsupported file type {suffix or '(none)'!r}; "
                    f"supported: {', '.join(SUPPORTED_SUFFIXES)}")
            data = await upload.read()
            if len(data) > settings.max_document_bytes:
                raise PayloadTooLargeError(f"{name}: {len(data):,} bytes, over the limit of "
                                           f"{settings.max_document_bytes:,}")
            files.append((name, data))
    return fields, files


_LIST_FIELDS = ("groups", "aliases")


def _meta(fields: dict[str, str], name: str, base: DocumentMeta | None, single: bool,
          access: Access, fixed_id: bool) -> DocumentMeta:
    meta = base or meta_from_name(Path(name))
    known = {"doc_id", "title", "title_en", "company", "aliases", "year", "doc_type",
             "script", "groups", "parallel"}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise InvalidRequestError(f"{unknown[0]}: not a document field; fields: "
                                  f"{', '.join(sorted(known))}")
    given: dict[str, Any] = {}
    for key, value in fields.items():
        value = value.strip()
        if key in _LIST_FIELDS:
            given[key] = tuple(v.strip() for v in value.split(",") if v.strip())
        elif key == "year":
            if value and not value.isdigit():
                raise InvalidRequestError(f"year: a whole number, got {value!r}")
            given[key] = int(value) if value else None
        elif key == "script":
            try:
                given[key] = check_script(value) if value else None
            except ValueError as exc:
                raise InvalidRequestError(f"script: {exc}") from None
        elif key == "doc_id":
            if fixed_id or not single:
                raise InvalidRequestError("doc_id: give it with one file only (PUT names the "
                                          "document in its path)")
            try:
                given[key] = check_doc_id(value)
            except ValueError as exc:
                raise InvalidRequestError(f"doc_id: {exc}") from None
        else:
            given[key] = value or None if key == "parallel" else value
    meta = replace(meta, **given)
    if "company" in given and meta.company and not meta.aliases:
        meta = replace(meta, aliases=(meta.company,))  # so questions naming it find it
    if access.groups is not None:  # a group key publishes into its own groups only
        if not meta.groups:
            meta = replace(meta, groups=tuple(sorted(access.groups)))
        outside = sorted(set(meta.groups) - access.groups)
        if outside or not meta.groups:
            raise ForbiddenError(f"groups: this key may publish only to its groups "
                                 f"({', '.join(sorted(access.groups)) or 'none'})")
    return meta


def _store(library: Library, settings: Settings, access: Access, fields: dict[str, str],
           files: list[tuple[str, bytes]], base: DocumentMeta | None) -> list[FileResult]:
    """Check that each file reads, then store those that do; 422 when none does."""
    results, readable = [], []
    entries = {e.source.meta.doc_id: e for e in library.corpus([settings.corpus_dir])}
    for name, data in files:
        # a file for a document already in the corpus keeps its fields unless given anew
        known = entries.get(meta_from_name(Path(name)).doc_id) if base is None else None
        meta = _meta(fields, name, base or (known.source.meta if known else None),
                     len(files) == 1, access, fixed_id=base is not None)
        try:
            load_bytes(data, name, meta)
        except LoadError as exc:
            results.append(FileResult(name=name, doc_id=meta.doc_id, status="rejected",
                                      error=str(exc)))
            continue
        readable.append((name, data, meta))
    if not readable:
        raise UnreadableDocumentError("; ".join(r.error or "" for r in results))
    ids = [m.doc_id for _, _, m in readable]
    if len(set(ids)) != len(ids):
        raise InvalidRequestError("files: two files would have the same document id; "
                                  "rename one or upload them separately")
    if access.groups is not None:  # replacing a document of another group would take it over
        for doc_id in ids:
            if doc_id in entries:
                _writable_entry(library, settings, access, doc_id)
    for name, data, meta in readable:
        library.add(name, data, meta)
        results.append(FileResult(name=name, doc_id=meta.doc_id, status="stored"))
    return results


# ---- the job --------------------------------------------------------------------------

def _start(request: Request, response: Response, jobs: BuildJobs, kind: JobKind,
           access: Access, files: list[FileResult]) -> JobResponse:
    job = start_build(request.app, jobs, kind, access, files)
    result = _response(request, job)
    response.headers["Location"] = result.status_url
    return result


def start_build(app: Any, jobs: BuildJobs, kind: JobKind, access: Access,
                files: list[FileResult]) -> BuildJob:
    """A job that builds the served corpus with the app's model, then has the app serve
    it; called on the event loop (a request, or start-up resuming an unfinished build)."""
    state = app.state.wenda
    settings = state.settings
    loop = asyncio.get_running_loop()

    def build(progress: Callable[[str, int, int], None]) -> tuple[str, list[tuple[str, str]]]:
        from service.engine import build_served, make_embedder

        library = Library(settings.data_dir)
        published = current_index(settings.data_dir)
        if kind == "resume" and published and library.built() >= library.generation():
            return str(published), []  # another worker's build, finished meanwhile, holds it
        embedder = getattr(app.state, "embedder", None) or make_embedder(settings)
        report = build_served(settings, embedder, progress=progress)
        return str(report.index_dir), report.skipped

    def serve(published: str) -> None:
        watcher = getattr(app.state, "watcher", None)
        if watcher is None:
            return  # a service handed its engine serves it as it is (tests)
        deadline = time.monotonic() + SERVE_TIMEOUT_S
        while time.monotonic() < deadline:
            check = watcher.check()
            try:
                future = asyncio.run_coroutine_threadsafe(check, loop)
            except RuntimeError:  # the app is shutting down: its loop is gone
                check.close()
                raise ValueError("the server stopped before it served the new build; it "
                                 "is published and will be served at the next start") from None
            future.result(SERVE_TIMEOUT_S)
            # served, not just seen: the periodic check marks a build seen before its load
            # has finished
            served = state.backend.description.get("index") if state.backend else None
            if served == Path(published).name and served_everywhere(jobs.store, published,
                                                                    settings.data_dir):
                return
            if watcher.seen == published and state.reload_error:
                raise ValueError(f"the new build was published but could not be loaded: "
                                 f"{state.reload_error}")
            time.sleep(0.2)
        raise ValueError(f"the new build was published but not served: {state.reload_error}")

    return jobs.submit(kind, access, files, build, serve)


async def resume_unfinished(app: Any) -> None:
    """At start-up: when the documents store holds a change whose build never finished (a
    crash or a stop mid-build), build it now, in the background; unless a job of another
    worker is queued or running, whose build will hold it."""
    settings = app.state.wenda.settings
    library = Library(settings.data_dir)
    jobs: BuildJobs = app.state.build_jobs
    behind = await run_in_threadpool(
        lambda: library.generation() > library.built() and not jobs.store.active())
    if behind and settings.document_writes:
        log.info("the documents store holds changes no build finished: building them")
        start_build(app, app.state.build_jobs, "resume", Access(None, write=True), [])


def served_everywhere(store: JobStore, published: str, data_dir: Path) -> bool:
    """Whether every live worker of the data folder serves the build `published`, or one
    published after it (which holds its changes too); raises ValueError when one could not
    load it. The other workers load it at their next check for a new build."""
    ours = Path(published).name
    newest = current_index(data_dir)
    wanted = {ours, newest.name if newest else ours}
    workers = store.workers()
    for worker in workers:
        if worker.refused == ours and worker.build not in wanted:
            raise ValueError(f"the new build was published but worker {worker.worker} could "
                             f"not load it: {worker.reason}")
    return all(worker.build in wanted for worker in workers)


def _response(request: Request, job: BuildJob) -> JobResponse:
    elapsed = (job.finished or time.time()) - job.started
    return JobResponse(job_id=job.job_id, kind=job.kind, state=job.state, files=job.files,
                       stage=job.stage, done=job.done, total=job.total,
                       elapsed_s=round(elapsed, 3), build=job.build, error=job.error,
                       status_url=str(request.app.url_path_for("get_job", job_id=job.job_id)))
