"""The OpenAI-compatible chat endpoint and model list, with a fake backend."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.api.chat import reply_text
from service.schemas import AskResponse, CitationInfo

if TYPE_CHECKING:
    from conftest import FakeBackend

CHAT = "/v1/chat/completions"


def chat(question: str = "What is SenseCore?", **extra: Any) -> dict[str, Any]:
    return {"model": "wenda", "messages": [{"role": "user", "content": question}], **extra}


def events(response: Any) -> list[str]:
    """The `data:` payloads of a server-sent event stream, in order."""
    blocks = response.text.split("\n\n")
    assert blocks[-1] == ""
    assert all(b.startswith("data: ") for b in blocks[:-1])
    return [b.removeprefix("data: ") for b in blocks[:-1]]


def test_a_completion_has_openais_shape_and_our_citations(client: TestClient) -> None:
    body = client.post(CHAT, json=chat()).json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-") and isinstance(body["created"], int)
    assert body["model"] == "wenda"
    [choice] = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert body["citations"][0]["doc_id"] == "en"
    assert body["citations"][0]["quote"]


def test_the_reply_carries_markers_and_a_sources_list(client: TestClient) -> None:
    content = client.post(CHAT, json=chat()).json()["choices"][0]["message"]["content"]
    head, sources = content.split("\n\nSources:\n")
    answer, quotes = head.split("\n\n")
    assert answer.endswith("[1]")
    assert quotes.startswith("[1] ") and len(quotes) > 4  # the evidence, as people read it
    assert sources == "[1] Fixture Report (English), Business > Part 1, line 1"


@pytest.mark.parametrize("model", ["wenda", "gpt-4o", "anything-at-all"])
def test_any_model_name_is_accepted_and_echoed(client: TestClient, model: str) -> None:
    body = client.post(CHAT, json={**chat(), "model": model}).json()
    assert body["model"] == model


def test_earlier_user_turns_are_history_and_the_last_is_the_question(
        client: TestClient, backend: FakeBackend) -> None:
    client.post(CHAT, json={"model": "wenda", "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Tell me about SenseTime."},
        {"role": "assistant", "content": "SenseTime is an AI company."},
        {"role": "user", "content": [{"type": "text", "text": "And its revenue"},
                                     {"type": "text", "text": "in 2023?"}]}]})
    call = backend.calls[-1]
    assert call["question"] == "And its revenue\nin 2023?"
    assert call["history"] == ["Tell me about SenseTime."]


def test_wenda_options_pass_through_extra_body(client: TestClient,
                                               backend: FakeBackend) -> None:
    client.post(CHAT, json=chat(top_k=3, reply_script="zh-Hant",
                                filters={"doc_ids": ["zh-hans"]}, temperature=0.2))
    call = backend.calls[-1]
    assert (call["top_k"], call["reply_script"]) == (3, "zh-Hant")
    assert call["filters"].doc_ids == {"zh-hans"}


def test_an_abstention_has_no_sources(client: TestClient, backend: FakeBackend) -> None:
    backend.answerable = False
    body = client.post(CHAT, json=chat("Who won the 1998 World Cup?")).json()
    assert body["choices"][0]["message"]["content"] == "The documents do not say."
    assert body["citations"] == []


def test_a_stream_is_chunks_then_done_and_spells_the_same_reply(client: TestClient) -> None:
    whole = client.post(CHAT, json=chat()).json()
    response = client.post(CHAT, json=chat(stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    payloads = events(response)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == whole["choices"][0]["message"]["content"]
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["citations"] == whole["citations"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_a_stream_reports_usage_when_asked(client: TestClient) -> None:
    payloads = events(client.post(CHAT, json=chat(stream=True,
                                                   stream_options={"include_usage": True})))
    tail = json.loads(payloads[-2])
    assert tail["choices"] == [] and tail["usage"]["total_tokens"] > 0


def test_a_stream_request_that_fails_is_a_plain_json_error(client: TestClient) -> None:
    response = client.post(CHAT, json=chat("", stream=True))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "empty_question"


def test_models_lists_wenda_in_openais_format(client: TestClient) -> None:
    assert client.get("/v1/models").json() == {
        "object": "list", "data": [{"id": "wenda", "object": "model", "created": 0,
                                    "owned_by": "wenda"}]}
    assert client.get("/v1/models/wenda").json()["id"] == "wenda"


def _result(answer: str, citations: list[CitationInfo]) -> AskResponse:
    return AskResponse(answer=answer, answerable=True, reply_script="original", confidence=1,
                       citations=citations, passages=[], timings_ms={})


def _citation(n: int, page: int | None = None, lines: tuple[int, int] = (3, 5)) -> CitationInfo:
    return CitationInfo(n=n, doc_id="d", title="年報", section="業務 > 收入", page=page,
                        line_start=lines[0], line_end=lines[1], char_start=0, char_end=1,
                        quote="q")


@pytest.mark.parametrize(("answer", "expected_first_line"), [
    ("收入為3,405,842千元。", "收入為3,405,842千元。 [1][2]"),  # markers added when missing
    ("收入為3,405,842千元[1]，毛利率44.1%[2]。", "收入為3,405,842千元[1]，毛利率44.1%[2]。"),
])
def test_reply_text_numbers_sources_once(answer: str, expected_first_line: str) -> None:
    text = reply_text(_result(answer, [_citation(1), _citation(2, page=7, lines=(9, 9))]))
    assert text.split("\n") == [expected_first_line, "", "[1] q", "[2] q", "", "Sources:",
                                "[1] 年報, 業務 > 收入, lines 3-5",
                                "[2] 年報, 業務 > 收入, p. 7, line 9"]
