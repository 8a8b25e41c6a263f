"""POST /v1/eval and GET /v1/eval/{job_id} with a fake backend; one parity check on a real index."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from fakes import api_client, corpus_folder, fixture_manifest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from index.corpus import discover
from index.reader import IndexMissingError
from index.types import Document
from service.access import Filters
from service.answer import Answer, ReplyScript
from service.api.auth import OPEN
from service.api.backend import Backend, EngineBackend
from service.api.eval_jobs import EvalJobs, evaluate_backend
from service.api.eval_schemas import EvalQuestionResult
from service.app import create_app
from service.config import Settings
from service.engine import Engine, build, make_embedder
from service.questions import Question
from service.retrieve import Hit, Method
from service.scoring import QuestionResult, evaluate

if TYPE_CHECKING:
    from conftest import FakeBackend

# "Project Wing" is on line 1 of en.txt, so the fake backend ranks its evidence first.
GOOD: dict[str, Any] = {
    "id": "en-1", "question": "Which project is the report about?", "script": "en",
    "doc_ids": ["en"], "answers": ["Project Wing"],
    "evidence": [{"doc_id": "en", "text": "Project Wing"}], "type": "entity"}
UNANSWERABLE: dict[str, Any] = {"id": "none-1", "question": "What will the 2030 dividend be?",
                                "script": "en", "type": "unanswerable"}
FINANCE: dict[str, Any] = {  # zh-hans belongs to the "finance" group
    "id": "hans-1", "question": "商汤累计开发了多少个商业化人工智能模型？", "script": "zh-Hans",
    "doc_ids": ["zh-hans"], "answers": ["22,000"],
    "evidence": [{"doc_id": "zh-hans", "text": "人工智能基础设施"}], "type": "number"}


def jsonl(*questions: Mapping[str, Any]) -> bytes:
    return "\n".join(json.dumps(q, ensure_ascii=False) for q in questions).encode("utf-8")


def upload(client: TestClient, data: bytes, headers: Mapping[str, str] | None = None,
           name: str = "questions.jsonl") -> Any:
    return client.post("/v1/eval", files={"file": (name, data, "application/octet-stream")},
                       headers=headers)


def wait_for(client: TestClient, url: str, headers: Mapping[str, str] | None = None,
             timeout: float = 5.0) -> dict[str, Any]:
    """Poll a job until it is done or failed (or the timeout passes); its last status."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.01)


