"""Hot reload: a running service picks up the build `wenda index` publishes, keeps serving
the old one when the new one cannot load, and never loads the model twice."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fakes import api_client, corpus_folder, fixture_manifest
from fastapi.testclient import TestClient

from index.corpus import discover
from index.reader import IndexMismatchError, IndexMissingError
from index.store import current_index, new_build_dir, publish
from index.types import Document
from service.access import Filters
from service.answer import Answer, ReplyScript
from service.api.auth import parse_api_keys
from service.api.backend import Backend, EngineBackend, EngineLoader
from service.api.deps import ServiceState
from service.api.reload import IndexWatcher
from service.app import create_app
from service.config import Settings
from service.engine import build, make_embedder
from service.retrieve import Hit, Method

if TYPE_CHECKING:
    from conftest import FakeBackend


@dataclass
class Build:
    """A stand-in backend that only knows which build it is."""

    name: str
    documents: Mapping[str, Document] = field(default_factory=dict)

    @property
    def description(self) -> dict[str, str | int]:
        return {"index": self.name, "model": "stand-in"}

    def search(self, query: str, k: int, filters: Filters, method: Method) -> list[Hit]:
        return []

    def answer(self, question: str, top_k: int, filters: Filters, reply_script: ReplyScript,
               history: list[str]) -> Answer:
        raise NotImplementedError


@dataclass
class Disk:
    """What is published, and what loading it does: a build's name, or an error."""

    published: str | None = None
    fails: dict[str, Exception] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)

    def load(self) -> Backend:
        if self.published is None:
            raise IndexMissingError("no index in data: build one with `wenda index` first")
        self.loads.append(self.published)
        if self.published in self.fails:
            raise self.fails[self.published]
        return Build(self.published)


def watcher_over(disk: Disk, backend: Backend | None = None) -> IndexWatcher:
    state = ServiceState(Settings(), parse_api_keys(""), backend)
    return IndexWatcher(state, disk.load, lambda: disk.published)


def served(watcher: IndexWatcher) -> str | int | None:
    backend = watcher.state.backend
    return None if backend is None else backend.description["index"]


# ---- the swap, with fakes ------------------------------------------------------------

def test_a_newly_published_build_replaces_the_served_one() -> None:
    disk = Disk("b1")
    watcher = watcher_over(disk)
    asyncio.run(watcher.start())
    in_flight = watcher.state.backend  # what a request that started before the swap holds
    assert asyncio.run(watcher.check()) is False  # nothing new: nothing loaded
    disk.published = "b2"
    assert asyncio.run(watcher.check()) is True
    assert served(watcher) == "b2" and disk.loads == ["b1", "b2"]
    assert isinstance(in_flight, Build) and in_flight.name == "b1"  # untouched by the swap


def test_a_build_that_fails_to_load_leaves_the_old_one_serving(
        caplog: pytest.LogCaptureFixture) -> None:
    disk = Disk("b1", fails={"b2": IndexMismatchError("refusing the index b2: model 'x'")})
    watcher = watcher_over(disk)
    asyncio.run(watcher.start())
    disk.published = "b2"
    with caplog.at_level(logging.ERROR, logger="wenda.api"):
        assert asyncio.run(watcher.check()) is False
    assert served(watcher) == "b1"
    assert watcher.state.reload_error == "cannot load build b2: refusing the index b2: model 'x'"
    assert any("still serving b1" in r.getMessage() for r in caplog.records)
    asyncio.run(watcher.check())
    assert disk.loads == ["b1", "b2"]  # not retried until another build is published
    disk.published = "b3"
    assert asyncio.run(watcher.check()) is True
    assert served(watcher) == "b3" and watcher.state.reload_error == ""


def test_an_unexpected_failure_is_reported_without_its_details() -> None:
    disk = Disk("b1", fails={"b2": RuntimeError("faiss: /srv/secret/dense.faiss is short")})
    watcher = watcher_over(disk)
    asyncio.run(watcher.start())
    disk.published = "b2"
    asyncio.run(watcher.check())
    assert served(watcher) == "b1"
    assert watcher.state.reload_error == (
        "cannot load build b2: RuntimeError; the server log has the details")


def test_a_service_started_without_an_index_loads_the_first_one_built() -> None:
    disk = Disk(None)
    watcher = watcher_over(disk)
    asyncio.run(watcher.start())
    assert watcher.state.backend is None and "wenda index" in watcher.state.not_ready
    assert asyncio.run(watcher.check()) is False
    disk.published = "b1"
    assert asyncio.run(watcher.check()) is True and served(watcher) == "b1"


def test_a_first_build_that_cannot_load_is_the_reason_the_service_is_not_ready() -> None:
    disk = Disk(None, fails={"b1": IndexMismatchError("refusing the index b1")})
    watcher = watcher_over(disk)
    disk.published = "b1"
    assert asyncio.run(watcher.check()) is False
    assert watcher.state.backend is None
    assert watcher.state.not_ready == "cannot load build b1: refusing the index b1"


