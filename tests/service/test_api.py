"""The HTTP API's endpoints with a fake backend: shapes, parameters passed on, loading."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fakes import api_client
from fastapi.testclient import TestClient

from index.reader import IndexMismatchError, IndexMissingError
from service.api.backend import Backend
from service.app import create_app
from service.config import Settings

if TYPE_CHECKING:
    from conftest import FakeBackend

CITATION_FIELDS = {"n", "doc_id", "title", "section", "page", "line_start", "line_end",
                   "char_start", "char_end", "quote", "quote_converted", "chunk_id",
                   # what readers see: markup rendered, section/title in the reply script
                   "display", "display_converted", "section_converted", "section_page",
                   "title_display", "page_end"}
HIT_FIELDS = {"chunk_id", "doc_id", "title", "section", "page", "line_start", "line_end",
              "char_start", "char_end", "text", "clean", "score"}
STATIC = Path(__file__).resolve().parents[2] / "service" / "static"


def test_healthz_is_always_ok(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_describes_the_loaded_index(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "index": "fake", "model": "fake",
                               "documents": 3}


def test_ask_returns_the_answer_with_citations_and_passages(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "What is SenseCore?"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"answer", "answerable", "reply_script", "confidence", "citations",
                         "passages", "timings_ms", "mode", "answer_type", "missing",
                         "inherited"}
    assert body["answerable"] is True
    assert body["answer"].endswith("[1]")
    assert [set(c) for c in body["citations"]] == [CITATION_FIELDS]
    assert body["citations"][0]["title"] == "Fixture Report (English)"
    assert all(set(p) == HIT_FIELDS for p in body["passages"])
    assert body["timings_ms"] == {"total": 1.5}
    assert (body["mode"], body["answer_type"]) == ("extractive", "definition")
    assert (body["missing"], body["inherited"]) == ("", [])


def test_ask_passes_its_options_to_the_engine(client: TestClient, backend: FakeBackend) -> None:
    client.post("/v1/ask", json={
        "question": "  營收是多少？ ", "top_k": 3, "reply_script": "zh-Hans",
        "filters": {"doc_ids": ["zh-hant"], "companies": ["Fixture Co."], "years": [2023],
                    "scripts": ["zh-Hant"], "doc_types": ["annual-report"]}})
    call = backend.calls[-1]
    assert call["question"] == "營收是多少？"
    assert call["top_k"] == 3
    assert call["reply_script"] == "zh-Hans"
    filters = call["filters"]
    assert filters.doc_ids == {"zh-hant"} and filters.companies == {"Fixture Co."}
    assert filters.years == {2023} and filters.scripts == {"zh-Hant"}
    assert filters.doc_types == {"annual-report"}
    assert filters.groups is None  # no API keys: everything


def test_ask_abstains_with_a_normal_200(client: TestClient, backend: FakeBackend) -> None:
    backend.answerable = False
    body = client.post("/v1/ask", json={"question": "Who won the 1998 World Cup?"}).json()
    assert body["answerable"] is False
    assert body["citations"] == []
    assert body["passages"]  # what was searched is still shown


@pytest.mark.parametrize("doc_id", ["en", "zh-hant", "zh-hans"])
def test_citation_quote_is_exactly_the_span_the_document_endpoint_returns(
        client: TestClient, doc_id: str) -> None:
    body = client.post("/v1/ask", json={"question": "SenseCore",
                                        "filters": {"doc_ids": [doc_id]}}).json()
    citation = body["citations"][0]
    span = client.get(f"/v1/documents/{doc_id}", params={
        "start": citation["char_start"], "end": citation["char_end"]}).json()["span"]
    assert span["text"] == citation["quote"]
    assert (span["line_start"], span["line_end"]) == (citation["line_start"],
                                                      citation["line_end"])


@pytest.mark.parametrize("doc_id", ["en", "zh-hant", "zh-hans"])
def test_search_hit_text_is_exactly_the_document_span(client: TestClient, backend: FakeBackend,
                                                      doc_id: str) -> None:
    hits = client.post("/v1/search", json={"query": "AI", "top_k": 20,
                                           "filters": {"doc_ids": [doc_id]}}).json()["hits"]
    text = backend.docs[doc_id].text
    assert hits and all(set(h) == HIT_FIELDS for h in hits)
    assert all(text[h["char_start"]:h["char_end"]] == h["text"] for h in hits)


def test_get_search_returns_what_post_search_returns(client: TestClient) -> None:
    posted = client.post("/v1/search", json={"query": "revenue", "top_k": 4}).json()
    got = client.get("/v1/search", params={"q": "revenue", "k": 4}).json()
    assert got == posted
    assert len(got["hits"]) == 4


def test_get_search_takes_repeatable_filters(client: TestClient, backend: FakeBackend) -> None:
    client.get("/v1/search?q=AI&doc_id=en&doc_id=zh-hant&script=en&year=2023&company=X"
               "&doc_type=annual-report")
    filters = backend.calls[-1]["filters"]
    assert filters.doc_ids == {"en", "zh-hant"} and filters.scripts == {"en"}
    assert filters.years == {2023} and filters.companies == {"X"}
    assert filters.doc_types == {"annual-report"}


def test_search_defaults_to_hybrid_and_takes_a_method(client: TestClient,
                                                      backend: FakeBackend) -> None:
    client.post("/v1/search", json={"query": "AI"})
    client.post("/v1/search", json={"query": "AI", "method": "bm25"})
    assert [c["method"] for c in backend.calls] == ["hybrid", "bm25"]
    assert backend.calls[0]["k"] == 10


def test_documents_lists_every_document_with_metadata(client: TestClient) -> None:
    documents = client.get("/v1/documents").json()["documents"]
    assert [d["doc_id"] for d in documents] == ["en", "zh-hans", "zh-hant"]
    en = documents[0]
    assert en["title"] == "Fixture Report (English)"
    assert (en["company"], en["year"], en["doc_type"], en["script"]) == (
        "Fixture Co.", 2023, "annual-report", "en")
    assert en["chars"] > 1000 and en["lines"] > 10


def test_a_document_without_a_span_is_its_metadata(client: TestClient) -> None:
    body = client.get("/v1/documents/zh-hant").json()
    assert body["title"] == "測試年報（繁體）"
    assert body["span"] is None


def test_a_document_span_is_the_original_text_with_its_lines(client: TestClient,
                                                             backend: FakeBackend) -> None:
    text = backend.docs["en"].text
    start = text.index("AI Infrastructure")
    span = client.get(f"/v1/documents/en?start={start}&end={start + 17}").json()["span"]
    assert span == {"start": start, "end": start + 17, "line_start": 3, "line_end": 3,
                    "text": "AI Infrastructure"}
    whole = client.get(f"/v1/documents/en?start=0&end={min(len(text), 500)}").json()["span"]
    assert whole["text"] == text[:500]


def test_the_engine_loads_once_in_the_lifespan(settings: Settings,
                                               backend: FakeBackend) -> None:
    loads: list[Settings] = []

    def loader(s: Settings) -> Backend:
        loads.append(s)
        return backend

    app = create_app(settings, loader=loader)
    assert loads == []  # nothing heavy at construction
    with api_client(app) as client:
        for _ in range(3):
            assert client.post("/v1/ask", json={"question": "AI?"}).status_code == 200
        assert client.get("/readyz").status_code == 200
    assert loads == [settings]


@pytest.mark.parametrize("error", [
    IndexMissingError("no index in /tmp/data: build one with `wenda index` first"),
    IndexMismatchError("refusing the index x: it was built with model 'a'"),
])
def test_without_a_usable_index_the_app_starts_but_is_not_ready(
        settings: Settings, error: Exception) -> None:
    def loader(s: Settings) -> Backend:
        raise error

    with api_client(create_app(settings, loader=loader)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"error": {"code": "index_not_loaded", "message": str(error)}}
        for method, path, body in [
                ("POST", "/v1/ask", {"question": "AI?"}), ("POST", "/v1/search", {"query": "AI"}),
                ("GET", "/v1/search?q=AI", None), ("GET", "/v1/documents", None),
                ("GET", "/v1/documents/en", None),
                ("POST", "/v1/chat/completions",
                 {"model": "wenda", "messages": [{"role": "user", "content": "AI?"}]})]:
            response = client.request(method, path, json=body)
            assert response.status_code == 503, path
            assert response.json()["error"] == {"code": "index_not_loaded",
                                                "message": str(error)}


def test_an_unexpected_error_is_a_logged_500_without_details(
        client: TestClient, backend: FakeBackend, caplog: pytest.LogCaptureFixture) -> None:
    backend.fail_with = RuntimeError("secret detail at /srv/wenda/answer.py")
    with caplog.at_level(logging.ERROR, logger="wenda.api"):
        response = client.post("/v1/ask", json={"question": "AI?"})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal error"}}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert any("POST /v1/ask" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_body_over_the_size_limit_is_413(client: TestClient) -> None:
    declared = client.post("/v1/ask", json={"question": "x" * 5000})
    streamed = client.post("/v1/ask", headers={"Content-Type": "application/json"},
                           content=iter([b'{"question": "', b"x" * 5000, b'"}']))
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"


def test_cors_is_off_by_default_and_allows_configured_portals(
        settings: Settings, backend: FakeBackend) -> None:
    origin = {"Origin": "https://portal.example"}
    with api_client(create_app(settings, engine=backend)) as client:
        assert "access-control-allow-origin" not in client.get("/v1/documents",
                                                               headers=origin).headers
    portal = settings.model_copy(update={"cors_origins": "https://portal.example"})
    with api_client(create_app(portal, engine=backend)) as client:
        response = client.get("/v1/documents", headers=origin)
        assert response.headers["access-control-allow-origin"] == "https://portal.example"


def test_the_ask_page_and_widget_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/app.js">' in page.text
    script = client.get("/app.js")
    assert script.status_code == 200 and "/v1/documents" in script.text
    widget = client.get("/widget.js")
    assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]
    assert "/v1/ask" in widget.text or "v1/ask" in widget.text


@pytest.mark.parametrize("name", ["index.html", "app.js", "widget.js"])
def test_the_page_never_parses_text_as_html_nor_loads_outside_code(name: str) -> None:
    source = (STATIC / name).read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", source)  # no CDN


def test_openapi_docs_describe_the_api(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/ask", "/v1/search", "/v1/documents", "/v1/documents/{doc_id}",
                 "/v1/chat/completions", "/v1/models", "/healthz", "/readyz"):
        assert path in paths


def test_the_api_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert "/docs-assets/swagger-ui-bundle.js" in page.text and "cdn" not in page.text.lower()
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert client.get("/docs-assets/..%2Fconfig.py").status_code == 404
    assert client.get("/docs-assets/index.html").status_code == 404  # only the files it needs
