"""API keys and the access groups they grant (WENDA_API_KEYS="key:groupA,groupB;key2:*"),
and the write permission (":write" after the groups: "admin:*:write") that adding and
removing documents needs."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.access import OPEN, Access
from service.errors import UnauthorizedError, error_response


@dataclass(frozen=True)
class KeyRing:
    """The configured keys; empty means the API is open (loopback use)."""

    keys: tuple[tuple[bytes, Access], ...] = ()

    def authenticate(self, authorization: str | None, api_key: str | None) -> Access:
        """The caller's access, from `Authorization: Bearer` or `X-API-Key`; 401 otherwise."""
        if not self.keys:
            return OPEN
        presented = api_key
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                presented = token.strip()
        if not presented:
            raise UnauthorizedError(
                "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key`")
        found = None
        candidate = presented.encode("utf-8")
        for key, access in self.keys:  # every key is compared, so timing tells nothing
            if hmac.compare_digest(key, candidate) and found is None:
                found = access
        if found is None:
            raise UnauthorizedError("the API key is not valid")
        return found


class RequireKey:
    """401 for a request under `prefix` without a valid key, before anything reads its body.

    The router's `get_access` dependency runs only after FastAPI has parsed and validated
    the body, so on its own a caller without a key would learn what its request got wrong
    (400 malformed JSON, 422, 413). This refuses it first; `get_access` still works out the
    access of the callers let through.
    """

    def __init__(self, app: ASGIApp, keyring: KeyRing, prefix: str) -> None:
        self.app, self.keyring, self.prefix = app, keyring, prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        path = path.removeprefix(scope.get("root_path", ""))  # as the router sees it
        if self.keyring.keys and (path == self.prefix or path.startswith(self.prefix + "/")):
            headers = Headers(scope=scope)
            try:
                self.keyring.authenticate(headers.get("authorization"), headers.get("x-api-key"))
            except UnauthorizedError as exc:
                await error_response(exc.status, exc.code, exc.message, exc.headers)(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)


def parse_api_keys(spec: str) -> KeyRing:
    """Read "key1:groupA,groupB;key2:*"; raise ValueError naming the bad entry (not the key)."""
    entries: list[tuple[bytes, Access]] = []
    seen: set[str] = set()
    for number, entry in enumerate((e.strip() for e in spec.split(";")), start=1):
        if not entry:
            continue
        key, colon, rest = entry.partition(":")
        groups_text, _, permissions = rest.partition(":")
        key = key.strip()
        if not colon or not key or permissions.strip() not in ("", "write"):
            raise ValueError(f"WENDA_API_KEYS entry {number} must look like key:group1,group2 "
                             "(or key:* for every document, key: for public ones only), "
                             "optionally with :write to let it add and remove documents")
        if key in seen:
            raise ValueError(f"WENDA_API_KEYS entry {number} repeats an earlier key")
        seen.add(key)
        groups = frozenset(g.strip() for g in groups_text.split(",") if g.strip())
        entries.append((key.encode("utf-8"), Access(None if "*" in groups else groups,
                                                    write=permissions.strip() == "write")))
    return KeyRing(tuple(entries))
