"""What the worker processes of one data folder share about jobs and builds served
(`data/service/jobs.sqlite`), so any worker answers for a job another one runs.

`wenda serve --workers N` runs N processes behind one socket: a client's next request may
reach any of them. A document job's state is therefore kept here, not in the memory of the
worker running it, and each worker records the build it serves, so a job is `done` only
when every worker serves the new build.

Whether a process is alive is told by a lock, not by its pid (a restarted container reuses
pids): each process holds an exclusive `flock` on `owners/<token>.lock` for as long as it
lives, and the kernel releases it when the process ends, however it ends. A job or a worker
row whose owner's lock can be taken belongs to a process that is gone.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STORE_DIR = Path("service")
STORE_DB = "jobs.sqlite"
OWNERS_DIR = "owners"
TURN = "build.turn"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL, created REAL NOT NULL,
    state TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workers (
    owner TEXT PRIMARY KEY, worker INTEGER NOT NULL, build TEXT, refused TEXT,
    reason TEXT NOT NULL, updated REAL NOT NULL);
"""
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class WorkerRecord:
    """What one live worker process serves."""

    worker: int
    build: str | None  # the build folder's name, None while nothing is loaded
    refused: str | None  # the newest build it could not load
    reason: str


class JobStore:
    """The shared job table of one data folder; every call opens its own connection, so
    the event loop and the build threads may use one store."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / STORE_DIR
        self._owner: tuple[int, str, int] | None = None  # (pid, token, locked fd)
        self._owner_lock = threading.Lock()

    # ---- this process -------------------------------------------------------------

    @property
    def owner(self) -> str:
        """This process's token, its lock taken on first use (and again in a forked child,
        which must not pass for its parent)."""
        with self._owner_lock:
            if self._owner is None or self._owner[0] != os.getpid():
                if self._owner is not None:  # the parent's, inherited: not ours to keep alive
                    os.close(self._owner[2])
                token = uuid.uuid4().hex
                folder = self.root / OWNERS_DIR
                folder.mkdir(parents=True, exist_ok=True)
                fd = os.open(folder / f"{token}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                             0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._owner = (os.getpid(), token, fd)
            return self._owner[1]

    def alive(self, owner: str) -> bool:
        """Whether the process of `owner` still runs (it still holds its lock)."""
        if self._owner is not None and owner == self._owner[1] and self._owner[0] == os.getpid():
            return True
        path = self.root / OWNERS_DIR / f"{owner}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # (releases the lock just taken, if it was)
        path.unlink(missing_ok=True)  # its owner is gone: nobody will take it again
        return False

    # ---- jobs -----------------------------------------------------------------------

    def insert(self, job_id: str, state: str, body: dict[str, Any], max_active: int,
               kept: int, kind: str = "build") -> int:
        """Add a job unless `max_active` jobs of its kind of live processes are queued or
        running (checked and inserted in one transaction); forget finished ones beyond
        `kept`. Returns how many were active: the job was added when that is below
        `max_active`."""
        with self._db(immediate=True) as db:
            active = sum(self.alive(owner) for (owner,) in db.execute(
                "SELECT owner FROM jobs WHERE kind = ? AND state IN (?, ?)", (kind, *ACTIVE)))
            if active >= max_active:
                return active
            db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?)",
                       (job_id, kind, self.owner, time.time(), state, json.dumps(body)))
            db.execute("DELETE FROM jobs WHERE kind = ? AND state NOT IN (?, ?) AND job_id NOT "
                       "IN (SELECT job_id FROM jobs WHERE kind = ? AND state NOT IN (?, ?) "
                       "ORDER BY created DESC LIMIT ?)", (kind, *ACTIVE, kind, *ACTIVE, kept))
            return active

    def update(self, job_id: str, state: str, body: dict[str, Any]) -> None:
        with self._db() as db:
            db.execute("UPDATE jobs SET state = ?, body = ? WHERE job_id = ?",
                       (state, json.dumps(body), job_id))

    def get(self, job_id: str) -> tuple[str, str, dict[str, Any]] | None:
        """The job's owner token, state and body, or None."""
        if not (self.root / STORE_DB).exists():
            return None
        with self._db() as db:
            row = db.execute("SELECT owner, state, body FROM jobs WHERE job_id = ?",
                             (job_id,)).fetchone()
        return None if row is None else (row[0], row[1], json.loads(row[2]))

    def active(self, kind: str = "build") -> int:
        """How many jobs of `kind` live processes have queued or running."""
        if not (self.root / STORE_DB).exists():
            return 0
        with self._db() as db:
            rows = db.execute("SELECT owner FROM jobs WHERE kind = ? AND state IN (?, ?)",
                              (kind, *ACTIVE)).fetchall()
        return sum(self.alive(owner) for (owner,) in rows)

    @contextmanager
    def build_turn(self) -> Iterator[None]:
        """Wait for, then hold, the data folder's turn to build: one document job builds at
        a time across the worker processes (the build itself also takes index/store.py's
        build lock, which refuses rather than waits, as `wenda index` needs)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / TURN, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel if the process dies
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- workers --------------------------------------------------------------------

    def record_worker(self, worker: int, build: str | None, refused: str | None,
                      reason: str) -> None:
        """What this process serves now (after each load or refused load)."""
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?, ?, ?)",
                       (self.owner, worker, build, refused, reason, time.time()))

    def workers(self) -> list[WorkerRecord]:
        """The live workers of this data folder; rows of gone ones are deleted."""
        if not (self.root / STORE_DB).exists():
            return []
        with self._db() as db:
            rows = db.execute("SELECT owner, worker, build, refused, reason FROM workers "
                              "ORDER BY worker").fetchall()
            gone = [(r[0],) for r in rows if not self.alive(r[0])]
            db.executemany("DELETE FROM workers WHERE owner = ?", gone)
        dead = {g for (g,) in gone}
        return [WorkerRecord(r[1], r[2], r[3], r[4]) for r in rows if r[0] not in dead]

    @contextmanager
    def _db(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        self.root.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.root / STORE_DB, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # A job's state is not precious (the documents store's is): survive a crash of
            # the process, not necessarily of the machine, without an fsync per update.
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()
