"""Documents over HTTP on a real server: upload, ask, replace, delete, with the real model
and index; the limits, permissions and errors of the write endpoints; a build killed
mid-way loses nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO, serving, wait_ready

from index.library import Library
from index.store import current_index
from service.app import create_app
from service.config import Settings
from service.engine import build, make_embedder, served_corpus

DATA = REPO / "tests" / "data"
UPLOADS = DATA / "uploads"
JOB_TIMEOUT = 180.0


def _settings(root: Path, **extra: Any) -> Settings:
    return Settings(data_dir=root / "data", corpus_dir=root / "corpus",
                    glossary=REPO / "corpus" / "glossary.toml", **extra)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus folder (the three tests/data paragraphs files) and its index, built once."""
    root = tmp_path_factory.mktemp("documents")
    (root / "corpus").mkdir()
    for name in ("en.txt", "zh-hant.txt"):
        shutil.copy(DATA / name, root / "corpus" / name)
    settings = _settings(root)
    build(settings, served_corpus(settings), make_embedder(settings))
    return root


def _copy(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "site", symlinks=True)
    return tmp_path / "site"


@pytest.fixture
def site(built: Path, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """An open (loopback, keyless) server over its own copy of the data folder."""
    settings = _settings(_copy(built, tmp_path), reload_seconds=0.5)
    with serving(create_app(settings)) as url:
        assert wait_ready(url).status_code == 200
        yield url, settings


def _finished(client: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = client.get(job["status_url"]).json()
    return job


def _ask(client: httpx.Client, question: str) -> dict[str, Any]:
    response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_document_uploaded_is_answered_from_then_deleted(site: tuple[str, Settings]) -> None:
    url, settings = site
    question = "How many people did Acme Robotics employ at the end of 2024?"
    with httpx.Client(base_url=url, timeout=60) as client:
        assert not any(c["doc_id"] == "acme-2024" for c in _ask(client, question)["citations"])
        started = time.monotonic()
        with (UPLOADS / "acme-2024.txt").open("rb") as handle:
            response = client.post("/v1/documents", files={"files": ("acme-2024.txt", handle)},
                                   data={"company": "Acme Robotics", "year": "2024",
                                         "title": "Acme Robotics Annual Report 2024"})
        assert response.status_code == 202, response.text
        assert response.headers["location"] == response.json()["status_url"]
        job = _finished(client, response.json())
        answerable_after = time.monotonic() - started
        assert job["state"] == "done", job
        assert job["files"] == [{"name": "acme-2024.txt", "doc_id": "acme-2024",
                                 "status": "indexed", "error": None}]
        answer = _ask(client, question)  # served as soon as the job is done
        assert "1,204" in answer["answer"], answer["answer"]
        assert answer["citations"][0]["doc_id"] == "acme-2024"
        listed = {d["doc_id"]: d for d in client.get("/v1/documents").json()["documents"]}
        assert listed["acme-2024"]["company"] == "Acme Robotics"
        print(f"upload of one file until answerable: {answerable_after:.1f} s")

        # the stored original survives the build: it is in the documents store
        uploads = Library(settings.data_dir).uploads()
        assert [u.doc_id for u in uploads] == ["acme-2024"] and uploads[0].path.is_file()

        gone = _finished(client, client.delete("/v1/documents/acme-2024").json())
        assert gone["state"] == "done", gone
        assert client.get("/v1/documents/acme-2024").status_code == 404
        assert not any(c["doc_id"] == "acme-2024" for c in _ask(client, question)["citations"])
        assert Library(settings.data_dir).uploads() == []


def test_a_base_document_is_removed_and_a_replaced_one_keeps_its_fields(
        site: tuple[str, Settings]) -> None:
    url, settings = site
    with httpx.Client(base_url=url, timeout=60) as client:
        gone = _finished(client, client.delete("/v1/documents/zh-hant").json())
        assert gone["state"] == "done", gone
        assert "zh-hant" not in {d["doc_id"] for d in
                                 client.get("/v1/documents").json()["documents"]}
        replaced = client.put("/v1/documents/en", files={"files": (
            "en.txt", (UPLOADS / "acme-2024.txt").read_bytes())}, data={"company": "Acme"})
        job = _finished(client, replaced.json())
        assert job["state"] == "done" and job["kind"] == "replace", job
        doc = client.get("/v1/documents/en").json()
        assert doc["company"] == "Acme" and doc["title"] == "en"  # the old title kept
    # `wenda index` sees the same corpus as the service: the removal and the replacement
    ids = {s.meta.doc_id: s.shown_name for s in served_corpus(settings)}
    assert ids == {"en": "en.txt"}


def test_one_unreadable_file_is_reported_and_the_rest_indexed(site: tuple[str, Settings]
                                                              ) -> None:
    url, _ = site
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.post("/v1/documents", files=[
            ("files", ("acme-2024.txt", (UPLOADS / "acme-2024.txt").read_bytes())),
            ("files", ("broken.txt", (UPLOADS / "broken.txt").read_bytes()))])
        assert response.status_code == 202, response.text
        job = _finished(client, response.json())
        status = {f["name"]: (f["status"], f["error"]) for f in job["files"]}
        assert status["acme-2024.txt"] == ("indexed", None)
        assert status["broken.txt"][0] == "rejected"
        assert "binary" in status["broken.txt"][1] and "/" not in status["broken.txt"][1]
        only_bad = client.post("/v1/documents", files={"files": (
            "broken.txt", (UPLOADS / "broken.txt").read_bytes())})
        assert only_bad.status_code == 422
        assert only_bad.json()["error"]["code"] == "unreadable_document"


@pytest.mark.parametrize(("files", "status", "code", "says"), [
    ({"files": ("report.docm", b"x")}, 415, "unsupported_file", "'.docm'"),
    ({"other": ("a.txt", b"hello")}, 422, "invalid_request", "files"),
])
def test_bad_uploads_get_a_clear_error(site: tuple[str, Settings], files: dict[str, Any],
                                       status: int, code: str, says: str) -> None:
    url, _ = site
    response = httpx.post(f"{url}/v1/documents", files=files, timeout=30)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code and says in response.json()["error"][
        "message"]


def test_limits_and_permissions_of_document_writes(built: Path, tmp_path: Path) -> None:
    keys = "reader:*;writer:*:write;finance:finance:write;public:"
    settings = _settings(_copy(built, tmp_path), api_keys=keys, max_document_bytes=2000)
    text = (UPLOADS / "acme-2024.txt").read_bytes()
    with serving(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as client:
        def post(key: str | None, body: bytes = text, **data: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return client.post("/v1/documents", files={"files": ("acme-2024.txt", body)},
                               data=data, headers=headers)

        assert post(None).status_code == 401
        denied = post("reader")
        assert denied.status_code == 403 and "write permission" in denied.json()["error"][
            "message"]
        assert post("writer", body=b"x" * 3000).status_code == 413
        assert post("finance", groups="hr").status_code == 403  # not its group
        # a group key publishes into its own groups, and cannot touch public documents
        job = post("finance").json()
        headers = {"Authorization": "Bearer finance"}
        while job["state"] in ("queued", "running"):
            time.sleep(0.2)
            job = client.get(job["status_url"], headers=headers).json()
        assert job["state"] == "done", job
        assert client.get("/v1/documents/acme-2024", headers=headers).status_code == 200
        stored = {u.doc_id: u.meta for u in Library(settings.data_dir).uploads()}
        assert stored["acme-2024"].groups == ("finance",)
        # a key of other groups cannot see it, nor tell it from a missing one
        public = {"Authorization": "Bearer public"}
        assert client.get("/v1/documents/acme-2024", headers=public).json() == client.get(
            "/v1/documents/no-such-document", headers=public).json() | {"error": {
                "code": "unknown_document",
                "message": "no document 'acme-2024' (see GET /v1/documents)"}}
        assert client.delete("/v1/documents/en", headers=headers).status_code == 403
        # a document of another group is, to the finance key, one that does not exist
        hr = post("writer", groups="hr").json()
        while hr["state"] in ("queued", "running"):
            time.sleep(0.2)
            hr = client.get(hr["status_url"], headers={"Authorization": "Bearer writer"}).json()
        hidden = client.delete("/v1/documents/acme-2024", headers=headers)
        missing = client.delete("/v1/documents/acme-2025", headers=headers)
        assert (hidden.status_code, hidden.json()["error"]["code"]) == (
            missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_document")
        assert client.get(job["status_url"], headers={
            "Authorization": "Bearer writer"}).status_code == 404  # another caller's job


def test_writes_are_refused_beyond_loopback_without_keys(built: Path, tmp_path: Path) -> None:
    settings = _settings(_copy(built, tmp_path), host="0.0.0.0")
    with serving(create_app(settings)) as url:
        response = httpx.post(f"{url}/v1/documents", files={"files": ("a.txt", b"hello")},
                              timeout=30)
    assert response.status_code == 403 and "beyond loopback" in response.json()["error"][
        "message"]


def test_a_build_killed_mid_way_loses_no_upload_and_keeps_the_index(built: Path,
                                                                       tmp_path: Path) -> None:
    """kill -9 while `wenda documents add` builds: the upload is stored, the published index
    is the old one and still loads, and the next build includes the upload."""
    root = _copy(built, tmp_path)
    settings = _settings(root)
    before = current_index(settings.data_dir)
    env = {**os.environ, "WENDA_DATA_DIR": str(settings.data_dir),
           "WENDA_CORPUS_DIR": str(settings.corpus_dir), "HF_HUB_OFFLINE": "1"}
    big = tmp_path / "big-report.txt"  # enough passages that the build is still embedding
    big.write_text("\n\n".join(f"Paragraph {i}: Acme Robotics opened plant number {i} in "
                               f"city {i * 7}, employing {i * 13} people." for i in range(3000)),
                   encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "eval.cli", "documents", "add", str(big)],
                               cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    builds = settings.data_dir / "builds"
    deadline = time.monotonic() + JOB_TIMEOUT
    while not any(p.name.endswith(".partial") for p in builds.iterdir()):
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert current_index(settings.data_dir) == before  # nothing half-built was published
    assert [u.doc_id for u in Library(settings.data_dir).uploads()] == ["big-report"]
    from service.engine import Engine
    Engine.start(settings)  # the old index still loads
    report = build(settings, served_corpus(settings), make_embedder(settings))
    assert "big-report" in {d.doc_id for d in report.documents}


def test_word_excel_and_csv_uploads_are_answered_from_their_tables(
        site: tuple[str, Settings], tmp_path: Path) -> None:
    from docx import Document as WordDocument
    from openpyxl import Workbook

    word = WordDocument()
    word.add_heading("Acme Robotics ESG Report 2024", level=1)
    table = word.add_table(rows=2, cols=3)
    for r, row in enumerate([["Indicator", "2024", "2023"],
                             ["Water withdrawal (tonnes)", "51,300", "55,020"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    word.save(tmp_path / "acme-esg-2024.docx")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Headcount"
    for values in (["Region", "2024", "2023"], ["Suzhou plant", 812, 700]):
        sheet.append(values)
    book.save(tmp_path / "acme-kpis-2024.xlsx")
    url, _ = site
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.post("/v1/documents", data={"company": "Acme Robotics"}, files=[
            ("files", (name, (tmp_path / name).read_bytes() if (tmp_path / name).exists()
                       else (UPLOADS / name).read_bytes()))
            for name in ("acme-esg-2024.docx", "acme-kpis-2024.xlsx", "acme-suppliers-2024.csv")])
        job = _finished(client, response.json())
        assert [f["status"] for f in job["files"]] == ["indexed"] * 3, job
        for question, figure in (
                ("How many tonnes of water did Acme Robotics withdraw in 2024?", "51,300"),
                ("How many people worked at Acme's Suzhou plant in 2024?", "812")):
            answer = _ask(client, question)
            assert figure in answer["answer"], (question, answer["answer"])
        # the CSV's rows are passages of their own, found by what they name
        hits = client.post("/v1/search", json={"query": "SensorWorks supplier spend"}).json()
        assert hits["hits"][0]["doc_id"] == "acme-suppliers-2024"
        assert "SensorWorks\tJapan\t21.7" in hits["hits"][0]["text"]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "eval.cli", "serve", "--port", str(port)],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        assert process.poll() is None and time.monotonic() < deadline
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def test_a_server_killed_during_an_upload_job_builds_it_when_it_starts_again(
        built: Path, tmp_path: Path) -> None:
    """kill -9 the service while its upload job embeds: nothing was published, the old
    index serves after the restart, and the service builds the stored upload by itself."""
    settings = _settings(_copy(built, tmp_path))
    before = current_index(settings.data_dir)
    env = {**os.environ, "WENDA_DATA_DIR": str(settings.data_dir),
           "WENDA_CORPUS_DIR": str(settings.corpus_dir), "HF_HUB_OFFLINE": "1",
           "WENDA_GLOSSARY": str(settings.glossary)}
    big = "\n\n".join(f"Paragraph {i}: Acme Robotics opened plant number {i} in city "
                      f"{i * 7}, employing {i * 13} people." for i in range(1500))
    port = _free_port()
    server = _server(env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        job = httpx.post(f"{url}/v1/documents", files={"files": ("big-report.txt", big)},
                         timeout=60).json()
        deadline = time.monotonic() + JOB_TIMEOUT
        while job["stage"] != "embed":
            assert job["state"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.05)
            job = httpx.get(url + job["status_url"], timeout=30).json()
        server.send_signal(signal.SIGKILL)
        server.wait()
        assert current_index(settings.data_dir) == before  # nothing half-built published
        assert [u.doc_id for u in Library(settings.data_dir).uploads()] == ["big-report"]

        server = _server(env, port)  # serves the old build at once, and resumes the job
        listed = {d["doc_id"] for d in httpx.get(f"{url}/v1/documents").json()["documents"]}
        assert "en" in listed
        while "big-report" not in listed:
            assert time.monotonic() < deadline + JOB_TIMEOUT
            time.sleep(0.5)
            listed = {d["doc_id"] for d in httpx.get(f"{url}/v1/documents").json()["documents"]}
        assert current_index(settings.data_dir) != before
    finally:
        server.kill()
        server.wait()


def test_a_chinese_file_name_keeps_a_readable_id(site: tuple[str, Settings]) -> None:
    url, _ = site
    with httpx.Client(base_url=url, timeout=60) as client:
        text = "智譜2025年末員工總數為937人。\n".encode()
        job = _finished(client, client.post("/v1/documents",
                                            files={"files": ("智譜 2025 年報.txt", text)}).json())
        assert job["files"][0]["doc_id"] == "智譜-2025-年報" and job["state"] == "done", job
        doc = client.get("/v1/documents/智譜-2025-年報")
        assert doc.status_code == 200 and doc.json()["source"] == "智譜 2025 年報.txt"
