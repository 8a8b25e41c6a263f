"""GET /healthz (the process is up) and GET /readyz (the index and model are loaded)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.api.deps import service_state
from service.errors import IndexNotLoadedError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "the index is not loaded"}})
async def readyz(request: Request) -> dict[str, str | int]:
    """200 once the index and model are loaded, naming the build served (`index`), with
    `reload_error` when a newer published build could not be loaded; 503 index_not_loaded
    with the reason."""
    state = service_state(request)
    backend = state.backend
    if backend is None:
        raise IndexNotLoadedError(state.not_ready)
    problem = {"reload_error": state.reload_error} if state.reload_error else {}
    return {"status": "ready", **backend.description, **problem}
