"""Optional generation against a stand-in OpenAI-compatible server: [n] markers map to the
citations, any failure leaves the extractive answer standing, and the engine, /v1/ask and
`wenda ask` use the server that the settings name."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import tiny_engine
from fakes import FakeEmbedder, api_client
from typer.testing import CliRunner

from service import cli
from service.access import Filters
from service.api.backend import EngineBackend
from service.app import create_app
from service.cite import Citation
from service.config import Settings
from service.engine import Engine
from service.llm import GenerationError, LlmClient, generate, make_client, renumber

if TYPE_CHECKING:
    from conftest import StandIn

REVENUE = "2023年的收入是多少人民幣千元？"


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


# ---- through the engine's answer ----------------------------------------------------------

def with_generator(engine: Engine, client: LlmClient | None) -> Engine:
    return replace(engine, generator=client)


def test_a_generated_answer_cites_what_it_was_given(tiny: Engine, stand_in: StandIn) -> None:
    client = LlmClient(stand_in.url, "m", timeout=5)
    answer = with_generator(tiny, client).ask(REVENUE)
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


def test_a_generated_figure_no_citation_holds_is_not_served(tiny: Engine,
                                                           stand_in: StandIn) -> None:
    stand_in.reply = "收入為人民幣9,999,999千元[1]。"
    answer = with_generator(tiny, LlmClient(stand_in.url, "m")).ask(REVENUE)
    assert answer.mode == "extractive" and "9,999,999" not in answer.answer
    assert "3,405,842" in answer.answer


def test_without_a_server_the_extractive_answer_stands(tiny: Engine, closed_port: str) -> None:
    extractive = tiny.ask(REVENUE)
    fallback = with_generator(tiny, LlmClient(closed_port, "m", timeout=2)).ask(REVENUE)
    assert fallback.mode == "extractive" and extractive.mode == "extractive"
    assert (fallback.answer, fallback.citations) == (extractive.answer, extractive.citations)


def test_a_reply_without_markers_falls_back_to_the_extractive_answer(
        tiny: Engine, stand_in: StandIn) -> None:
    stand_in.reply = "The revenue was large."
    answer = with_generator(tiny, LlmClient(stand_in.url, "m")).ask(REVENUE)
    assert answer.mode == "extractive" and "3,405,842" in answer.answer


def test_the_model_is_not_asked_when_the_documents_do_not_say(tiny: Engine,
                                                               stand_in: StandIn) -> None:
    answer = with_generator(tiny, LlmClient(stand_in.url, "m")).ask("曠視科技的市值是多少？")
    assert not answer.answerable and answer.mode == "extractive"
    assert stand_in.requests == []


# ---- through the engine, /v1/ask and `wenda ask` ------------------------------------------

def llm_settings(data_dir: Path, base_url: str | None) -> Settings:
    return Settings(data_dir=data_dir, glossary=data_dir / "no-glossary.toml",
                    llm_base_url=base_url, llm_model="stand-in", llm_timeout=5)


def cited_numbers(answer: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", answer)}


def test_an_engine_with_a_server_configured_answers_ask_in_generated_mode(
        tiny_data: Path, stand_in: StandIn) -> None:
    settings = llm_settings(tiny_data, stand_in.url)
    engine = Engine.start(settings, FakeEmbedder())  # type: ignore[arg-type]
    assert engine.generator == LlmClient(stand_in.url, "stand-in", 5.0)
    engine = replace(tiny_engine(tiny_data, settings), generator=engine.generator)
    with api_client(create_app(settings, engine=engine)) as client:
        body = client.post("/v1/ask", json={"question": REVENUE}).json()
    assert (body["mode"], body["answer_type"], body["answerable"]) == ("generated", "amount",
                                                                        True)
    assert body["answer"].startswith("收入為人民幣3,405,842千元[1]")
    assert cited_numbers(body["answer"]) == {c["n"] for c in body["citations"]}
    documents = engine.index.store.documents
    for c in body["citations"]:
        assert c["quote"] == documents[c["doc_id"]].text[c["char_start"]:c["char_end"]]
    assert stand_in.requests[0]["body"]["model"] == "stand-in"


def test_an_engine_whose_server_is_down_answers_extractively(tiny_data: Path,
                                                             closed_port: str) -> None:
    engine = Engine.start(llm_settings(tiny_data, closed_port), FakeEmbedder())  # type: ignore[arg-type]
    engine = replace(tiny_engine(tiny_data), generator=engine.generator)
    answer = EngineBackend(engine).answer(REVENUE, 5, Filters(), "auto", [])
    assert answer.mode == "extractive" and answer.answerable and "3,405,842" in answer.answer


def test_answers_are_extractive_unless_a_server_is_configured(tiny_data: Path) -> None:
    settings = Settings(data_dir=tiny_data, glossary=tiny_data / "no-glossary.toml")
    engine = Engine.start(settings, FakeEmbedder())  # type: ignore[arg-type]
    assert engine.generator is None
    assert EngineBackend(engine).answer(REVENUE, 5, Filters(), "auto", []).mode == "extractive"


def test_a_bad_server_url_stops_the_engine_at_start(tiny_data: Path) -> None:
    with pytest.raises(ValueError, match="must start with http"):
        Engine.start(llm_settings(tiny_data, "127.0.0.1:8080/v1"), FakeEmbedder())  # type: ignore[arg-type]


def test_wenda_ask_uses_the_configured_server(tiny_data: Path, stand_in: StandIn,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "get_settings", lambda: llm_settings(tiny_data, stand_in.url))
    monkeypatch.setattr("service.engine.make_embedder", lambda settings: FakeEmbedder())
    result = CliRunner().invoke(cli.app, ["ask", REVENUE, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["mode"], body["answerable"]) == ("generated", True)
    assert cited_numbers(body["answer"]) == {c["n"] for c in body["citations"]}
