"""GET /healthz (the process is up) and GET /readyz (the index and model are loaded)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.access import visible
from service.api.deps import service_state
from service.errors import IndexNotLoadedError, UnauthorizedError

router = APIRouter(tags=["health"])
NOT_READY = "not ready"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "the index is not loaded"}})
async def readyz(request: Request) -> dict[str, str | int]:
    """200 once the index and model are loaded; 503 index_not_loaded otherwise.

    Where API keys are set, a caller without a valid key learns only ready or not ready.
    With one (or with no keys set), the reply names the build served (`index`), the model,
    how many documents the caller may read, `worker` (which process answered, under
    `wenda serve --workers N`), and `reload_error` when a newer published build could not
    be loaded; a 503 says why. Each worker answers for itself: it loads and reloads its own.
    """
    state = service_state(request)
    try:
        access = state.keyring.authenticate(request.headers.get("authorization"),
                                            request.headers.get("x-api-key"))
    except UnauthorizedError:
        access = None
    backend = state.backend
    if backend is None:
        raise IndexNotLoadedError(state.not_ready if access is not None else NOT_READY)
    if access is None:
        return {"status": "ready"}
    description = backend.description
    problem = {"reload_error": state.reload_error} if state.reload_error else {}
    # which of `wenda serve --workers N`'s processes answered (each loads and reloads its own)
    worker = {"worker": state.worker} if state.settings.workers > 1 else {}
    return {"status": "ready", "index": description["index"], "model": description["model"],
            "documents": len(visible(backend.documents, access.filters())), **worker,
            **problem}
