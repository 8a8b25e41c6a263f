"""One real index per session (two bundled reports) served by uvicorn on a loopback port."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from index.corpus import discover
from service.app import create_app
from service.config import Settings
from service.engine import build, make_embedder
from service.server import server_config

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
# The annual results (zh-Hant) and the English ESG report: both scripts, about 40% of
# the corpus, so the build stays well under the full corpus's ~45 s.
SUBSET = ("sensetime-results-2023-zh-hant", "sensetime-esg-2023-en")
START_TIMEOUT = 180.0


def e2e_settings(data_dir: Path) -> Settings:
    # The shared servers are read-only over HTTP: a generated DELETE must not rebuild the
    # index every other test reads (tests/e2e/test_documents_http.py writes to its own).
    return Settings(data_dir=data_dir, corpus_dir=REPO / "corpus",
                    glossary=REPO / "corpus" / "glossary.toml", document_writes=False)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over a data folder holding a freshly built index of SUBSET."""
    settings = e2e_settings(tmp_path_factory.mktemp("data"))
    sources = [s for s in discover([settings.corpus_dir]) if s.meta.doc_id in SUBSET]
    assert sorted(s.meta.doc_id for s in sources) == sorted(SUBSET)
    build(settings, sources, make_embedder(settings))
    return settings


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run `app` under uvicorn in a thread on a free 127.0.0.1 port; yield its base URL."""
    # IPPROTO_TCP named, or asyncio does not set TCP_NODELAY on the connections it accepts
    # (it checks the protocol number), and every reply waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))  # bound here and handed over: no race for the port
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app, app.state.wenda.settings, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:  # set once the lifespan (the engine load) has finished
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start; see the log above")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def wait_ready(url: str, timeout: float = START_TIMEOUT) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{url}/readyz", timeout=10)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


@pytest.fixture(scope="session")
def base_url(settings: Settings) -> Iterator[str]:
    """The real service: model and index loaded once by the app's own lifespan."""
    with serving(create_app(settings)) as url:
        ready = wait_ready(url)
        assert ready.status_code == 200, ready.text
        yield url


@pytest.fixture
def unready_url(tmp_path: Path) -> Iterator[str]:
    """A second service over an empty data folder: it starts, but has no index to serve."""
    with serving(create_app(e2e_settings(tmp_path / "empty"))) as url:
        yield url


@pytest.fixture(scope="session")
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        yield client
