"""API keys and the access groups they grant (WENDA_API_KEYS="key:groupA,groupB;key2:*")."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from index.types import DocumentMeta
from service.errors import UnauthorizedError


@dataclass(frozen=True)
class Access:
    """What one caller may read: documents of these groups and public ones; None: all."""

    groups: frozenset[str] | None = None

    def can_read(self, meta: DocumentMeta) -> bool:
        return self.groups is None or not meta.groups or bool(self.groups & set(meta.groups))


OPEN = Access()


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


def parse_api_keys(spec: str) -> KeyRing:
    """Read "key1:groupA,groupB;key2:*"; raise ValueError naming the bad entry (not the key)."""
    entries: list[tuple[bytes, Access]] = []
    seen: set[str] = set()
    for number, entry in enumerate((e.strip() for e in spec.split(";")), start=1):
        if not entry:
            continue
        key, colon, groups_text = entry.partition(":")
        key = key.strip()
        if not colon or not key:
            raise ValueError(f"WENDA_API_KEYS entry {number} must look like key:group1,group2 "
                             "(or key:* for every document, key: for public ones only)")
        if key in seen:
            raise ValueError(f"WENDA_API_KEYS entry {number} repeats an earlier key")
        seen.add(key)
        groups = frozenset(g.strip() for g in groups_text.split(",") if g.strip())
        entries.append((key.encode("utf-8"), Access(None if "*" in groups else groups)))
    return KeyRing(tuple(entries))
