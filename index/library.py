"""The documents store: what the served corpus is made of, kept under the data folder.

The corpus a build indexes is the base folders `wenda index` was last given (the bundled
`corpus/` by default), less the base documents removed over HTTP, plus the documents
uploaded (an upload with a base document's id replaces it). The store keeps that list in
SQLite (`data/documents/library.sqlite`) and the uploaded originals beside it
(`data/documents/files/<sha256><suffix>`), so rebuilds, restarts and `wenda index` all see
the same corpus.

Nothing uploaded is lost by a crash: an original is written to a temporary file, synced and
renamed into place before the row naming it is committed, and SQLite commits atomically;
a crash in between leaves at worst an unnamed file, which `orphans()` lists.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from index.corpus import MANIFEST_NAME, SourceFile, check_doc_id, discover
from index.load import SUPPORTED_SUFFIXES
from index.types import DocumentMeta

LIBRARY_DIR = "documents"
LIBRARY_DB = "library.sqlite"
FILES_DIR = "files"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    doc_id TEXT PRIMARY KEY, name TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL, meta TEXT NOT NULL, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS removed (doc_id TEXT PRIMARY KEY, removed REAL NOT NULL);
CREATE TABLE IF NOT EXISTS base (position INTEGER PRIMARY KEY, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Upload:
    """A document added over HTTP or with `wenda documents add`."""

    doc_id: str
    name: str  # the file name it was uploaded as
    path: Path  # the stored original
    sha256: str
    bytes: int
    meta: DocumentMeta
    added: float  # time.time()


@dataclass(frozen=True)
class Entry:
    """One document of the served corpus, and where it comes from."""

    source: SourceFile
    origin: str  # "base" (a folder `wenda index` indexes) or "upload"


class Library:
    """The documents store of one data folder; every call opens its own connection, so one
    Library may be used from several threads."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / LIBRARY_DIR
        self.files = self.root / FILES_DIR

    # ---- reading --------------------------------------------------------------------

    def uploads(self) -> list[Upload]:
        if not (self.root / LIBRARY_DB).exists():
            return []
        with self._db() as db:
            rows = db.execute("SELECT doc_id, name, file, sha256, bytes, meta, added "
                              "FROM uploads ORDER BY added, doc_id").fetchall()
        return [Upload(r[0], r[1], self.files / r[2], r[3], r[4], _meta(json.loads(r[5])), r[6])
                for r in rows]

    def removed(self) -> frozenset[str]:
        if not (self.root / LIBRARY_DB).exists():
            return frozenset()
        with self._db() as db:
            return frozenset(r[0] for r in db.execute("SELECT doc_id FROM removed"))

    def base(self, default: Sequence[Path]) -> list[Path]:
        """The folders and files `wenda index` was last given; `default` before that."""
        if not (self.root / LIBRARY_DB).exists():
            return list(default)
        with self._db() as db:
            paths = [Path(r[0]) for r in db.execute("SELECT path FROM base ORDER BY position")]
        return paths or list(default)

    def corpus(self, default_base: Sequence[Path]) -> list[Entry]:
        """The served corpus: the base documents not removed, then the uploads (an upload
        replaces a base document of its id)."""
        uploads = self.uploads()
        replaced = {u.doc_id for u in uploads} | self.removed()
        by_id: dict[str, SourceFile] = {}
        for path in self.base(default_base):
            if path.exists() and not _empty_folder(path):  # (a corpus of uploads only)
                # a later folder's document updates an earlier one's
                by_id.update((s.meta.doc_id, s) for s in discover([path]))
        base = [s for d, s in by_id.items() if d not in replaced]
        return [Entry(s, "base") for s in base] + [
            Entry(SourceFile(u.path, u.meta, u.name), "upload") for u in uploads]

    def orphans(self) -> list[Path]:
        """Stored files no upload names (left by a crash between writing and committing)."""
        if not self.files.exists():
            return []
        named = {u.path.name for u in self.uploads()}
        return sorted(p for p in self.files.iterdir() if p.name not in named
                      and not p.name.startswith("."))

    def generation(self) -> int:
        """How many changes the store has seen (each add, remove or new base counts one)."""
        return self._state("generation")

    def built(self) -> int:
        """The generation the last finished build indexed: behind `generation()` when a
        change was stored but its build never finished (a crash, a stop), so the service
        builds again when it starts."""
        return self._state("built")

    def mark_built(self, generation: int) -> None:
        with self._db() as db:
            db.execute("INSERT INTO state VALUES ('built', ?) ON CONFLICT(key) DO UPDATE SET "
                       "value = max(value, excluded.value)", (generation,))

    def _state(self, key: str) -> int:
        if not (self.root / LIBRARY_DB).exists():
            return 0
        with self._db() as db:
            row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    # ---- writing --------------------------------------------------------------------

    def add(self, name: str, data: bytes, meta: DocumentMeta) -> Upload:
        """Store an original and its metadata; replaces an upload of the same id and
        undoes a removal of that id."""
        check_doc_id(meta.doc_id)
        digest = hashlib.sha256(data).hexdigest()
        stored = f"{digest}{Path(name).suffix.lower()}"
        self.files.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.files / stored, data)
        upload = Upload(meta.doc_id, name, self.files / stored, digest, len(data), meta,
                        time.time())
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (meta.doc_id, name, stored, digest, len(data),
                        json.dumps(asdict(meta), ensure_ascii=False), upload.added))
            db.execute("DELETE FROM removed WHERE doc_id = ?", (meta.doc_id,))
            _changed(db)
        return upload

    def remove(self, doc_id: str, in_base: bool) -> None:
        """Take a document out of the served corpus: its upload is forgotten (and its file
        deleted when no other upload shares it); a base document is marked removed."""
        with self._db() as db:
            row = db.execute("SELECT file FROM uploads WHERE doc_id = ?", (doc_id,)).fetchone()
            db.execute("DELETE FROM uploads WHERE doc_id = ?", (doc_id,))
            if in_base:
                db.execute("INSERT OR REPLACE INTO removed VALUES (?, ?)", (doc_id, time.time()))
            shared = row is not None and db.execute(
                "SELECT 1 FROM uploads WHERE file = ?", (row[0],)).fetchone()
            _changed(db)
        if row is not None and not shared:
            (self.files / row[0]).unlink(missing_ok=True)  # after the commit: never dangling

    def has_base(self) -> bool:
        """Whether `wenda index PATHS` has named the corpus folders yet."""
        return self.base(()) != []

    def add_base(self, paths: Sequence[Path]) -> None:
        """Index `paths` too from now on; their documents replace uploads of the same ids."""
        have = self.base(())
        wanted = have + [p.resolve() for p in paths if p.resolve() not in have]
        ids = {s.meta.doc_id for s in discover(list(paths))}
        with self._db() as db:
            db.execute("DELETE FROM base")
            db.executemany("INSERT INTO base VALUES (?, ?)",
                           [(i, str(p)) for i, p in enumerate(wanted)])
            db.executemany("DELETE FROM removed WHERE doc_id = ?", [(d,) for d in ids])
            _changed(db)
        for upload in self.uploads():
            if upload.doc_id in ids:
                self.remove(upload.doc_id, in_base=False)

    def set_base(self, paths: Sequence[Path], replace: bool) -> None:
        """What `wenda index PATHS` indexes from now on; with `replace`, PATHS alone are the
        corpus (uploads and removals forgotten)."""
        with self._db() as db:
            db.execute("DELETE FROM base")
            db.executemany("INSERT INTO base VALUES (?, ?)",
                           [(i, str(p.resolve())) for i, p in enumerate(paths)])
            if replace:
                db.execute("DELETE FROM uploads")
                db.execute("DELETE FROM removed")
            _changed(db)
        if replace:
            for orphan in self.orphans():
                orphan.unlink(missing_ok=True)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.root.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.root / LIBRARY_DB, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            with db:  # one transaction: committed whole or not at all
                yield db
        finally:
            db.close()


def _changed(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO state VALUES ('generation', 1) ON CONFLICT(key) DO UPDATE SET "
               "value = value + 1")


def _empty_folder(path: Path) -> bool:
    return path.is_dir() and not any(p.suffix.lower() in SUPPORTED_SUFFIXES or
                                     p.name == MANIFEST_NAME for p in path.iterdir())


def _meta(data: dict[str, object]) -> DocumentMeta:
    fields = dict(data)
    for key in ("groups", "aliases"):
        fields[key] = tuple(fields.get(key) or ())  # type: ignore[arg-type]
    return DocumentMeta(**fields)  # type: ignore[arg-type]


def _write_atomically(path: Path, data: bytes) -> None:
    if path.exists() and path.stat().st_size == len(data):
        return  # content-addressed: the same bytes are already there
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
