"""Optional generation against a stand-in OpenAI-compatible server: [n] markers map to the
citations, and any failure leaves the extractive answer standing."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEmbedder

from index.build import build_index
from index.corpus import discover
from index.lexicon import Lexicon
from index.reader import open_index
from service.answer import answer_question
from service.cite import Citation
from service.llm import GenerationError, LlmClient, generate, make_client, renumber
from service.retrieve import Retriever

REVENUE = "2023年的收入是多少人民幣千元？"


@dataclass
class StandIn:
    """What the stand-in server answers, and the requests it saw."""

    url: str = ""
    reply: str = "收入為人民幣3,405,842千元[1]。"
    status: int = 200
    raw: bytes | None = None  # sent instead of a chat completion when set
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps({
            "id": "chatcmpl-stand-in", "object": "chat.completion", "created": 0,
            "model": "stand-in", "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": self.reply}}]}).encode()


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    """A tiny chat-completions server on a free 127.0.0.1 port, in a thread."""
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.requests.append({"path": self.path, "headers": dict(self.headers),
                                   "body": json.loads(self.rfile.read(length))})
            time.sleep(state.delay)
            body = state.body()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> str:
    """The base URL of a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def citation(n: int, start: int, quote: str) -> Citation:
    return Citation(n=n, doc_id="doc", title="t", section="s", page=None, line_start=n,
                    line_end=n, char_start=start, char_end=start + len(quote), quote=quote)


HEADER = citation(1, 0, "2023年 2022年")
ROW = citation(2, 20, "收入 3,405,842 3,808,510")
SENTENCE = citation(1, 60, "毛利為1,500,787千元。")


# ---- the client ---------------------------------------------------------------------------

def test_the_client_posts_a_chat_completion_and_returns_its_text(stand_in: StandIn) -> None:
    client = LlmClient(stand_in.url + "/", "stand-in-model", timeout=5, api_key="k-123")
    assert client.complete([{"role": "user", "content": "hi"}]) == stand_in.reply
    request = stand_in.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "stand-in-model"
    assert request["body"]["messages"] == [{"role": "user", "content": "hi"}]
    assert request["headers"]["Authorization"] == "Bearer k-123"


@pytest.mark.parametrize(("status", "raw", "message"), [
    (500, b'{"error": "boom"}', "500"),
    (200, b"<html>not json</html>", "not an OpenAI chat completion"),
    (200, b'{"choices": []}', "not an OpenAI chat completion"),
    (200, b'{"choices": [{"message": {"content": "  "}}]}', "no text"),
])
def test_a_bad_reply_is_a_generation_error_that_says_why(stand_in: StandIn, status: int,
                                                         raw: bytes, message: str) -> None:
    stand_in.status, stand_in.raw = status, raw
    with pytest.raises(GenerationError, match=message):
        LlmClient(stand_in.url, "m", timeout=5).complete([])


def test_a_slow_server_times_out(stand_in: StandIn) -> None:
    stand_in.delay = 1.0
    with pytest.raises(GenerationError, match="no reply within 0.2 s"):
        LlmClient(stand_in.url, "m", timeout=0.2).complete([])


def test_a_server_that_is_down_is_a_generation_error(closed_port: str) -> None:
    with pytest.raises(GenerationError, match="127.0.0.1"):
        LlmClient(closed_port, "m", timeout=2).complete([])


def test_a_client_is_made_only_when_a_base_url_is_configured() -> None:
    assert make_client(None, "m") is None and make_client("", "m") is None
    assert make_client("http://127.0.0.1:9/v1", "m", 3.0) == LlmClient(
        "http://127.0.0.1:9/v1", "m", 3.0)
    with pytest.raises(ValueError, match="WENDA_LLM_MODEL"):
        make_client("http://127.0.0.1:9/v1", "")
    with pytest.raises(ValueError, match="http"):
        LlmClient("127.0.0.1:9", "m")
    with pytest.raises(ValueError, match="timeout"):
        LlmClient("http://127.0.0.1:9", "m", timeout=0)


# ---- markers and citations --------------------------------------------------------------

