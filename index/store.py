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
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.types import Cell, Chunk, Document, DocumentMeta, RowFact, Unit, check_script

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
                [(d.doc_id, d.source, d.meta.title, d.meta.title_en, d.meta.company,
                  d.meta.year, d.meta.doc_type, d.script, d.meta.parallel,
                  json.dumps(list(d.meta.groups)),
                  json.dumps(list(d.meta.aliases), ensure_ascii=False),
                  json.dumps(list(d.page_starts)), sha, d.text)
                 for d, sha in documents])
            con.executemany(
                "INSERT INTO chunks (chunk_id, doc_id, ordinal, script, section_json, page,"
                " line_start, line_end, char_start, char_end, text, clean, matching, kind,"
                " context, units_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(c.chunk_id, c.doc_id, c.ordinal, c.script, json.dumps(list(c.section),
                  ensure_ascii=False), c.page, c.line_start, c.line_end, c.char_start,
                  c.char_end, c.text, c.clean, c.matching, c.kind, c.context,
                  units_json(c.units)) for c in chunks])
    finally:
        con.close()


class ChunkStore:
    """Read access to a chunk store; chunks are addressed by their row (0-based)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ValueError(f"{path}: no chunk store here")
        self.path = path
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            self.chunks: list[Chunk] = [_chunk(row) for row in con.execute(
                "SELECT * FROM chunks ORDER BY row")]
            self.documents: dict[str, Document] = {
                row[0]: _document(row) for row in con.execute("SELECT * FROM documents")}
            self.hashes: dict[str, str] = dict(
                con.execute("SELECT doc_id, sha256 FROM documents").fetchall())
        finally:
            con.close()
        self.by_id = {c.chunk_id: i for i, c in enumerate(self.chunks)}

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
