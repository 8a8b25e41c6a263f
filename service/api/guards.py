"""Browser-facing safety, before any route runs: trusted Host names (DNS rebinding),
no cross-site writes, and security headers on every response."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.errors import error_response

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_WILDCARD = frozenset({"0.0.0.0", "::", ""})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def trusted_hosts(settings: Settings) -> frozenset[str] | None:
    """The Host names this server answers to; None: any.

    WENDA_ALLOWED_HOSTS lists them ("*": any). Unset, a server on a loopback or a named
    address answers to that address and the loopback names only, so a page whose domain
    is re-pointed at 127.0.0.1 (DNS rebinding) is refused; one listening on every address
    (0.0.0.0) cannot know its names and answers to any, and `wenda serve` warns about it.
    """
    listed = {h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip()}
    if "*" in listed:
        return None
    if listed:
        return frozenset(listed)
    host = settings.host.strip().lower().strip("[]")
    return None if host in _WILDCARD else LOOPBACK | {host}


def host_name(header: str) -> str:
    """The name in a Host header, without its port: "[::1]:8000" -> "::1"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class TrustedHosts:
    """400 invalid_host for a request whose Host header names another server."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.allowed is not None:
            host = Headers(scope=scope).get("host", "")
            if host_name(host) not in self.allowed:
                await error_response(400, "invalid_host", f"this server does not answer to the "
                                     f"host {host[:100]!r}; its names are set by "
                                     "WENDA_ALLOWED_HOSTS")(scope, receive, send)
                return
        await self.app(scope, receive, send)


class CrossSiteWrites:
    """403 cross_site_request for a POST, PUT or DELETE that a page of another site sent.

    Browsers name the page's origin on every such request (`Origin`, and `Sec-Fetch-Site`),
    and a plain HTML form or a no-cors fetch can send one without asking first, so an open
    (keyless) server on a laptop would otherwise start evaluation jobs, or later take
    uploads, for any web page its user visits. Requests from this server's own page, from
    the origins in WENDA_CORS_ORIGINS, and from programs (no Origin header) pass.
    """

    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self.app, self.origins = app, origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
            cross = (origin is not None and origin != own and origin not in self.origins) or (
                origin is None and headers.get("sec-fetch-site") == "cross-site")
            if cross:
                await error_response(403, "cross_site_request", "requests that change or start "
                                     "something are not accepted from other sites' pages; "
                                     "allow a portal with WENDA_CORS_ORIGINS")(scope, receive,
                                                                              send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """nosniff on every response; API answers (which depend on the caller's key) are never
    cached or framed."""

    def __init__(self, app: ASGIApp, private_prefixes: tuple[str, ...]) -> None:
        self.app, self.private = app, private_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope.get("path", "").startswith(self.private)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers.setdefault("Referrer-Policy", "no-referrer")
                if private:
                    headers["Cache-Control"] = "no-store"
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, with_headers)
