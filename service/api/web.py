"""The page at GET / (its script GET /app.js) and the embeddable GET /widget.js, served as
files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from service.errors import WendaError


class UnknownAssetError(WendaError):
    status, code = 404, "not_found"


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


@router.get("/docs")
async def api_docs() -> HTMLResponse:
    """Swagger UI from the swagger-ui-bundle package, served by this server: /docs works
    offline and loads nothing from a CDN."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Wenda (問答) API",
                               swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                               swagger_css_url="/docs-assets/swagger-ui.css",
                               swagger_favicon_url="/docs-assets/favicon-32x32.png")


_SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


@router.get("/docs-assets/{name}")
async def api_docs_asset(name: str) -> FileResponse:
    if name not in _SWAGGER_FILES:  # only these, never a path the caller makes up
        raise UnknownAssetError(f"no {name!r} here")
    from swagger_ui_bundle import swagger_ui_path

    return FileResponse(Path(swagger_ui_path) / name, headers={"Cache-Control": "max-age=86400"})


@router.get("/app.js")
async def app_script() -> FileResponse:
    return FileResponse(STATIC / "app.js", media_type="text/javascript; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-cache"})


@router.get("/widget.js")
async def widget() -> FileResponse:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-cache"})
