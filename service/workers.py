"""`wenda serve --workers N`: N worker processes answering on one listening socket.

A question costs ~10 ms of Python, and Python runs one thread at a time (the GIL), so one
process answers on one CPU however many requests wait. N processes answer on N.

The supervisor (the process `wenda serve` starts) binds the socket, loads the model and the
published index once, then forks the workers. Each starts answering at once and shares the
loaded model and index with the others, copy-on-write: a page is copied only when a
process writes to it (`gc.freeze()` keeps the garbage collector from writing to every
object it would otherwise visit). A worker that loads a newer build (hot reload) holds that
one privately. Each worker then runs the whole app: its own index watcher, its own
`/readyz`; what they share lives in the data folder (documents store, feedback, the job
store of service/api/job_store.py).

The supervisor keeps the engine it loaded while that build is the published one (freeing it
would write to every page it frees, unsharing them): a worker that dies is forked again
from it and answers at once. Once a newer build is published the supervisor lets its copy
go, and a worker forked after that loads the published build itself. SIGTERM or SIGINT
stop the workers (each finishes the requests it holds, as uvicorn does), then the
supervisor. A worker whose start-up fails stops them all.

Fork is safe here because the supervisor forks before it starts any thread (checked) and
the query path runs numpy and FAISS with one thread each (no OpenMP pool to inherit).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import logging.config
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

from index.reader import IndexMismatchError, IndexMissingError
from service.access import Filters
from service.api.backend import Backend, EngineLoader
from service.api.reload import published_build
from service.config import Settings

log = logging.getLogger("wenda.workers")
RESTART_PAUSE_S = 1.0  # before forking a worker again, so a crash loop does not spin
WATCH_S = 1.0  # how often the supervisor looks at its workers and the published build
PR_SET_PDEATHSIG = 1  # prctl(2)
STARTUP_FAILED = 3  # a worker's exit status when its app did not start (as uvicorn's)
WARM_UP = ("商湯2023年的收入是多少？", "What was the revenue in 2023?")  # both paths


class Preloaded:
    """A worker's loader: first the backend the supervisor loaded, while its build is still
    the published one; then the supervisor's loader, whose model it shares."""

    def __init__(self, loader: EngineLoader, backend: Backend | None, build: str | None) -> None:
        self.loader, self.backend, self.build = loader, backend, build
        self._shared = backend is not None  # serving (or about to drop) the preloaded build

    @property
    def embedder(self) -> Any:  # the app builds document jobs with it
        return self.loader.embedder

    def __call__(self, settings: Settings) -> Backend:
        backend, self.backend = self.backend, None
        if backend is not None and published_build(settings.data_dir) == self.build:
            return backend
        if self._shared:
            # A newer build replaces the shared one: let the collector see the objects
            # frozen before the fork again, so the old build's reference cycles are freed.
            gc.unfreeze()
            self._shared = False
        return self.loader(settings)


def listening_socket(settings: Settings) -> socket.socket:
    """The socket every worker accepts on. IPPROTO_TCP is named, or asyncio leaves
    TCP_NODELAY unset on the connections it accepts (it checks the protocol number) and
    every reply waits 40 ms for a delayed ACK."""
    family, kind, proto, _, address = socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP,
        flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


class Supervisor:
    """Forks, watches and stops the workers of one `wenda serve --workers N`."""

    def __init__(self, settings: Settings, workers: int, log_config: dict[str, Any]) -> None:
        self.settings, self.count, self.log_config = settings, workers, log_config
        self.loader = EngineLoader()
        self.children: dict[int, int] = {}  # pid -> worker number
        self.stopping = False
        self.sock: socket.socket | None = None
        # the preloaded build, kept while it is the published one: pages the workers have
        # not written stay shared with it, and a worker that dies starts again at once
        self.backend: Backend | None = None
        self.build: str | None = None
        self.supervisor = os.getpid()

    def run(self) -> int:
        """Serve until told to stop; the exit status."""
        logging.config.dictConfig(self.log_config)
        self.sock = listening_socket(self.settings)
        self.backend, self.build = self._preload()
        if threading.active_count() > 1:  # a thread's locks would be copied held
            raise RuntimeError("the engine load left threads running; cannot fork workers")
        gc.freeze()
        log.info("starting %d workers on %s:%d", self.count, self.settings.host,
                 self.settings.port)
        for number in range(1, self.count + 1):
            self._fork(number)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        return self._watch()

    def _preload(self) -> tuple[Backend | None, str | None]:
        build = published_build(self.settings.data_dir)
        try:
            backend = self.loader(self.settings)
        except (IndexMissingError, IndexMismatchError) as exc:
            # each worker starts not ready and loads the build once one is published
            log.warning("no index to preload (%s): the workers load it when it is built", exc)
            return None, None
        if not self.settings.llm_base_url:  # (a generated answer would call the model)
            _warm(backend)
        return backend, build

    def _fork(self, number: int) -> None:
        loader = Preloaded(self.loader, self.backend, self.build)
        pid = os.fork()
        if pid:
            self.children[pid] = number
            return
        status = STARTUP_FAILED
        try:
            status = self._serve(number, loader)
        except BaseException:
            log.exception("worker %d failed", number)
        finally:
            logging.shutdown()
            os._exit(status)

    def _serve(self, number: int, loader: Preloaded) -> int:
        """A worker: the app over the shared socket, until uvicorn is told to stop."""
        import uvicorn

        from service.app import create_app
        from service.server import server_config

        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # uvicorn installs its own
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _end_with(self.supervisor)
        assert self.sock is not None
        app = create_app(self.settings, loader=loader, worker=number)
        server = uvicorn.Server(server_config(app, self.settings, log_config=self.log_config))
        server.run(sockets=[self.sock])
        return 0 if server.started else STARTUP_FAILED

    def _watch(self) -> int:
        status = 0
        while self.children:
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(WATCH_S)
                self._drop_stale()
                continue
            number = self.children.pop(pid, None)
            if number is None or self.stopping:
                continue
            exit_code = os.waitstatus_to_exitcode(code)
            if exit_code == STARTUP_FAILED:
                log.error("worker %d did not start: stopping the others", number)
                status = STARTUP_FAILED
                self._stop(signal.SIGTERM, None)
                continue
            log.warning("worker %d (pid %d) ended with status %d: starting it again", number,
                        pid, exit_code)
            time.sleep(RESTART_PAUSE_S)
            if not self.stopping:
                self._fork(number)
        return status

    def _drop_stale(self) -> None:
        """Let go of the preloaded build once a newer one is published: the workers load
        that one, and the old one's memory is freed when the last of them lets it go."""
        if self.backend is not None and published_build(self.settings.data_dir) != self.build:
            self.backend = None

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def _warm(backend: Backend) -> None:
    """Answer one question before the fork, so what the answer path builds on first use
    (OpenCC's converters, the caches of per-text work) is built once and shared, not by
    each worker on its first request."""
    try:
        for question in WARM_UP:
            backend.answer(question, 5, Filters(), "auto", [])
    except Exception:  # only the workers' first requests are slower for it
        log.warning("warming the engine up failed", exc_info=True)


def _end_with(supervisor: int) -> None:
    """Have the kernel send this worker SIGTERM when the supervisor ends, even by kill -9,
    so no worker is left holding the port (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != supervisor:  # it ended before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def serve_workers(settings: Settings, workers: int, log_config: dict[str, Any]) -> int:
    """Run `workers` worker processes of the app for `settings`; the exit status."""
    return Supervisor(settings, workers, log_config).run()