def test_start_stops_the_service_for_unusable_settings() -> None:
    disk = Disk("b1", fails={"b1": ValueError("WENDA_LLM_BASE_URL: not an http:// URL")})
    with pytest.raises(ValueError, match="WENDA_LLM_BASE_URL"):
        asyncio.run(watcher_over(disk).start())


# ---- the app's watcher over a real data folder, with a fake loader ---------------------

def publish_build(data_dir: Path, broken: bool = False) -> str:
    folder = new_build_dir(data_dir)
    if broken:
        (folder / "broken").touch()
    return publish(folder, data_dir).name


def load_published(settings: Settings) -> Backend:
    """What the real loader does, in miniature: open whatever `data/index` points at."""
    folder = current_index(settings.data_dir)
    if folder is None:
        raise IndexMissingError(f"no index in {settings.data_dir}")
    if (folder / "broken").exists():
        raise IndexMismatchError(f"refusing the index {folder.name}: broken")
    return Build(folder.name)


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll `check` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)
    return result


@pytest.fixture
def watched(settings: Settings) -> Iterator[TestClient]:
    fast = settings.model_copy(update={"reload_seconds": 0.05})
    with api_client(create_app(fast, loader=load_published)) as client:
        yield client


def ready_index(client: TestClient) -> Any:
    response = client.get("/readyz")
    return response.status_code == 200 and response.json()


def test_the_app_follows_published_builds_and_reports_a_broken_one(
        watched: TestClient, settings: Settings) -> None:
    assert watched.get("/readyz").status_code == 503  # started before any build
    first = publish_build(settings.data_dir)
    assert eventually(lambda: ready_index(watched))["index"] == first
    broken = publish_build(settings.data_dir, broken=True)
    body = eventually(lambda: (b := ready_index(watched)) and "reload_error" in b and b)
    assert body["index"] == first and broken in body["reload_error"]
    second = publish_build(settings.data_dir)
    assert eventually(lambda: (b := ready_index(watched)) and b["index"] == second and b)
    assert "reload_error" not in watched.get("/readyz").json()


def test_with_reload_off_a_new_build_needs_a_restart(settings: Settings) -> None:
    first = publish_build(settings.data_dir)
    off = settings.model_copy(update={"reload_seconds": 0})
    with api_client(create_app(off, loader=load_published)) as client:
        publish_build(settings.data_dir)
        time.sleep(0.2)  # no watcher to wait for: this only gives a wrong one time to act
        assert client.get("/readyz").json()["index"] == first


def test_an_app_handed_its_backend_serves_it_as_it_is(settings: Settings,
                                                      backend: FakeBackend) -> None:
    publish_build(settings.data_dir)
    fast = settings.model_copy(update={"reload_seconds": 0.05})
    with api_client(create_app(fast, engine=backend)) as client:
        time.sleep(0.2)
        assert client.get("/readyz").json()["index"] == "fake"


# ---- the real thing: model, build, rebuild ---------------------------------------------

FIRST = fixture_manifest('en')
SECOND = FIRST + """
[[documents]]
id = "water-notes"
file = "water.txt"
title = "Water notes"
company = "Example Water Ltd."
year = 2023
script = "en"
"""
WATER = """Water stewardship

Our offices used 12,400 cubic metres of water in 2023, a tenth less than the year before.
Rain water is collected on site and used for the gardens.
"""


def test_a_running_service_serves_a_rebuilt_index_without_a_restart(
        tmp_path: Path, fixtures_dir: Path, corpus_dir: Path) -> None:
    corpus = corpus_folder(tmp_path / "corpus", fixtures_dir, FIRST, ("en.txt",))
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus,
                        glossary=corpus_dir / "glossary.toml", reload_seconds=0.1)
    loader = EngineLoader()
    loader.embedder = embedder = make_embedder(settings)  # shared with the builds: loaded once
    build(settings, discover([corpus]), embedder)
    with api_client(create_app(settings, loader=loader)) as client:
        first = client.get("/readyz").json()["index"]
        assert [d["doc_id"] for d in client.get("/v1/documents").json()["documents"]] == [
            "report-en"]
        (corpus / "water.txt").write_text(WATER, encoding="utf-8")
        (corpus / "manifest.toml").write_text(SECOND, encoding="utf-8")
        build(settings, discover([corpus]), embedder)
        ready = eventually(lambda: (b := ready_index(client)) and b["index"] != first and b,
                           timeout=60)
        assert ready["documents"] == 2
        hits = client.get("/v1/search", params={"q": "How much water did the offices use?",
                                                "k": 3}).json()["hits"]
        assert hits[0]["doc_id"] == "water-notes" and "12,400" in hits[0]["text"]
        state = client.app.state.wenda  # type: ignore[attr-defined]
        assert isinstance(state.backend, EngineBackend)
        assert state.backend.engine.embedder is embedder  # the model was not loaded again
