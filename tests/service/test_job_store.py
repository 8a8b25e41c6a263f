"""The job store the worker processes share: a job another process ran is read right,
one whose process is gone is failed, the limits count every live process's jobs."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from service.access import Access
from service.api.job_store import JobStore
from service.api.library import KEPT, MAX_WAITING, BuildJob, BuildJobs, FileResult
from service.errors import TooManyJobsError, UnknownJobError

REPO = Path(__file__).resolve().parents[2]
WRITER = Access(frozenset({"finance"}), write=True)


def _in_another_process(data_dir: Path, code: str) -> str:
    """Run `code` (with `store`, a JobStore of data_dir) in a process that then ends."""
    script = ("import sys; from pathlib import Path; from service.api.job_store import "
              f"JobStore; store = JobStore(Path(sys.argv[1]))\n{code}")
    done = subprocess.run([sys.executable, "-c", script, str(data_dir)], cwd=REPO,
                          capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def _job(job_id: str) -> BuildJob:
    return BuildJob(job_id, "add", WRITER, [FileResult(name="a.txt", doc_id="a",
                                                       status="stored")])


def test_a_job_reads_the_same_from_any_process(tmp_path: Path) -> None:
    jobs = BuildJobs(JobStore(tmp_path))
    job = _job("j1")
    assert jobs.store.insert(job.job_id, "queued", job.body(), MAX_WAITING, KEPT) == 0
    assert jobs.get("j1", WRITER) == job
    with pytest.raises(UnknownJobError):
        jobs.get("j1", Access(frozenset({"hr"}), write=True))  # another key's job
    # another process (another worker) reads the state this one wrote
    job.state, job.stage, job.done, job.total = "running", "embed", 3, 9
    jobs.store.update(job.job_id, job.state, job.body())
    seen = _in_another_process(tmp_path, "print(store.get('j1')[1], store.get('j1')[2]['done'])")
    assert seen == "running 3"


def test_a_job_whose_process_is_gone_is_failed_and_counts_no_more(tmp_path: Path) -> None:
    _in_another_process(tmp_path, f"for i in range({MAX_WAITING}):\n"
                        "    store.insert(f'gone{i}', 'running', {'kind': 'add', 'groups': None,"
                        " 'write': True, 'files': [], 'stage': 'embed', 'done': 0, 'total': 0, "
                        "'started': 0.0, 'finished': None, 'build': None, 'error': None}, 99, 50)")
    store = JobStore(tmp_path)
    assert store.active() == 0  # their process ended: its lock went with it
    job = BuildJobs(store).get("gone0", Access(None, write=True))
    assert job.state == "failed" and job.error and "stopped before it finished" in job.error
    assert store.get("gone0")[1] == "failed"  # type: ignore[index]
    assert store.insert("new", "queued", _job("new").body(), MAX_WAITING, KEPT) == 0


def test_waiting_jobs_are_limited_across_processes(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    for i in range(MAX_WAITING - 1):
        store.insert(f"mine{i}", "queued", _job(f"mine{i}").body(), MAX_WAITING, KEPT)
    assert store.active() == MAX_WAITING - 1
    # a second live process (a sibling worker) is refused once the data folder has 8 waiting
    store.insert("last", "queued", _job("last").body(), MAX_WAITING, KEPT)
    refused = _in_another_process(tmp_path, f"print(store.insert('x', 'queued', {{}}, "
                                  f"{MAX_WAITING}, {KEPT}))")
    assert refused == str(MAX_WAITING) and store.get("x") is None
    jobs = BuildJobs(store)
    with pytest.raises(TooManyJobsError):
        jobs.submit("add", WRITER, [], lambda progress: ("b", []), lambda published: None)


def test_one_build_turn_at_a_time(tmp_path: Path) -> None:
    store, other = JobStore(tmp_path), JobStore(tmp_path)
    order: list[str] = []

    def second() -> None:
        with other.build_turn():
            order.append("second")

    with store.build_turn():
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]


def test_workers_of_gone_processes_are_forgotten(tmp_path: Path) -> None:
    _in_another_process(tmp_path, "store.record_worker(2, 'b1', None, '')")
    store = JobStore(tmp_path)
    store.record_worker(1, "b2", "b3", "cannot load build b3")
    assert [(w.worker, w.build, w.refused) for w in store.workers()] == [(1, "b2", "b3")]
