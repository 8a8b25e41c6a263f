"""`wenda ask` and `wenda serve`: the same validation and JSON as the API, with a fake."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from index.reader import IndexMissingError
from service import cli
from service.config import Settings
from service.server import server_config

if TYPE_CHECKING:
    from conftest import FakeBackend

runner = CliRunner()


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch, settings: Settings,
          backend: FakeBackend) -> list[Settings]:
    """Route the CLI to the test settings and the fake backend; records each engine load."""
    calls: list[Settings] = []

    def load(s: Settings) -> FakeBackend:
        calls.append(s)
        return backend

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("service.api.backend.load_backend", load)
    return calls


def test_ask_json_is_exactly_the_api_body(loads: list[Settings], client: TestClient) -> None:
    result = runner.invoke(cli.app, ["ask", "What is SenseCore?", "--top-k", "3", "--json",
                                     "--reply-script", "zh-Hant"])
    assert result.exit_code == 0, result.output
    api = client.post("/v1/ask", json={"question": "What is SenseCore?", "top_k": 3,
                                       "reply_script": "zh-Hant"}).json()
    assert json.loads(result.stdout) == api
    assert len(loads) == 1


def test_ask_prints_the_answer_citations_and_quotes(loads: list[Settings]) -> None:
    result = runner.invoke(cli.app, ["ask", "SenseCore [bold]?"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "[1] Fixture Report (English), Business > Part 1, line 1" in out
    assert "Project Wing \\ Business \\ M05" in out  # the quote, markup-like text kept as is
    assert "passages searched" in out


def test_ask_shows_an_abstention(loads: list[Settings], backend: FakeBackend) -> None:
    backend.answerable = False
    result = runner.invoke(cli.app, ["ask", "Who won the 1998 World Cup?"])
    assert result.exit_code == 0
    assert "The documents do not say." in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["ask", ""], "question is empty"),
    (["ask", "   "], "question is empty"),
    (["ask", "問" * 201], "the limit is 200"),
    (["ask", "AI?", "--top-k", "21"], "top_k: must be between 1 and 20"),
    (["ask", "AI?", "--reply-script", "latin"], "reply_script: Input should be 'original'"),
])
def test_ask_rejects_bad_input_with_exit_2_before_loading_anything(
        loads: list[Settings], args: list[str], message: str) -> None:
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert loads == []


def test_ask_without_an_index_says_how_to_build_one(monkeypatch: pytest.MonkeyPatch,
                                                    settings: Settings) -> None:
    def missing(s: Settings) -> Any:
        raise IndexMissingError("no index in data: build one with `wenda index` first")

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("service.api.backend.load_backend", missing)
    result = runner.invoke(cli.app, ["ask", "AI?"])
    assert result.exit_code == 2
    assert "wenda index" in result.stderr


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("service.server.serve_forever", lambda app, settings, **options: (
        runs.append({"app": app, "host": settings.host, "port": settings.port,
                     "config": server_config(app, settings)})))
    return runs


def test_serve_listens_on_loopback_by_default(served: list[dict[str, Any]]) -> None:
    result = runner.invoke(cli.app, ["serve"])
    assert result.exit_code == 0, result.output
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.1", 8000)
    assert served[0]["app"].state.wenda.settings.data_dir.name == "data"


def test_serve_takes_host_port_and_data_dir(served: list[dict[str, Any]], tmp_path: Any
                                            ) -> None:
    result = runner.invoke(cli.app, ["serve", "--host", "0.0.0.0", "--port", "8123",
                                     "--data-dir", str(tmp_path / "other")])
    assert result.exit_code == 0, result.output
    assert (served[0]["host"], served[0]["port"]) == ("0.0.0.0", 8123)
    assert served[0]["app"].state.wenda.settings.data_dir == tmp_path / "other"
    assert "without API keys" in result.stderr  # exposed and open: warned
    assert "WENDA_ALLOWED_HOSTS" in result.stderr  # and answering to any host name: warned


def test_serve_runs_with_the_slow_client_limits(served: list[dict[str, Any]]) -> None:
    assert runner.invoke(cli.app, ["serve"]).exit_code == 0
    protocol = served[0]["config"].http
    assert (protocol.header_timeout, protocol.body_timeout, protocol.max_connections) == (
        10.0, 60.0, 200)


def test_serve_stops_on_a_malformed_key_list(monkeypatch: pytest.MonkeyPatch,
                                             served: list[dict[str, Any]],
                                             settings: Settings) -> None:
    monkeypatch.setattr(cli, "get_settings",
                        lambda: settings.model_copy(update={"api_keys": "no-colon"}))
    result = runner.invoke(cli.app, ["serve"])
    assert result.exit_code == 2
    assert "WENDA_API_KEYS" in result.stderr
    assert served == []


def test_serve_with_workers_hands_them_the_settings(monkeypatch: pytest.MonkeyPatch,
                                                    served: list[dict[str, Any]]) -> None:
    started: list[tuple[Settings, int]] = []
    monkeypatch.setattr("service.workers.serve_workers", lambda settings, workers, log: (
        started.append((settings, workers)), 0)[1])
    assert runner.invoke(cli.app, ["serve", "--workers", "3", "--port", "8124"]).exit_code == 0
    assert served == [] and [(s.port, s.workers, n) for s, n in started] == [(8124, 3, 3)]


def test_serve_refuses_workers_that_could_not_follow_each_others_builds(
        monkeypatch: pytest.MonkeyPatch, served: list[dict[str, Any]],
        settings: Settings) -> None:
    monkeypatch.setattr(cli, "get_settings",
                        lambda: settings.model_copy(update={"reload_seconds": 0}))
    result = runner.invoke(cli.app, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "WENDA_RELOAD_SECONDS" in result.stderr
    assert served == []


def test_serve_refuses_workers_on_the_milvus_backend(
        monkeypatch: pytest.MonkeyPatch, served: list[dict[str, Any]],
        settings: Settings) -> None:
    monkeypatch.setattr(cli, "get_settings",
                        lambda: settings.model_copy(update={"backend": "milvus"}))
    result = runner.invoke(cli.app, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "WENDA_BACKEND=milvus" in result.stderr
    assert served == []
