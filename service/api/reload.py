"""Hot reload: serving the build `wenda index` publishes, without a restart."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from index.reader import IndexMismatchError, IndexMissingError
from index.store import current_index
from service.api.backend import Backend
from service.api.deps import ServiceState

log = logging.getLogger("wenda.api")


def published_build(data_dir: Path) -> str | None:
    """The folder `data/index` points at now, or None before the first build (cheap)."""
    folder = current_index(data_dir)
    return None if folder is None else str(folder)


def public_reason(message: str, data_dir: Path) -> str:
    """A load failure as clients may read it: paths of the data folder (the host's file
    system) replaced by what they are relative to it."""
    for root in sorted({str(data_dir.resolve()), str(data_dir.absolute())}, key=len,
                       reverse=True):
        message = message.replace(root + "/", "").replace(root, "the data folder")
    return message


class IndexWatcher:
    """Keeps the state's backend on the published build.

    `published` names the build on disk; `load` opens it (slow, so it runs in a worker
    thread) and always opens whatever is published when it runs. The name is read before
    loading, so a build published during a load is loaded by the next check: none is missed,
    at worst one is loaded twice. All state changes happen on the event loop.
    """

    def __init__(self, state: ServiceState, load: Callable[[], Backend],
                 published: Callable[[], str | None],
                 served: Callable[[str | None, str], None] | None = None) -> None:
        self.state, self.load, self.published = state, load, published
        # told (in a worker thread) the build refused, if one was, and why, after each
        # load: the worker processes record there what each serves (service/api/job_store.py)
        self.served = served
        self.data_dir = state.settings.data_dir
        self.seen: str | None = None  # the published build last loaded, or tried
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        """The start-up load. A missing or refused index leaves the service running but not
        ready; any other failure (bad settings) propagates, so the service stops."""
        self.seen = await run_in_threadpool(self.published)
        try:
            backend = await run_in_threadpool(self.load)
        except (IndexMissingError, IndexMismatchError) as exc:
            log.warning("not ready: %s", exc)
            self.state.not_ready = public_reason(str(exc), self.data_dir)
            await self._tell(None, self.state.not_ready)
            return
        self._serve(backend)
        await self._tell(None, "")

    async def check(self) -> bool:
        """Load the published build if it changed since the last look; True when swapped.

        A build that fails to load is logged and reported (`reload_error`, or the 503
        reason when nothing is served yet), and not tried again until another is published.
        """
        published = await run_in_threadpool(self.published)
        if published is None or published == self.seen:
            return False
        self.seen = published
        try:
            backend = await run_in_threadpool(self.load)
        except Exception as exc:  # a broken build must never take the served one down
            self._refuse(published, exc)
            await self._tell(Path(published).name, self.state.reload_error or
                             self.state.not_ready)
            return False
        self._serve(backend)
        await self._tell(None, "")
        return True

    async def _tell(self, refused: str | None, reason: str) -> None:
        if self.served is None:
            return
        try:
            await run_in_threadpool(self.served, refused, reason)
        except (OSError, sqlite3.Error) as exc:  # a read-only data folder, say: it serves on
            log.warning("index watcher: could not record the build served: %s", exc)

    async def watch(self, interval: float) -> None:
        """Check every `interval` seconds until `stop()`. A load under way is finished first,
        not cancelled: its worker thread could not be stopped, only abandoned."""
        while True:
            try:
                await asyncio.wait_for(self._stopped.wait(), interval)
                return
            except TimeoutError:
                pass  # time for the next check
            try:
                await self.check()
            except Exception:  # e.g. the data folder unreadable for a moment: try again later
                log.exception("index watcher: could not check for a new build")

    def stop(self) -> None:
        self._stopped.set()

    def _serve(self, backend: Backend) -> None:
        previous = self.state.backend
        self.state.backend = backend  # one assignment: requests holding `previous` finish on it
        self.state.reload_error = ""
        if previous is None:
            log.info("ready: %s", backend.description)
        else:
            log.info("reloaded: %s (was %s)", backend.description,
                     previous.description.get("index"))

    def _refuse(self, published: str, exc: Exception) -> None:
        # Our own errors (ValueError and kin) name the problem for the reader of /readyz;
        # anything else is a bug or a damaged file: a trace in the log, no details outside.
        ours = isinstance(exc, ValueError)
        reason = public_reason(str(exc), self.data_dir) if ours else (
            f"{type(exc).__name__}; the server log has the details")
        build = Path(published).name
        if self.state.backend is None:
            log.error("not ready: cannot load build %s: %s", build, exc, exc_info=not ours)
            self.state.not_ready = f"cannot load build {build}: {reason}"
            return
        served = self.state.backend.description.get("index")
        log.error("reload failed, still serving %s: cannot load build %s: %s", served, build,
                  exc, exc_info=not ours)
        self.state.reload_error = f"cannot load build {build}: {reason}"
