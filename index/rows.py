"""What the loaded index's row-keyed sequences share (the chunk table, the token sets): a
row number checked once, and a bounded cache of the values made for rows, used from the
server's threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def checked_row(row: int, size: int, what: str) -> int:
    """`row` as a row of a sequence of `size` (negative rows count from the end); raises
    IndexError naming `what` outside it."""
    row = int(row)
    if row < 0:
        row += size
    if not 0 <= row < size:
        raise IndexError(f"{what} row {row} out of range (0..{size - 1})")
    return row


class RowCache(Generic[T]):
    """The values made for the last `capacity` rows asked for; the least recently used
    goes first. Safe to share across threads."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._values: OrderedDict[int, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, row: int) -> T | None:
        with self._lock:
            value = self._values.get(row)
            if value is not None:
                self._values.move_to_end(row)
            return value

    def held(self, rows: Iterable[int]) -> dict[int, T]:
        """Those of `rows` held, without counting them as used."""
        with self._lock:
            return {r: self._values[r] for r in rows if r in self._values}

    def keep(self, row: int, value: T) -> None:
        with self._lock:
            self._values[row] = value
            self._values.move_to_end(row)
            while len(self._values) > self._capacity:
                self._values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[int]:
        """The rows held, least recently used first."""
        with self._lock:
            return iter(list(self._values))
