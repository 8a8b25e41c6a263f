"""The built index on disk: chunk store (SQLite), manifest, and the atomic switch-over.

Layout of a data folder:
    data/index            -> builds/<build id>   (a symlink, replaced atomically)
    data/builds/<id>/     manifest.json, chunks.sqlite, and the search indexes
A build is written into a fresh folder and only then published, so a crash mid-build
leaves the previous index in place and loadable.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from index.rows import RowCache, checked_row
from index.types import (
    SCRIPTS,
    Cell,
    Chunk,
    Document,
    DocumentMeta,
    RowFact,
    Unit,
    check_script,
)

CURRENT = "index"
BUILDS = "builds"
KEEP_BUILDS = 2
LOCK = ".build.lock"


class BuildBusyError(ValueError):
    """Another build is writing to the same data folder."""


@contextmanager
def build_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data folder's build lock; raise BuildBusyError if another build holds it.

    With the lock held no other build is running, so any `.partial` folder left in
    builds/ is from a build that was killed: it is removed here, at the next build's start.
    The lock is the kernel's (flock), so it is released when a killed process dies.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildBusyError("another `wenda index` is building in this data folder; "
                                 "wait for it to finish") from None
        try:
            for partial in (data_dir / BUILDS).glob("*.partial"):
                shutil.rmtree(partial, ignore_errors=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

_SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, title_en TEXT,
    company TEXT, year INTEGER, doc_type TEXT, script TEXT NOT NULL, parallel TEXT,
    groups_json TEXT NOT NULL, aliases_json TEXT NOT NULL, page_starts_json TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id), ordinal INTEGER NOT NULL,
    script TEXT NOT NULL, section_json TEXT NOT NULL, page INTEGER,
    line_start INTEGER NOT NULL, line_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    text TEXT NOT NULL, clean TEXT NOT NULL, matching TEXT NOT NULL, kind TEXT NOT NULL,
    context TEXT NOT NULL, units_json TEXT NOT NULL
);
CREATE INDEX chunks_by_doc ON chunks(doc_id, ordinal);
"""


@dataclass(frozen=True)
class IndexManifest:
    """What built an index; the service refuses an index whose manifest does not fit it."""

    build_id: str
    created: str
    normaliser_version: str
    chunker: dict[str, int | str]
    corpus_hash: str
    documents: dict[str, str]  # doc_id -> sha256 of the source text
    model: str = ""
    dimension: int = 0
    dense_index: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def write(self, folder: Path) -> None:
        (folder / "manifest.json").write_text(
            json.dumps(asdict(self), ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> IndexManifest:
        path = folder / "manifest.json"
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}: not a readable index manifest ({exc})") from exc


def new_build_dir(data_dir: Path) -> Path:
    """A fresh, empty folder for a build that is not yet visible to readers (made while
    holding build_lock, which removes those of killed builds)."""
    now = time.time_ns()
    # Nanoseconds in the name keep builds in order even when two start in the same second.
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now / 1e9)) + f".{now % 10**9:09d}"
    folder = data_dir / BUILDS / f"{stamp}-{uuid.uuid4().hex[:8]}.partial"
    folder.mkdir(parents=True)
    return folder


def publish(build_dir: Path, data_dir: Path) -> Path:
    """Make a finished build the current index in one atomic rename, then tidy old ones."""
    final = build_dir.with_name(build_dir.name.removesuffix(".partial"))
    os.replace(build_dir, final)
    os.utime(final)  # the publish time orders builds for pruning, whatever their names
    _fsync_dir(final.parent)
    link = data_dir / CURRENT
    temp_link = data_dir / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    os.symlink(Path(BUILDS) / final.name, temp_link)
    os.replace(temp_link, link)
    _fsync_dir(data_dir)
    _prune(data_dir / BUILDS, keep=final.name)
    return final


def current_index(data_dir: Path) -> Path | None:
    """The folder of the published index, or None when nothing was built yet."""
    link = data_dir / CURRENT
    return link.resolve() if link.exists() else None


