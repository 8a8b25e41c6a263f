"""Bounded memos of the pure text functions every request repeats on the same passages.

A retrieved unit's display form, matching form, figures and clauses are read again for
every question that retrieves it. Each memo is keyed by the whole text it reads and holds
nothing else, so a result can never be stale: a reloaded index with changed text asks with
new keys, and the old entries age out of the bound.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

# Entries per memo: about the units a few hundred distinct questions retrieve (60 each);
# at a few hundred characters a unit, a memo stays within a few MiB.
TEXTS = 16_384

F = TypeVar("F", bound=Callable[..., Any])
_memos: list[Any] = []


def memo(function: F) -> F:
    """`function` remembered for its last TEXTS distinct arguments (it must be pure, and
    its result never changed by callers)."""
    remembered = lru_cache(maxsize=TEXTS)(function)
    _memos.append(remembered)
    return remembered  # type: ignore[return-value]


def clear() -> None:
    """Forget every memo (tests, and a measure of the cold cost)."""
    for remembered in _memos:
        remembered.cache_clear()
