"""FastAPI dependencies: the settings, the loaded backend and the caller's access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from service.access import Access
from service.api.auth import KeyRing
from service.api.backend import Backend
from service.config import Settings
from service.errors import IndexNotLoadedError


@dataclass
class ServiceState:
    """What the app serves: settings and keys, fixed at start-up, and the loaded backend.

    Requests only read it. The lifespan and the index watcher (service/api/reload.py)
    change it, on the event loop only, so no request sees half an update. A reload replaces
    `backend` in one assignment: a request that already holds the old one finishes on it.
    """

    settings: Settings
    keyring: KeyRing
    backend: Backend | None = None
    not_ready: str = "the index is still loading"  # why there is no backend
    reload_error: str = ""  # why the newest published build is not the one being served
    worker: int = 1  # this process's number among `wenda serve --workers N`'s


def service_state(request: Request) -> ServiceState:
    state = request.app.state.wenda
    assert isinstance(state, ServiceState)
    return state


async def get_settings(request: Request) -> Settings:
    return service_state(request).settings


async def get_backend(request: Request) -> Backend:
    """The loaded backend, or 503 index_not_loaded with the reason."""
    state = service_state(request)
    if state.backend is None:
        raise IndexNotLoadedError(state.not_ready)
    return state.backend


async def get_access(
        request: Request,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
        x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None) -> Access:
    """The caller's access groups from its API key; 401 when keys are required and missing."""
    return service_state(request).keyring.authenticate(authorization, x_api_key)


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendDep = Annotated[Backend, Depends(get_backend)]
AccessDep = Annotated[Access, Depends(get_access)]