def _prune(builds: Path, keep: str) -> None:
    finished = sorted((p for p in builds.iterdir() if not p.name.endswith(".partial")),
                      key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in finished[:-KEEP_BUILDS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- the chunk store -----------------------------------------------------------------

def write_chunk_store(path: Path, documents: Iterable[tuple[Document, str]],
                      chunks: Iterable[Chunk]) -> None:
    """Write documents (with their text hashes) and chunks to a new SQLite file at once."""
    if path.exists():
        raise ValueError(f"{path}: refusing to overwrite an existing chunk store")
    con = sqlite3.connect(path)
    try:
        with con:
            con.executescript(_SCHEMA)
            con.executemany(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                ((d.doc_id, d.source, d.meta.title, d.meta.title_en, d.meta.company,
                  d.meta.year, d.meta.doc_type, d.script, d.meta.parallel,
                  json.dumps(list(d.meta.groups)),
                  json.dumps(list(d.meta.aliases), ensure_ascii=False),
                  json.dumps(list(d.page_starts)), sha, d.text)
                 for d, sha in documents))
            con.executemany(
                "INSERT INTO chunks (chunk_id, doc_id, ordinal, script, section_json, page,"
                " line_start, line_end, char_start, char_end, text, clean, matching, kind,"
                " context, units_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                # a generator: each row's JSON is made as it is written, not all at once
                ((c.chunk_id, c.doc_id, c.ordinal, c.script, json.dumps(list(c.section),
                  ensure_ascii=False), c.page, c.line_start, c.line_end, c.char_start,
                  c.char_end, c.text, c.clean, c.matching, c.kind, c.context,
                  units_json(c.units)) for c in chunks))
    finally:
        con.close()


CHUNK_CACHE = 2048  # chunks kept as objects (~19 KB each): a query reads its top few


class _Reader:
    """One read-only connection to a chunk store, shared by the server's threads: a lock
    around each statement keeps it simple to reason about (a row is read in microseconds,
    and the caches above it answer most reads)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._open()

    def _open(self) -> None:
        self._con = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True,
                                    check_same_thread=False)
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _connection(self) -> sqlite3.Connection:
        # A worker forked after the index loaded (service/workers.py) opens its own: an
        # SQLite connection must not be used on both sides of a fork.
        if self._pid != os.getpid():
            self._open()
        return self._con

    def all(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        con = self._connection()
        with self._lock:
            return con.execute(sql, parameters).fetchall()

    def batches(self, sql: str, size: int = 2000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of `sql` in batches, the lock held for one batch at a time."""
        cursor = None
        con = self._connection()
        while True:
            with self._lock:
                if cursor is None:
                    cursor = con.execute(sql)
                batch = cursor.fetchmany(size)
            if not batch:
                return
            yield batch


@dataclass(frozen=True)
class RowColumns:
    """What every query needs of every row, as arrays rather than objects: the document
    (as its position in `doc_ids`, which are sorted, so codes order as the ids do), the
    ordinal within it, the script (position in SCRIPTS) and the number of units."""

    doc_ids: tuple[str, ...]
    doc: np.ndarray  # int32
    ordinal: np.ndarray  # int32
    script: np.ndarray  # int8
    units: np.ndarray  # int32

    def doc_id(self, row: int) -> str:
        return self.doc_ids[self.doc[row]]

    def of_documents(self, doc_ids: Collection[str]) -> np.ndarray:
        """A mask of the rows of these documents."""
        wanted = np.array([d in doc_ids for d in self.doc_ids], dtype=bool)
        return wanted[self.doc] if len(self.doc) else np.zeros(0, dtype=bool)

    def of_scripts(self, scripts: Collection[str]) -> np.ndarray:
        """A mask of the rows in these scripts."""
        wanted = np.array([s in scripts for s in SCRIPTS], dtype=bool)
        return wanted[self.script] if len(self.script) else np.zeros(0, dtype=bool)


class ChunkTable(Sequence[Chunk]):
    """The chunks of a store by row (0-based), read from SQLite when asked for: a million
    passages held as objects would take ~19 GB. The last CHUNK_CACHE read are kept."""

    def __init__(self, reader: _Reader, size: int, cache: int = CHUNK_CACHE) -> None:
        self._reader, self._size = reader, size
        self._cache: RowCache[Chunk] = RowCache(cache)

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return self.many(range(*row.indices(self._size)))
        row = checked_row(row, self._size, "chunk")
        chunk = self._cache.get(row)
        if chunk is None:
            chunk = _chunk(self._reader.all("SELECT * FROM chunks WHERE row = ?", (row + 1,))[0])
            self._cache.keep(row, chunk)
        return chunk

    def many(self, rows: Iterable[int]) -> list[Chunk]:
        """The chunks of `rows`, in that order, the missing ones read in one statement."""
        wanted = [int(r) for r in rows]
        have = self._cache.held(wanted)
        missing = sorted(set(wanted) - set(have))
        for start in range(0, len(missing), 500):  # SQLite binds at most 999 parameters
            part = missing[start:start + 500]
            for found in self._reader.all(
                    f"SELECT * FROM chunks WHERE row IN ({','.join('?' * len(part))})",
                    [r + 1 for r in part]):
                chunk = _chunk(found)
                have[int(found[0]) - 1] = chunk
                self._cache.keep(int(found[0]) - 1, chunk)
        return [have[r] for r in wanted]

    def __iter__(self) -> Iterator[Chunk]:
        """Every chunk in row order, streamed (not cached: a pass over all rows would only
        push out the ones queries use)."""
        for batch in self._reader.batches("SELECT * FROM chunks ORDER BY row"):
            yield from (_chunk(found) for found in batch)

    def texts(self, name: str, rows: Sequence[int]) -> list[str]:
        """One text column of `rows`, in that order, without making chunk objects for the
        rows not cached (a query reads the matching form of every passage it fuses)."""
        if name not in _TEXT_COLUMNS:
            raise ValueError(f"{name!r} is not a text column of the chunk store")
        found = {row: str(getattr(chunk, name))
                 for row, chunk in self._cache.held(int(r) for r in rows).items()}
        missing = sorted({int(r) for r in rows} - set(found))
        for start in range(0, len(missing), 500):  # SQLite binds at most 999 parameters
            part = missing[start:start + 500]
            found.update((int(row) - 1, str(value)) for row, value in self._reader.all(
                f"SELECT row, {name} FROM chunks WHERE row IN ({','.join('?' * len(part))})",
                [r + 1 for r in part]))
        return [found[int(r)] for r in rows]

    def column(self, name: str) -> Iterator[tuple[int, str]]:
        """(row, value) of one text column of every chunk, in row order, without making
        chunk objects."""
        if name not in _TEXT_COLUMNS:
            raise ValueError(f"{name!r} is not a text column of the chunk store")
        for batch in self._reader.batches(f"SELECT row, {name} FROM chunks ORDER BY row"):
            yield from ((int(row) - 1, str(value)) for row, value in batch)


_TEXT_COLUMNS = ("chunk_id", "doc_id", "text", "clean", "matching", "context")


class ChunkRows(Mapping[str, int]):
    """chunk_id -> row, looked up in the store's unique index rather than held as a dict."""

    def __init__(self, reader: _Reader, size: int) -> None:
        self._reader, self._size = reader, size

    def __getitem__(self, chunk_id: str) -> int:
        found = self._reader.all("SELECT row FROM chunks WHERE chunk_id = ?", (chunk_id,))
        if not found:
            raise KeyError(chunk_id)
        return int(found[0][0]) - 1

    def __iter__(self) -> Iterator[str]:
        for batch in self._reader.batches("SELECT chunk_id FROM chunks ORDER BY row"):
            yield from (str(c) for (c,) in batch)

    def __len__(self) -> int:
        return self._size


class ChunkStore:
    """Read access to a chunk store; chunks are addressed by their row (0-based) and read
    on demand (`chunks`), with the per-row columns every query needs held as arrays."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ValueError(f"{path}: no chunk store here")
        self.path = path
        try:
            self._reader = _Reader(path)
            self.documents: dict[str, Document] = {
                row[0]: _document(row) for row in self._reader.all("SELECT * FROM documents")}
            self.hashes: dict[str, str] = dict(
                self._reader.all("SELECT doc_id, sha256 FROM documents"))
            self.columns = self._columns()
        except sqlite3.Error as exc:
            raise ValueError(f"{path}: not a readable chunk store ({exc})") from exc
        self.chunks = ChunkTable(self._reader, len(self.columns.doc))
        self.by_id = ChunkRows(self._reader, len(self.columns.doc))

    def _columns(self) -> RowColumns:
        doc_ids = tuple(sorted(self.documents))
        code = {d: i for i, d in enumerate(doc_ids)}
        scripts = {s: i for i, s in enumerate(SCRIPTS)}
        doc, ordinal, script, units = [], [], [], []
        expected = 1
        for batch in self._reader.batches(
                "SELECT row, doc_id, ordinal, script, json_array_length(units_json)"
                " FROM chunks ORDER BY row", size=20_000):
            for row, doc_id, number, name, count in batch:
                if row != expected or doc_id not in code or name not in scripts:
                    raise ValueError(f"chunk row {row} does not follow row {expected - 1}, "
                                     "or names an unknown document or script")
                expected += 1
                doc.append(code[doc_id])
                ordinal.append(number)
                script.append(scripts[name])
                units.append(count)
        return RowColumns(doc_ids, np.array(doc, dtype=np.int32),
                          np.array(ordinal, dtype=np.int32), np.array(script, dtype=np.int8),
                          np.array(units, dtype=np.int32))

    def __len__(self) -> int:
        return len(self.chunks)


def _chunk(row: tuple[object, ...]) -> Chunk:
    (_, chunk_id, doc_id, ordinal, script, section, page, line_start, line_end, char_start,
     char_end, text, clean, matching, kind, context, units) = row
    return Chunk(
        chunk_id=str(chunk_id), doc_id=str(doc_id), ordinal=int(ordinal),  # type: ignore[call-overload]
        script=check_script(str(script)), section=tuple(json.loads(str(section))),
        page=page if isinstance(page, int) else None, line_start=int(line_start),  # type: ignore[call-overload]
        line_end=int(line_end), char_start=int(char_start), char_end=int(char_end),  # type: ignore[call-overload]
        text=str(text), clean=str(clean), matching=str(matching),
        kind="table" if kind == "table" else "text", context=str(context),
        units=read_units(str(units)),
    )


# Units as compact JSON lists: [kind, start, end, page, header, tokens, row, page_end,
# section, section_page] with a row as
# [label, group, unit, [[text, start, end, period, year, column, half], ...], dimension].
def units_json(units: Iterable[Unit]) -> str:
    return json.dumps([[u.kind, u.start, u.end, u.page, list(u.header) if u.header else None,
                        list(u.tokens), _row_json(u.row), u.page_end, list(u.section),
                        u.section_page] for u in units],
                      ensure_ascii=False,
                      separators=(",", ":"))


def _row_json(row: RowFact | None) -> list[object] | None:
    if row is None:
        return None
    return [row.label, row.group, row.unit,
            [[c.text, c.start, c.end, c.period, c.year, c.column, c.half] for c in row.cells],
            row.dimension]


def read_units(text: str) -> tuple[Unit, ...]:
    out = []
    for (kind, start, end, page, header, tokens, row, page_end, section,
         section_page) in json.loads(text):
        fact = None if row is None else RowFact(row[0], row[1], row[2], tuple(
            Cell(*c) for c in row[3]), row[4])
        out.append(Unit(kind=kind, start=start, end=end, page=page,
                        header=(header[0], header[1]) if header else None,
                        row=fact, tokens=tuple(tokens), page_end=page_end,
                        section=tuple(section), section_page=section_page))
    return tuple(out)


def _document(row: tuple[object, ...]) -> Document:
    (doc_id, source, title, title_en, company, year, doc_type, script, parallel, groups,
     aliases, page_starts, _sha, text) = row
    meta = DocumentMeta(
        doc_id=str(doc_id), title=str(title), title_en=str(title_en or ""),
        company=str(company or ""), year=year if isinstance(year, int) else None,
        doc_type=str(doc_type or ""), script=check_script(str(script)),
        parallel=str(parallel) if parallel else None,
        groups=tuple(json.loads(str(groups))),
        aliases=tuple(json.loads(str(aliases))),
    )
    return Document(meta=meta, source=str(source), text=str(text), script=meta.script or "en",
                    page_starts=tuple(json.loads(str(page_starts))))
