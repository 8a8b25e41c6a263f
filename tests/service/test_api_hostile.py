"""Hostile input gets a clear 4xx in the one error shape, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

ASK, SEARCH, CHAT, EVAL = "/v1/ask", "/v1/search", "/v1/chat/completions", "/v1/eval"
SURROGATE = '"\\ud800"'  # a lone surrogate, as JSON writes it
DEEP = 1500


def chat(messages: str, extra: str = "") -> str:
    return '{"model": "wenda", "messages": ' + messages + extra + "}"


# (name, method, path, raw JSON body or None, status, code)
CASES: list[tuple[str, str, str, str | None, int, str]] = [
    ("surrogate in question", "POST", ASK, '{"question": ' + SURROGATE + "}", 422,
     "invalid_request"),
    ("surrogate inside a question", "POST", ASK, '{"question": "收入\\udc00是多少"}', 422,
     "invalid_request"),
    ("surrogate in query", "POST", SEARCH, '{"query": ' + SURROGATE + "}", 422,
     "invalid_request"),
    ("surrogate in a filter", "POST", ASK,
     '{"question": "AI?", "filters": {"companies": [' + SURROGATE + "]}}", 422,
     "invalid_request"),
    ("surrogate in a chat message", "POST", CHAT,
     chat('[{"role": "user", "content": ' + SURROGATE + "}]"), 422, "invalid_request"),
    ("surrogate in a text part", "POST", CHAT,
     chat('[{"role": "user", "content": [{"type": "text", "text": ' + SURROGATE + "}]}]"),
     422, "invalid_request"),
    ("surrogate in history", "POST", CHAT,
     chat('[{"role": "user", "content": ' + SURROGATE + '}, {"role": "assistant", '
          '"content": "x"}, {"role": "user", "content": "AI?"}]'), 422, "invalid_request"),
    ("surrogate in model", "POST", CHAT,
     '{"model": ' + SURROGATE + ', "messages": [{"role": "user", "content": "AI?"}]}', 422,
     "invalid_request"),
    ("zero-width only", "POST", ASK, '{"question": "\\u200b\\ufeff"}', 422, "empty_question"),
    ("direction marks only", "POST", ASK, '{"question": "\\u200e\\u2066 \\u3000"}', 422,
     "empty_question"),
    ("NUL only", "POST", ASK, '{"question": "\\u0000"}', 422, "invalid_request"),
    ("NUL inside", "POST", ASK, '{"question": "AI\\u0000?"}', 422, "invalid_request"),
    ("escape character", "POST", SEARCH, '{"query": "\\u001b[31mAI"}', 422, "invalid_request"),
    ("zero-width chat question", "POST", CHAT,
     chat('[{"role": "user", "content": "\\u200b"}]'), 422, "empty_question"),
    ("top_k as a string", "POST", ASK, '{"question": "AI?", "top_k": "5"}', 422,
     "invalid_request"),
    ("top_k as true", "POST", ASK, '{"question": "AI?", "top_k": true}', 422,
     "invalid_request"),
    ("top_k as a float", "POST", SEARCH, '{"query": "AI", "top_k": 5.5}', 422,
     "invalid_request"),
    ("chat top_k as a string", "POST", CHAT,
     chat('[{"role": "user", "content": "AI?"}]', ', "top_k": "3"'), 422, "invalid_request"),
    ("stream as a string", "POST", CHAT,
     chat('[{"role": "user", "content": "AI?"}]', ', "stream": "yes"'), 422,
     "invalid_request"),
    ("year as a string", "POST", ASK, '{"question": "AI?", "filters": {"years": ["2023"]}}',
     422, "invalid_request"),
    # JSON nested deeper than any request needs is refused as unreadable
    ("nested question", "POST", ASK, '{"question": ' + "[" * DEEP + "]" * DEEP + "}", 400,
     "malformed_json"),
    ("nested body", "POST", ASK, "[" * DEEP + "]" * DEEP, 400, "malformed_json"),
    ("nested chat content", "POST", CHAT,
     chat('[{"role": "user", "content": ' + "[" * DEEP + "]" * DEEP + "}]"), 400,
     "malformed_json"),
    ("nested inline eval question", "POST", EVAL,
     '{"questions": [' + "[" * DEEP + "]" * DEEP + "]}", 400, "malformed_json"),
]


@pytest.mark.parametrize(("method", "path", "raw", "status", "code"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_json_gets_a_clear_4xx(client: TestClient, method: str, path: str,
                                       raw: str, status: int, code: str) -> None:
    response = client.request(method, path, content=raw.encode(),
                              headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), \
        response.text
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/v1/search?q=%00", 422, "invalid_request"),
    ("/v1/search?q=%E2%80%8B%EF%BB%BF", 422, "empty_question"),  # zero width, BOM
    ("/v1/search?q=AI%1B", 422, "invalid_request"),
    ("/v1/search?q=%ED%A0%80", 200, ""),  # not UTF-8: decoded as U+FFFD, a visible character
    ("/v1/search?q=AI&k=true", 422, "invalid_request"),
    ("/v1/search?q=AI&company=%00", 422, "invalid_request"),
    ("/v1/documents/%00", 404, "unknown_document"),
])
def test_hostile_query_strings_get_a_clear_answer(client: TestClient, path: str, status: int,
                                                  code: str) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"]["code"] == code


def test_an_eval_upload_nested_1500_deep_is_422_naming_the_line(client: TestClient) -> None:
    good = json.dumps({"id": "q1", "question": "收入？", "script": "zh-Hant",
                       "type": "unanswerable"})
    upload = f"{good}\n{'[' * DEEP}{']' * DEEP}\n"
    response = client.post(EVAL, files={"file": ("q.jsonl", upload.encode(), "text/plain")})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_questions"
    assert "upload line 2: nested too deeply" in response.json()["error"]["message"]


def test_every_string_the_schema_declares_carries_the_rule_the_server_applies(
        client: TestClient) -> None:
    schema: dict[str, Any] = client.get("/openapi.json").json()
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]
    assert ask["question"]["minLength"] == 1
    assert ask["question"]["maxLength"] == 200  # the test settings' WENDA_MAX_QUESTION_CHARS
    assert ask["top_k"]["maximum"] == 20  # WENDA_MAX_TOP_K
    assert "pattern" in ask["question"]
    get_search = {p["name"]: p["schema"] for p in
                  schema["paths"]["/v1/search"]["get"]["parameters"]}
    assert get_search["q"]["maxLength"] == 200 and get_search["k"]["maximum"] == 20
    assert "x-wenda" not in json.dumps(schema)
