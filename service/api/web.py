"""The small search page at GET / and the embeddable GET /widget.js, served as files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
# The page loads only its own script and talks only to this server.
_PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
                "frame-ancestors 'self'")

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": _PAGE_POLICY,
                                 "X-Content-Type-Options": "nosniff"})


@router.get("/widget.js")
async def widget() -> FileResponse:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-cache"})
