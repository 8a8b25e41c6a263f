"""The FastAPI application: settings, the once-loaded engine, error handling and routers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from importlib import metadata
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import ask, chat, documents, evaluation, feedback, health, library, web
from service.api.auth import RequireKey, parse_api_keys
from service.api.backend import Backend, EngineBackend, EngineLoader
from service.api.deps import ServiceState, get_access
from service.api.eval_jobs import EvalJobs
from service.api.guards import CrossSiteWrites, SecurityHeaders, TrustedHosts, trusted_hosts
from service.api.job_store import JobStore
from service.api.reload import IndexWatcher, published_build
from service.config import Settings, get_settings
from service.engine import Engine
from service.errors import error_response, install_error_handlers
from service.schemas import MAX_QUESTION, MAX_TOP_K, ErrorResponse

Loader = Callable[[Settings], Backend]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# Documented on every /v1 route: the shape all of them answer errors in.
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description} for status, description in (
        (400, "malformed JSON"), (401, "missing or wrong API key"), (404, "unknown document"),
        (422, "invalid request"), (503, "index not loaded"))}


def create_app(settings: Settings | None = None, engine: Engine | Backend | None = None,
               loader: Loader | None = None, worker: int = 1) -> FastAPI:
    """The Wenda API. Without `engine`, `loader` (default: the real engine) starts one for
    `settings` in the lifespan, and the app then follows `wenda index`: every
    WENDA_RELOAD_SECONDS it loads a newly published build. An `engine` handed in is served
    as it is; whoever made it owns it.

    `worker` numbers this process among `wenda serve --workers N`'s (service/workers.py).

    Raises ValueError for unusable settings (such as a malformed WENDA_API_KEYS), so the
    service stops at start-up instead of serving with the wrong access rules.
    """
    settings = settings or get_settings()
    state = ServiceState(settings, parse_api_keys(settings.api_keys), worker=worker)
    if engine is not None:
        state.backend = EngineBackend(engine) if isinstance(engine, Engine) else engine
    # One loader per app: it keeps the app's embedding model across reloads.
    # /docs is served by service/api/web.py from a package, not from a CDN
    app = FastAPI(title="Wenda (問答)", version=_version(), docs_url=None, redoc_url=None,
                  lifespan=_lifespan(state, loader or EngineLoader()),
                  description="Cited answers from Traditional Chinese, Simplified Chinese and "
                              "English company filings.")
    app.state.wenda = state
    store = JobStore(settings.data_dir)  # what the worker processes share of jobs
    app.state.eval_jobs = EvalJobs(on_change=evaluation.share_jobs(store))
    app.state.build_jobs = library.BuildJobs(store)
    app.state.loader = loader
    install_error_handlers(app)
    # Middleware runs outermost last-added first: the Host check, headers on everything
    # (errors included), CORS, the cross-site guard, the key, then the body size.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes,
                       documents_bytes=settings.max_document_bytes)
    # Outside the size limit: a caller without a key hears 401, not how big a body may be.
    app.add_middleware(RequireKey, keyring=state.keyring, prefix="/v1")
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    app.add_middleware(CrossSiteWrites, origins=frozenset(origins))
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins,
                           allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])
    app.add_middleware(SecurityHeaders, private_prefixes=("/v1", "/readyz"))
    app.add_middleware(TrustedHosts, allowed=trusted_hosts(settings))
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(get_access)], responses=_ERRORS)
    for router in (ask.router, documents.router, library.router, chat.router,
                   evaluation.router, feedback.router):
        v1.include_router(router)
    app.include_router(v1)
    app.include_router(health.router)
    app.include_router(web.router)
    _declare_limits(app, settings)
    return app


def _declare_limits(app: FastAPI, settings: Settings) -> None:
    """Write this server's settings into its OpenAPI schema where the models mark a limit
    (service.schemas.MAX_QUESTION, MAX_TOP_K), so the schema declares what is enforced."""
    generate = app.openapi
    limits = {MAX_QUESTION: ("maxLength", settings.max_question_chars),
              MAX_TOP_K: ("maximum", settings.max_top_k)}

    def visit(node: object) -> None:
        if isinstance(node, dict):
            for marker, (keyword, value) in limits.items():
                if node.pop(marker, None):
                    node[keyword] = value
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            visit(generate())  # generate() caches the schema it returns in app.openapi_schema
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _lifespan(state: ServiceState, loader: Loader) -> Lifespan:
    """Start-up loads the backend, unless one was handed in, and starts watching for new
    builds; shutdown stops the watcher and the evaluation jobs, waiting for their threads."""
    settings = state.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watcher, watching = None, None
        if state.backend is None:
            watcher = IndexWatcher(state, partial(loader, settings),
                                   partial(published_build, settings.data_dir),
                                   partial(_record_served, state, app.state.build_jobs.store))
            await watcher.start()
            app.state.watcher = watcher  # document jobs ask it to serve their build
            app.state.embedder = getattr(loader, "embedder", None)  # and build with its model
            await library.resume_unfinished(app)
            if settings.reload_seconds > 0:
                watching = asyncio.create_task(watcher.watch(settings.reload_seconds))
        try:
            yield
        finally:
            if watcher is not None and watching is not None:
                watcher.stop()
                await watching
            await run_in_threadpool(app.state.eval_jobs.close)

    return lifespan


def _record_served(state: ServiceState, store: JobStore, refused: str | None,
                   reason: str) -> None:
    """Record in the job store the build this worker serves (after each load), so a
    document job is done when every worker serves its build."""
    backend = state.backend
    build = str(backend.description.get("index")) if backend is not None else None
    store.record_worker(state.worker, build, refused, reason)


class BodySizeLimit:
    """413 payload_too_large for a request body over the limit, declared or streamed; a
    document upload (POST or PUT under /v1/documents) has a limit of its own."""

    def __init__(self, app: ASGIApp, max_bytes: int, documents_bytes: int = 0) -> None:
        self.app, self.max_bytes, self.documents_bytes = app, max_bytes, documents_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if self.documents_bytes and scope["method"] in ("POST", "PUT") and scope.get(
                "path", "").startswith("/v1/documents"):
            limit = self.documents_bytes
        too_large = f"the request body is over the limit of {limit:,} bytes"
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await error_response(413, "payload_too_large", too_large)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:  # a chunked body with no declared length
                raise StarletteHTTPException(413, too_large)
            return message

        await self.app(scope, counted, send)


def _version() -> str:
    try:
        return metadata.version("wenda")
    except metadata.PackageNotFoundError:
        return "0"
