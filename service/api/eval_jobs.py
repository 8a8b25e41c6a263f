"""Evaluation jobs: the known-answer scoring run over the API's backend, in worker threads.

Jobs live in the memory of the process running them, and `on_change` hears of each change
(the app copies the job's state into the data folder's job store there, so the other
worker processes of `wenda serve --workers N` answer for it too). At most `max_active`
jobs are queued or running at once in one process (more is 429 too_many_jobs), and the
`kept` most recently submitted finished jobs are kept for polling; older finished ones are
forgotten (404 unknown_job).
At app shutdown, running jobs stop between two questions and their threads are joined, so
no job outlives the app that started it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from service.access import Access
from service.api.backend import Backend
from service.api.eval_schemas import JobStatus
from service.errors import TooManyJobsError, UnknownJobError
from service.questions import Question
from service.scoring import Progress, QuestionResult, evaluate, summarise

log = logging.getLogger("wenda.api")
MAX_ACTIVE = 2  # jobs queued or running at once; each one is a thread doing searches
KEPT = 50  # finished jobs kept for polling, newest first
MAX_QUESTIONS = 2000  # questions per job
RETRY_AFTER_S = 10
CLOSE_TIMEOUT_S = 10.0  # how long app shutdown waits for the running jobs to stop


class JobStoppedError(Exception):
    """The app is shutting down: a job stops between two questions."""


@dataclass
class EvalJob:
    job_id: str
    access: Access  # the submitter's: only callers with the same access see the job
    questions: Sequence[Question]
    status: JobStatus = "queued"
    done: int = 0
    started: float | None = None  # time.monotonic()
    finished: float | None = None
    results: list[QuestionResult] | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started


@dataclass
class EvalJobs:
    """The jobs of one app; safe to use from the event loop and the worker threads."""

    max_active: int = MAX_ACTIVE
    kept: int = KEPT
    max_questions: int = MAX_QUESTIONS
    _jobs: dict[str, EvalJob] = field(default_factory=dict)  # in submission order
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: set[threading.Thread] = field(default_factory=set)
    _stopping: threading.Event = field(default_factory=threading.Event)
    # told of every change, with a copy of the job, outside the lock; its failures are logged
    on_change: Callable[[EvalJob], None] | None = None

    def submit(self, backend: Backend, questions: Sequence[Question], access: Access) -> EvalJob:
        """Start evaluating `questions` in a worker thread; 429 when enough jobs are running."""
        with self._lock:
            active = sum(job.active for job in self._jobs.values())
            if active >= self.max_active:
                raise TooManyJobsError(
                    f"{active} evaluation jobs are already running (the limit is "
                    f"{self.max_active}); try again when one has finished",
                    {"Retry-After": str(RETRY_AFTER_S)})
            job = EvalJob(uuid.uuid4().hex, access, questions)
            self._jobs[job.job_id] = job
            snapshot = replace(job)
            worker = threading.Thread(target=self._run, args=(job, backend), daemon=True,
                                      name=f"wenda-eval-{job.job_id[:8]}")
            self._workers.add(worker)
        try:
            worker.start()
        except RuntimeError:  # no thread to be had: free the slot rather than hold it forever
            with self._lock:
                self._workers.discard(worker)
            self._finish(job, error="the server could not start the evaluation")
            raise
        self._changed(snapshot)
        return snapshot

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Stop the running jobs between two questions and wait for their threads (at app
        shutdown, so none is left logging or searching after the app is gone)."""
        self._stopping.set()
        with self._lock:
            workers = list(self._workers)
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                log.warning("eval job thread %s is still running at shutdown", worker.name)

    def get(self, job_id: str, access: Access) -> EvalJob:
        """A consistent copy of the job; 404 unknown_job for ids this caller may not see."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.access != access:
                raise UnknownJobError(f"no evaluation job {job_id!r}: jobs are kept in memory, "
                                      f"for the last {self.kept} finished")
            return replace(job)

    def _run(self, job: EvalJob, backend: Backend) -> None:
        try:
            self._evaluate(job, backend)
        finally:
            with self._lock:
                self._workers.discard(threading.current_thread())

    def _evaluate(self, job: EvalJob, backend: Backend) -> None:
        with self._lock:
            job.status, job.started = "running", time.monotonic()
        self._changed(job)
        log.info("eval job %s: %d questions", job.job_id, job.total)
        try:
            self._progress(job, 0)  # a job submitted as the app stops never starts
            results = evaluate_backend(backend, job.questions, job.access,
                                       lambda done, total: self._progress(job, done))
            summary = summarise(results)
        except JobStoppedError:
            log.info("eval job %s: stopped at shutdown after %d of %d questions", job.job_id,
                     job.done, job.total)
            self._finish(job, error="the server stopped before the evaluation finished")
            return
        except Exception:  # a bug or a broken index: the job fails, the server carries on
            log.exception("eval job %s failed after %d of %d questions", job.job_id, job.done,
                          job.total)
            self._finish(job, error=_failure(job))
            return
        self._finish(job, results=results, summary=summary)
        log.info("eval job %s: done in %.1f s", job.job_id, job.elapsed_s)

    def _progress(self, job: EvalJob, done: int) -> None:
        with self._lock:
            job.done = done
        self._changed(job)
        if self._stopping.is_set():
            raise JobStoppedError(job.job_id)

    def _finish(self, job: EvalJob, results: list[QuestionResult] | None = None,
                summary: dict[str, Any] | None = None, error: str | None = None) -> None:
        with self._lock:  # every field at once, so a poll never sees "done" without a summary
            job.finished = time.monotonic()
            job.results, job.summary, job.error = results, summary, error
            job.status = "failed" if error is not None else "done"
            finished = [job_id for job_id, j in self._jobs.items() if not j.active]
            for job_id in finished[:-self.kept]:
                del self._jobs[job_id]
        self._changed(job)

    def _changed(self, job: EvalJob) -> None:
        if self.on_change is None:
            return
        with self._lock:
            snapshot = replace(job)
        try:
            self.on_change(snapshot)
        except Exception:  # the job itself goes on: only other workers miss this change
            log.exception("eval job %s: could not record its state", job.job_id)


def _failure(job: EvalJob) -> str:
    """What the client is told: where it stopped, never the exception (that is logged)."""
    where = (f"at question {job.done + 1} of {job.total} ({job.questions[job.done].id!r})"
             if job.done < job.total else "while summarising the results")
    return f"the evaluation failed {where}; the server log has the details (job {job.job_id})"


def evaluate_backend(backend: Backend, questions: Sequence[Question], access: Access,
                     progress: Progress) -> list[QuestionResult]:
    """`wenda eval`'s run over the API's backend, seeing only what `access` may read (no
    generic baseline: it embeds the whole corpus again)."""
    return evaluate(backend, questions, progress, access.filters())
