"""`wenda serve --workers 2`, the real command: both workers answer alike, a document
uploaded through one is served by both once its job is done (the job read from either),
a worker killed is replaced, and SIGTERM stops them all."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from conftest import REPO

from service.config import Settings
from service.engine import build, make_embedder, served_corpus

DATA = REPO / "tests" / "data"
TIMEOUT = 180.0
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Two workers over a data folder of the two tests/data paragraph files."""
    root = tmp_path_factory.mktemp("workers")
    (root / "corpus").mkdir()
    for name in ("en.txt", "zh-hant.txt"):
        shutil.copy(DATA / name, root / "corpus" / name)
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus",
                        glossary=REPO / "corpus" / "glossary.toml")
    build(settings, served_corpus(settings), make_embedder(settings))
    port = _free_port()
    env = {**os.environ, "WENDA_DATA_DIR": str(settings.data_dir), "HF_HUB_OFFLINE": "1",
           "WENDA_CORPUS_DIR": str(settings.corpus_dir), "WENDA_RELOAD_SECONDS": "0.5",
           "WENDA_GLOSSARY": str(settings.glossary)}
    process = subprocess.Popen([sys.executable, "-m", "eval.cli", "serve", "--port", str(port),
                                "--workers", "2"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: len(_each_worker(url, lambda c: 1)) == 2 or None, process)
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _until(check: Callable[[], T | None], process: subprocess.Popen[bytes]) -> T:
    deadline = time.monotonic() + TIMEOUT
    while True:
        assert process.poll() is None, "the server stopped"
        try:
            found = check()
            if found is not None:
                return found
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _each_worker(url: str, ask: Callable[[httpx.Client], T], tries: int = 200) -> dict[int, T]:
    """`ask` of each worker: a new connection's first request tells the worker it reached
    (/readyz), and its later ones reach the same worker (keep-alive)."""
    seen: dict[int, T] = {}
    for _ in range(tries):
        with httpx.Client(base_url=url, timeout=60) as client:
            ready = client.get("/readyz")
            if ready.status_code != 200:
                continue
            worker = ready.json()["worker"]
            if worker not in seen:
                seen[worker] = ask(client)
        if len(seen) == 2:
            break
    return seen


def _answer(client: httpx.Client, question: str) -> dict[str, Any]:
    response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return {k: v for k, v in response.json().items() if k not in ("timings_ms", "latency_ms")}


def test_every_worker_answers_alike(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = server
    for question in ("How many commercialised AI models had been developed by 30 June 2021?",
                     "截至2021年6月30日累計開發了多少個商業化人工智能模型？"):
        answers = _each_worker(url, lambda client, q=question: _answer(client, q))
        assert sorted(answers) == [1, 2]
        assert answers[1] == answers[2]


def test_an_evaluation_job_is_read_from_either_worker(
        server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, process = server
    question = {"id": "en-1", "question": "Which project is the report about?", "script": "en",
                "doc_ids": ["en"], "answers": ["Project Wing"], "type": "entity",
                "evidence": [{"doc_id": "en", "text": "Project Wing"}]}
    accepted = httpx.post(f"{url}/v1/eval", json={"questions": [question]}, timeout=60)
    assert accepted.status_code == 202, accepted.text
    status_url = accepted.json()["status_url"]
    _until(lambda: httpx.get(url + status_url, timeout=30).json()["status"] == "done" or None,
           process)
    seen = _each_worker(url, lambda client: client.get(status_url).json())
    assert sorted(seen) == [1, 2]
    assert {k: v for k, v in seen[1].items() if k != "elapsed_s"} == {
        k: v for k, v in seen[2].items() if k != "elapsed_s"}
    assert seen[1]["summary"]["questions"] == 1 and len(seen[1]["results"]) == 1


def test_an_upload_through_one_worker_is_served_by_both(
        server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, process = server
    question = "How many people did Acme Robotics employ at the end of 2024?"
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.post("/v1/documents", files={"files": (
            "acme-2024.txt", (DATA / "uploads" / "acme-2024.txt").read_bytes())},
            data={"company": "Acme Robotics", "year": "2024"})
    assert response.status_code == 202, response.text
    status_url = response.json()["status_url"]
    # polled on new connections, so from either worker; done once both serve the build
    job = _until(lambda: (j if (j := httpx.get(url + status_url, timeout=30).json())[
        "state"] not in ("queued", "running") else None), process)
    assert job["state"] == "done" and job["files"][0]["status"] == "indexed", job
    answers = _each_worker(url, lambda client: (client.get(status_url).json(), client.get(
        "/readyz").json()["index"], _answer(client, question)))
    assert sorted(answers) == [1, 2]
    for seen_job, index, answer in answers.values():
        assert seen_job == job and index == job["build"]
        assert "1,204" in answer["answer"] and answer["citations"][0]["doc_id"] == "acme-2024"
    assert answers[1][2] == answers[2][2]


def test_a_killed_worker_is_replaced_and_sigterm_stops_all(
        server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, process = server
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    workers = children.read_text().split()
    assert len(workers) == 2
    os.kill(int(workers[0]), signal.SIGKILL)
    now = _until(lambda: (new if len(new := children.read_text().split()) == 2 and
                          new != workers else None), process)
    answers = _each_worker(url, lambda client: _answer(client, "What was the revenue?"))
    assert sorted(answers) == [1, 2] and answers[1] == answers[2]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in now)
