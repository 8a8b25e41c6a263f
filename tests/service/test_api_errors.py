"""Every failure the API reports, in its one shape: {"error": {"code", "message"}}."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

ASK = "/v1/ask"
CHAT = "/v1/chat/completions"
LONG = "問" * 201  # the test settings allow 200 characters


def user(content: Any) -> dict[str, Any]:
    return {"model": "wenda", "messages": [{"role": "user", "content": content}]}


# (method, path, JSON body or None, status, code, words the message must contain)
CASES: list[tuple[str, str, Any, int, str, str]] = [
    # the question
    ("POST", ASK, {"question": ""}, 422, "empty_question", "question is empty"),
    ("POST", ASK, {"question": " \n\t　"}, 422, "empty_question", "question is empty"),
    ("POST", ASK, {"question": LONG}, 422, "question_too_long", "the limit is 200"),
    ("POST", ASK, {}, 422, "invalid_request", "question: Field required"),
    ("POST", ASK, {"question": 42}, 422, "invalid_request", "question: Input should be"),
    ("POST", ASK, {"question": None}, 422, "invalid_request", "question"),
    # top_k, reply_script, unknown fields
    ("POST", ASK, {"question": "AI?", "top_k": 0}, 422, "invalid_request", "top_k"),
    ("POST", ASK, {"question": "AI?", "top_k": -3}, 422, "invalid_request", "top_k"),
    ("POST", ASK, {"question": "AI?", "top_k": 21}, 422, "invalid_request",
     "top_k: must be between 1 and 20, got 21"),
    ("POST", ASK, {"question": "AI?", "top_k": "many"}, 422, "invalid_request", "top_k"),
    ("POST", ASK, {"question": "AI?", "reply_script": "latin"}, 422, "invalid_request",
     "reply_script"),
    ("POST", ASK, {"question": "AI?", "reply_script": "zh-hant"}, 422, "invalid_request",
     "reply_script"),
    ("POST", ASK, {"question": "AI?", "topk": 3}, 422, "invalid_request", "topk: unknown field"),
    # filters
    ("POST", ASK, {"question": "AI?", "filters": {"scripts": ["klingon"]}}, 422,
     "invalid_request", "filters.scripts.0"),
    ("POST", ASK, {"question": "AI?", "filters": {"years": ["last year"]}}, 422,
     "invalid_request", "filters.years.0"),
    ("POST", ASK, {"question": "AI?", "filters": {"doc_id": ["en"]}}, 422,
     "invalid_request", "filters.doc_id: unknown field"),
    ("POST", ASK, {"question": "AI?", "filters": {"doc_ids": ["nope"]}}, 404,
     "unknown_document", "'nope'"),
    ("POST", ASK, {"question": "AI?", "filters": "en"}, 422, "invalid_request", "filters"),
    # the body itself
    ("POST", ASK, ["AI?"], 422, "invalid_request", "body"),
    ("POST", ASK, "AI?", 422, "invalid_request", "body"),
    # search
    ("POST", "/v1/search", {"query": "  "}, 422, "empty_question", "query is empty"),
    ("POST", "/v1/search", {"query": LONG}, 422, "question_too_long", "200"),
    ("POST", "/v1/search", {"query": "AI", "top_k": 0}, 422, "invalid_request", "top_k"),
    ("POST", "/v1/search", {"query": "AI", "top_k": 99}, 422, "invalid_request", "top_k"),
    ("POST", "/v1/search", {"query": "AI", "method": "magic"}, 422, "invalid_request",
     "method"),
    ("POST", "/v1/search", {"q": "AI"}, 422, "invalid_request", "query: Field required"),
    ("GET", "/v1/search", None, 422, "invalid_request", "q: Field required"),
    ("GET", "/v1/search?q=", None, 422, "empty_question", "query is empty"),
    ("GET", f"/v1/search?q={LONG}", None, 422, "question_too_long", "200"),
    ("GET", "/v1/search?q=AI&k=0", None, 422, "invalid_request", "k:"),
    ("GET", "/v1/search?q=AI&k=21", None, 422, "invalid_request",
     "k: must be between 1 and 20, got 21"),
    ("GET", "/v1/search?q=AI&k=ten", None, 422, "invalid_request", "k:"),
    ("GET", "/v1/search?q=AI&script=latin", None, 422, "invalid_request", "script"),
    ("GET", "/v1/search?q=AI&doc_id=nope", None, 404, "unknown_document", "'nope'"),
    # documents and spans
    ("GET", "/v1/documents/nope", None, 404, "unknown_document", "no document 'nope'"),
    ("GET", "/v1/documents/en?start=5", None, 422, "invalid_request", "give both"),
    ("GET", "/v1/documents/en?end=5", None, 422, "invalid_request", "give both"),
    ("GET", "/v1/documents/en?start=-1&end=5", None, 422, "invalid_request",
     "start: Input should be greater than or equal to 0"),
    ("GET", "/v1/documents/en?start=5&end=5", None, 422, "invalid_request", "start < end"),
    ("GET", "/v1/documents/en?start=9&end=5", None, 422, "invalid_request", "start < end"),
    ("GET", "/v1/documents/en?start=0&end=99999", None, 422, "invalid_request", "length"),
    ("GET", "/v1/documents/en?start=0&end=501", None, 422, "invalid_request",
     "at most 500 characters"),
    ("GET", "/v1/documents/en?start=a&end=5", None, 422, "invalid_request", "start:"),
    # chat completions
    ("POST", CHAT, {"model": "wenda", "messages": []}, 422, "invalid_request", "messages"),
    ("POST", CHAT, {"model": "wenda"}, 422, "invalid_request", "messages: Field required"),
    ("POST", CHAT, user(""), 422, "empty_question", "question is empty"),
    ("POST", CHAT, user("   "), 422, "empty_question", "question is empty"),
    ("POST", CHAT, user(None), 422, "empty_question", "question is empty"),
    ("POST", CHAT, user([]), 422, "empty_question", "question is empty"),
    ("POST", CHAT, user(LONG), 422, "question_too_long", "200"),
    ("POST", CHAT, user([{"type": "image_url", "image_url": {"url": "x"}}]), 422,
     "invalid_request", "only text parts"),
    ("POST", CHAT, user(123), 422, "invalid_request", "messages.0.content"),
    ("POST", CHAT, {"model": "wenda", "messages": [{"role": "user", "content": "AI?"},
                                                   {"role": "assistant", "content": "Yes."}]},
     422, "invalid_request", "last message must be the user's question"),
    ("POST", CHAT, {"model": "wenda", "messages": [{"role": "wizard", "content": "AI?"}]},
     422, "invalid_request", "messages.0.role"),
    ("POST", CHAT, {"model": "wenda", "messages": [{"content": "AI?"}]}, 422,
     "invalid_request", "messages.0.role: Field required"),
    ("POST", CHAT, {**user("AI?"), "top_k": 0}, 422, "invalid_request", "top_k"),
    ("POST", CHAT, {**user("AI?"), "top_k": 21}, 422, "invalid_request", "top_k"),
    ("POST", CHAT, {**user("AI?"), "reply_script": "latin"}, 422, "invalid_request",
     "reply_script"),
    ("GET", "/v1/models/gpt-4", None, 404, "unknown_model", "'gpt-4'"),
    # routes and methods
    ("GET", "/nope", None, 404, "not_found", "GET /nope"),
    ("GET", "/v1/nope", None, 404, "not_found", "GET /v1/nope"),
    ("POST", "/v1/ask/extra", {"question": "AI?"}, 404, "not_found", "/v1/ask/extra"),
    ("GET", ASK, None, 405, "method_not_allowed", "GET"),
    ("DELETE", "/v1/documents", None, 405, "method_not_allowed", "DELETE"),
    ("PUT", CHAT, user("AI?"), 405, "method_not_allowed", "PUT"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "words"), CASES,
                         ids=[f"{c[0]} {c[1][:40]} {c[4]}" for c in CASES])
def test_each_bad_request_gets_its_status_code_and_a_message_naming_the_problem(
        client: TestClient, method: str, path: str, body: Any, status: int, code: str,
        words: str) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.json() == {"error": {"code": code, "message": response.json()["error"][
        "message"]}}
    assert words in response.json()["error"]["message"]


def test_405_names_the_allowed_methods(client: TestClient) -> None:
    assert client.get(ASK).headers["allow"] == "POST"
    # /v1/search has a GET route and a POST route: both are named, whichever matched first
    search = client.request("OPTIONS", "/v1/search")
    assert search.status_code == 405
    assert search.headers["allow"] == "GET, HEAD, POST"
    assert "use GET or HEAD or POST" in search.json()["error"]["message"]


@pytest.mark.parametrize("raw", [b"{bad json", b'{"question": "AI?",}', b"\xff\xfe", b"{"])
@pytest.mark.parametrize("path", [ASK, "/v1/search", CHAT])
def test_malformed_json_is_400_malformed_json(client: TestClient, raw: bytes,
                                              path: str) -> None:
    response = client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert response.json()["error"]["message"].startswith("the request body is not valid JSON")


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/json"}])
def test_a_missing_body_is_invalid_request(client: TestClient,
                                           headers: dict[str, str]) -> None:
    response = client.post(ASK, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_request", "message": "the request body is required (a JSON object)"}


def test_a_body_that_is_not_json_is_invalid_request(client: TestClient) -> None:
    response = client.post(ASK, content=b"question=AI", headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