def error_of(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def use_jobs(client: TestClient, jobs: EvalJobs) -> EvalJobs:
    cast(FastAPI, client.app).state.eval_jobs = jobs  # the app's own: its shutdown stops them
    return jobs


# ---- the happy path ------------------------------------------------------------------

@pytest.mark.parametrize("form", ["upload", "inline"])
def test_a_question_file_is_scored_in_the_background_and_polled_to_a_summary(
        client: TestClient, form: str) -> None:
    if form == "upload":
        response = upload(client, jsonl(GOOD, UNANSWERABLE))
    else:
        response = client.post("/v1/eval", json={"questions": [GOOD, UNANSWERABLE]})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted == {"job_id": accepted["job_id"], "status": "queued", "questions": 2,
                        "status_url": f"/v1/eval/{accepted['job_id']}"}
    assert response.headers["location"] == accepted["status_url"]

    body = wait_for(client, accepted["status_url"])
    assert body["status"] == "done" and body["done"] == body["total"] == 2, body
    assert body["error"] is None and body["elapsed_s"] >= 0
    summary = body["summary"]
    assert summary["questions"] == 2
    assert summary["retrieval"]["hybrid"]["all"]["recall@5"] == 1.0
    assert set(summary["retrieval"]) == {"bm25", "dense", "hybrid"}
    assert summary["answers"]["all"]["accuracy"] == 1.0
    assert set(summary["latency_ms"]) == {"median", "p95"}
    first, second = body["results"]
    assert first["id"] == "en-1" and first["correct"] and first["ranks"] == {
        "bm25": 1, "dense": 1, "hybrid": 1}
    assert second["id"] == "none-1" and second["ranks"] == {}


def test_the_job_searches_each_method_and_answers_like_the_runner(
        client: TestClient, backend: FakeBackend) -> None:
    url = client.post("/v1/eval", json={"questions": [GOOD]}).json()["status_url"]
    assert wait_for(client, url)["status"] == "done"
    assert [(c["op"], c.get("method"), c["k"] if "k" in c else c["top_k"])
            for c in backend.calls] == [("search", "bm25", 10), ("search", "dense", 10),
                                        ("answer", None, 10)]
    assert backend.calls[-1]["reply_script"] == "auto" and backend.calls[-1]["history"] == []


def test_the_result_model_has_every_field_of_the_runners_result() -> None:
    assert set(EvalQuestionResult.model_fields) == {f.name for f in fields(QuestionResult)}


def test_the_openapi_schema_documents_both_request_forms(client: TestClient) -> None:
    post = client.get("/openapi.json").json()["paths"]["/v1/eval"]["post"]
    assert set(post["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"202", "413", "415", "422", "429"} <= set(post["responses"])


# ---- bad question files --------------------------------------------------------------

@pytest.mark.parametrize(("lines", "expected"), [
    ([GOOD, "{oops"], "upload line 2: not JSON"),
    ([GOOD, {**GOOD, "id": "en-2"}, {**GOOD, "id": "en-3", "script": "zh-TW"}],
     "upload line 3: script: Input should be 'zh-Hant', 'zh-Hans' or 'en'"),
    ([{**GOOD, "answers": []}], "upload line 1: line: Value error, an answerable question "
                                "needs doc_ids, answers and evidence"),
    ([GOOD, {**GOOD, "colour": "red"}], "upload line 2: colour: Extra inputs are not permitted"),
    ([GOOD, GOOD], "upload: id 'en-1' appears more than once"),
    ([], "upload: no questions"),
    (["", "   ", ""], "upload: no questions"),
])
def test_a_bad_upload_is_422_naming_each_bad_line(client: TestClient, lines: list[Any],
                                                  expected: str, backend: FakeBackend) -> None:
    data = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode()
    status, code, message = error_of(upload(client, data))
    assert (status, code) == (422, "invalid_questions")
    assert expected in message
    assert backend.calls == []  # nothing was run


def test_every_bad_line_is_named_not_only_the_first(client: TestClient) -> None:
    data = jsonl(GOOD, {**GOOD, "id": "x", "type": "guess"}) + b"\n[1]\n{"
    message = error_of(upload(client, data))[2]
    assert "upload line 2: type:" in message and "upload line 3:" in message
    assert "upload line 4: not JSON" in message


@pytest.mark.parametrize(("questions", "expected"), [
    ([GOOD, {**GOOD, "id": "en-2", "script": "fr"}], "questions line 2: script: Input should be"),
    (["not an object"], "questions line 1: line: Input should be a valid dictionary"),
    ([], "questions: no questions"),
])
def test_bad_inline_questions_are_422_naming_the_item_as_a_line(
        client: TestClient, questions: list[Any], expected: str) -> None:
    status, code, message = error_of(client.post("/v1/eval", json={"questions": questions}))
    assert (status, code) == (422, "invalid_questions") and expected in message


@pytest.mark.parametrize(("question", "expected"), [
    ({**GOOD, "doc_ids": ["nope"], "evidence": [{"doc_id": "nope", "text": "Project Wing"}]},
     "upload question en-1: unknown document 'nope'"),
    ({**GOOD, "evidence": [{"doc_id": "en", "text": "Project Swing"}]},
     "upload question en-1: evidence not found verbatim in en: 'Project Swing'"),
])
def test_questions_are_checked_against_the_loaded_documents(
        client: TestClient, question: dict[str, Any], expected: str) -> None:
    status, code, message = error_of(upload(client, jsonl(question)))
    assert (status, code) == (422, "invalid_questions") and expected in message


def test_an_upload_over_the_limit_is_413(client: TestClient, settings: Settings) -> None:
    big = jsonl(*({**GOOD, "id": f"q{i}"} for i in range(40)))
    assert len(big) > settings.max_upload_bytes
    status, code, message = error_of(upload(client, big))
    assert (status, code) == (413, "payload_too_large") and "4,000 bytes" in message


def test_a_file_that_is_not_utf8_is_422_naming_the_line(client: TestClient) -> None:
    data = jsonl(GOOD) + b"\n" + json.dumps(
        {**GOOD, "id": "big5", "question": "商湯收入？"}, ensure_ascii=False).encode("big5")
    status, code, message = error_of(upload(client, data))
    assert (status, code) == (422, "invalid_questions")
    assert message.startswith("upload line 2: not UTF-8") and "UTF-8" in message


def test_a_utf8_byte_order_mark_is_accepted(client: TestClient) -> None:
    assert upload(client, b"\xef\xbb\xbf" + jsonl(GOOD)).status_code == 202


@pytest.mark.parametrize("data", [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", b"PK\x03\x04\x14\x00",
                                  b"\x89PNG\r\n\x1a\n\x00\x00", b"{\"id\": \"a\x00\x00\x01\x02"])
def test_a_binary_file_is_415_unsupported_file(client: TestClient, data: bytes) -> None:
    status, code, message = error_of(upload(client, data, name="report.pdf"))
    assert (status, code) == (415, "unsupported_file") and "UTF-8 JSONL" in message


@pytest.mark.parametrize(("content_type", "body"), [
    ("text/plain", jsonl(GOOD)), ("application/x-www-form-urlencoded", b"file=x"), ("", b"x")])
def test_a_body_that_is_neither_multipart_nor_json_is_415(client: TestClient, content_type: str,
                                                          body: bytes) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    status, code, message = error_of(client.post("/v1/eval", content=body, headers=headers))
    assert (status, code) == (415, "unsupported_file") and "multipart/form-data" in message


def test_a_multipart_body_without_the_file_field_is_422(client: TestClient) -> None:
    response = client.post("/v1/eval", files={"questions": ("q.jsonl", jsonl(GOOD))})
    assert error_of(response)[:2] == (422, "invalid_request")
    assert "`file`" in error_of(response)[2]


@pytest.mark.parametrize(("body", "status", "code"), [
    (b'{"questions": [', 400, "malformed_json"),
    (b'{"questions": [], "extra": 1}', 422, "invalid_request"),
    (b'{"questions": "all"}', 422, "invalid_request"),
    (b"[]", 422, "invalid_request"),
])
def test_a_bad_json_body_gets_the_apis_usual_errors(client: TestClient, body: bytes,
                                                    status: int, code: str) -> None:
    response = client.post("/v1/eval", content=body, headers={"Content-Type": "application/json"})
    assert error_of(response)[:2] == (status, code)


@pytest.mark.parametrize("form", ["upload", "inline"])
def test_more_questions_than_a_job_takes_is_422(client: TestClient, form: str) -> None:
    use_jobs(client, EvalJobs(max_questions=2))
    questions = [{**GOOD, "id": f"q{i}"} for i in range(3)]
    response = (upload(client, jsonl(*questions)) if form == "upload"
                else client.post("/v1/eval", json={"questions": questions}))
    status, code, message = error_of(response)
    assert (status, code) == (422, "too_many_questions") and "at most 2" in message
    assert client.post("/v1/eval", json={"questions": questions[:2]}).status_code == 202


# ---- jobs ----------------------------------------------------------------------------

def test_an_unknown_job_is_404(client: TestClient) -> None:
    status, code, message = error_of(client.get("/v1/eval/0123456789abcdef"))
    assert (status, code) == (404, "unknown_job") and "'0123456789abcdef'" in message


@dataclass
class GatedBackend:
    """The fake backend, with every search waiting until `gate` is set."""

    inner: Backend
    gate: threading.Event

    @property
    def documents(self) -> Mapping[str, Document]:
        return self.inner.documents

    @property
    def description(self) -> dict[str, str | int]:
        return self.inner.description

    def search(self, query: str, k: int, filters: Filters, method: Method) -> list[Hit]:
        assert self.gate.wait(10)
        return self.inner.search(query, k, filters, method)

    def answer(self, question: str, top_k: int, filters: Filters, reply_script: ReplyScript,
               history: list[str]) -> Answer:
        return self.inner.answer(question, top_k, filters, reply_script, history)


@pytest.fixture
def gated(settings: Settings, backend: FakeBackend) -> Iterator[tuple[TestClient, threading.Event]]:
    gate = threading.Event()
    app = create_app(settings, engine=GatedBackend(backend, gate))
    with api_client(app, raise_server_exceptions=False) as client:
        yield client, gate
        gate.set()  # let any job still waiting finish


def test_a_third_job_while_two_run_is_429_and_is_accepted_once_one_finishes(
        gated: tuple[TestClient, threading.Event]) -> None:
    client, gate = gated
    urls = [client.post("/v1/eval", json={"questions": [GOOD]}).json()["status_url"]
            for _ in range(2)]
    assert client.get(urls[0]).json()["status"] in ("queued", "running")
    refused = client.post("/v1/eval", json={"questions": [GOOD]})
    status, code, message = error_of(refused)
    assert (status, code) == (429, "too_many_jobs") and "limit is 2" in message
    assert refused.headers["retry-after"] == "10"
    gate.set()
    assert [wait_for(client, url)["status"] for url in urls] == ["done", "done"]
    assert client.post("/v1/eval", json={"questions": [GOOD]}).status_code == 202


def test_only_the_newest_finished_jobs_are_kept(client: TestClient) -> None:
    use_jobs(client, EvalJobs(kept=2))
    urls = []
    for _ in range(3):
        urls.append(client.post("/v1/eval", json={"questions": [GOOD]}).json()["status_url"])
        assert wait_for(client, urls[-1])["status"] == "done"
    assert client.get(urls[0]).status_code == 404
    assert [client.get(url).status_code for url in urls[1:]] == [200, 200]


def test_a_failure_inside_a_job_marks_it_failed_without_a_stack_trace(
        client: TestClient, backend: FakeBackend, caplog: pytest.LogCaptureFixture) -> None:
    backend.fail_with = RuntimeError("disk /secret/path exploded")
    with caplog.at_level(logging.ERROR, logger="wenda.api"):
        url = client.post("/v1/eval", json={"questions": [GOOD, UNANSWERABLE]}
                          ).json()["status_url"]
        body = wait_for(client, url)
    assert body["status"] == "failed" and body["summary"] is None and body["results"] is None
    assert body["error"].startswith("the evaluation failed at question 1 of 2 ('en-1')")
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    assert any("secret" in r.getMessage() or (r.exc_info and "secret" in str(r.exc_info[1]))
               for r in caplog.records)
    assert client.get("/healthz").status_code == 200
    backend.fail_with = None
    assert wait_for(client, client.post("/v1/eval", json={"questions": [GOOD]}
                                        ).json()["status_url"])["status"] == "done"


def test_without_an_index_submitting_is_503(settings: Settings) -> None:
    def loader(s: Settings) -> Backend:
        raise IndexMissingError("no index in /tmp/data: build one with `wenda index` first")

    with api_client(create_app(settings, loader=loader)) as client:
        status, code, _ = error_of(client.post("/v1/eval", json={"questions": [GOOD]}))
        assert (status, code) == (503, "index_not_loaded")
        assert error_of(upload(client, jsonl(GOOD)))[:2] == (503, "index_not_loaded")
        assert client.get("/v1/eval/abc").status_code == 404


# ---- API keys ------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/eval"), ("GET", "/v1/eval/abc")])
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_eval_needs_a_valid_key(keyed_client: TestClient, method: str, path: str,
                                headers: dict[str, str]) -> None:
    response = keyed_client.request(method, path, json={"questions": [GOOD]}, headers=headers)
    assert error_of(response)[:2] == (401, "unauthorized")


def test_a_job_sees_only_the_documents_of_its_key(keyed_client: TestClient,
                                                  backend: FakeBackend) -> None:
    public, reader = {"X-API-Key": "public-key"}, {"X-API-Key": "reader-key"}
    refused = keyed_client.post("/v1/eval", json={"questions": [FINANCE]}, headers=public)
    assert error_of(refused)[:2] == (422, "invalid_questions")
    assert "unknown document 'zh-hans'" in error_of(refused)[2]  # its existence is not shared

    url = keyed_client.post("/v1/eval", json={"questions": [GOOD, FINANCE]},
                            headers=reader).json()["status_url"]
    assert wait_for(keyed_client, url, reader)["status"] == "done"
    assert {c["filters"].groups for c in backend.calls} == {frozenset({"finance"})}


def test_a_job_is_unknown_to_a_key_with_other_access(keyed_client: TestClient) -> None:
    admin = {"X-API-Key": "admin-key"}
    url = keyed_client.post("/v1/eval", json={"questions": [GOOD]}, headers=admin
                            ).json()["status_url"]
    assert wait_for(keyed_client, url, admin)["status"] == "done"
    other = keyed_client.get(url, headers={"X-API-Key": "public-key"})
    assert error_of(other)[:2] == (404, "unknown_job")


# ---- the same numbers as `wenda eval` ------------------------------------------------

MANIFEST = fixture_manifest('en', 'zh-Hant')
PARITY = [
    {"id": "p-en", "question": "How many commercialised AI models had SenseTime developed?",
     "script": "en", "doc_ids": ["report-en"], "answers": ["22,000"], "type": "number",
     "evidence": [{"doc_id": "report-en", "text": "developed more than 22,000 commercialised"}]},
    {"id": "p-hant", "question": "商湯累計開發了多少個商業化人工智能模型？", "script": "zh-Hant",
     "doc_ids": ["report-zh-hant"], "answers": ["22,000"], "type": "number",
     "evidence": [{"doc_id": "report-zh-hant", "text": "我們已累計開發超過22,000個商業"}]},
    {"id": "p-x", "question": "商汤累计开发了多少个商业化人工智能模型？", "script": "zh-Hans",
     "doc_ids": ["report-zh-hant"], "answers": ["22,000"], "type": "number",
     "cross_lingual": True,
     "evidence": [{"doc_id": "report-zh-hant", "text": "我們已累計開發超過22,000個商業"}]},
    {"id": "p-none", "question": "What dividend will SenseTime pay in 2040?", "script": "en",
     "type": "unanswerable"},
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path,
           corpus_dir: Path) -> Engine:
    root = tmp_path_factory.mktemp("eval-parity")
    corpus = corpus_folder(root / "corpus", fixtures_dir, MANIFEST, ("en.txt", "zh-hant.txt"))
    settings = Settings(data_dir=root / "data", corpus_dir=corpus,
                        glossary=corpus_dir / "glossary.toml")
    embedder = make_embedder(settings)
    build(settings, discover([corpus]), embedder)
    return Engine.start(settings, embedder)


def test_the_api_scores_a_real_index_exactly_as_wenda_eval_does(engine: Engine) -> None:
    questions = [Question.model_validate(q) for q in PARITY]

    def scored(results: list[QuestionResult]) -> list[dict[str, Any]]:
        return [{**asdict(r), "latency_ms": 0.0} for r in results]

    ours = evaluate_backend(EngineBackend(engine), questions, OPEN, lambda done, total: None)
    assert scored(ours) == scored(evaluate(EngineBackend(engine), questions))
    assert any(r.ranks.get("hybrid") for r in ours)  # the comparison is not of empty runs