def test_markers_map_to_the_citations_of_their_source(stand_in: StandIn) -> None:
    stand_in.reply = "毛利為1,500,787千元[2]，收入為3,405,842千元[1]。"
    client = LlmClient(stand_in.url, "m", timeout=5)
    text, cited = generate(client, "收入和毛利是多少？", [[HEADER, ROW], [SENTENCE]], "zh-Hant")
    # Source 2 is mentioned first, so its sentence becomes [1]; source 1 (header, row): [2][3].
    assert text == "毛利為1,500,787千元[1]，收入為3,405,842千元[2][3]。"
    assert [(c.n, c.quote) for c in cited] == [(1, SENTENCE.quote), (2, HEADER.quote),
                                               (3, ROW.quote)]
    prompt = stand_in.requests[0]["body"]["messages"]
    assert "Traditional Chinese" in prompt[0]["content"]
    assert "[1] 2023年 2022年\n收入 3,405,842 3,808,510" in prompt[1]["content"]
    assert "[2] 毛利為1,500,787千元。" in prompt[1]["content"]


def test_sources_the_reply_does_not_cite_are_dropped() -> None:
    text, cited = renumber("見[2]。", [[HEADER, ROW], [SENTENCE]])
    assert text == "見[1]。" and cited == [SENTENCE]


@pytest.mark.parametrize(("reply", "message"), [
    ("收入為3,405,842千元。", "cites no source"),
    ("收入為3,405,842千元[3]。", "outside 1-2"),
    ("NOT FOUND", "no answer"),
])
def test_a_reply_that_cites_nothing_given_is_refused(stand_in: StandIn, reply: str,
                                                      message: str) -> None:
    stand_in.reply = reply
    with pytest.raises(GenerationError, match=message):
        generate(LlmClient(stand_in.url, "m"), "?", [[HEADER, ROW], [SENTENCE]], "zh-Hant")


# ---- through answer_question ---------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Retriever:
    """A retriever over tests/data with hash vectors: keyword matching does the work."""
    data = tmp_path_factory.mktemp("tiny")
    build_index(discover([fixtures_dir]), data, FakeEmbedder())  # type: ignore[arg-type]
    return Retriever(open_index(data, FakeEmbedder.model_id), FakeEmbedder(),  # type: ignore[arg-type]
                     Lexicon.from_lines(["收入 收入 [shou1 ru4] /income/revenue/"], {}))


def test_a_generated_answer_cites_what_it_was_given(tiny: Retriever, stand_in: StandIn) -> None:
    client = LlmClient(stand_in.url, "m", timeout=5)
    answer = answer_question(tiny, REVENUE, generator=client)
    assert answer.mode == "generated" and answer.answerable
    assert answer.answer.startswith("收入為人民幣3,405,842千元[1]")
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert numbers == {c.n for c in answer.citations}
    documents = tiny.index.store.documents
    for c in answer.citations:
        assert c.quote == documents[c.doc_id].text[c.char_start:c.char_end]
    assert any("3,405,842" in c.quote for c in answer.citations)
    assert "3,405,842" in stand_in.requests[0]["body"]["messages"][1]["content"]
    assert "generate" in answer.timings_ms


def test_without_a_server_the_extractive_answer_stands(tiny: Retriever,
                                                       closed_port: str) -> None:
    extractive = answer_question(tiny, REVENUE)
    fallback = answer_question(tiny, REVENUE, generator=LlmClient(closed_port, "m", timeout=2))
    assert fallback.mode == "extractive" and extractive.mode == "extractive"
    assert (fallback.answer, fallback.citations) == (extractive.answer, extractive.citations)


def test_a_reply_without_markers_falls_back_to_the_quotes(tiny: Retriever,
                                                           stand_in: StandIn) -> None:
    stand_in.reply = "The revenue was large."
    answer = answer_question(tiny, REVENUE, generator=LlmClient(stand_in.url, "m"))
    assert answer.mode == "extractive" and "3,405,842" in answer.answer


def test_the_model_is_not_asked_when_the_documents_do_not_say(tiny: Retriever,
                                                               stand_in: StandIn) -> None:
    answer = answer_question(tiny, "曠視科技的市值是多少？", generator=LlmClient(stand_in.url, "m"))
    assert not answer.answerable and answer.mode == "extractive"
    assert stand_in.requests == []
