"""The one place that chains the offline stages: load -> chunk -> embed -> index -> store."""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.align import align_parallel
from index.chunk import ChunkSettings, chunk_document
from index.corpus import SourceFile
from index.cover import described
from index.dense import IndexKind, build_dense, choose_kind, save_dense
from index.display import display
from index.keyword import TOKENIZER_VERSION, KeywordIndex, KeywordTokenizer
from index.load import LoadError, load_document
from index.normalise import NORMALISER_VERSION, dense_form, matching_form
from index.store import (
    IndexManifest,
    build_lock,
    current_index,
    new_build_dir,
    publish,
    write_chunk_store,
)
from index.types import Chunk, Document, Unit, model_revision

if TYPE_CHECKING:  # the model stack is heavy; building only needs its interface
    from index.embed import Embedder

Progress = Callable[[str, int, int], None]  # (stage, done, total)
VECTORS = "vectors.npy"  # the chunks' vectors, then their units', in order
VECTOR_KEYS = "vector_keys.json"
PARALLEL = "parallel.json"
KEYWORD_DIR = "keyword"
KEYWORD_WORDS = "words.json"


@dataclass(frozen=True)
class DocumentReport:
    doc_id: str
    script: str
    characters: int
    chunks: int
    median_chunk: float
    max_chunk: int
    sections: int
    tables: int


@dataclass
class BuildReport:
    index_dir: Path
    documents: list[DocumentReport] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    embedded: int = 0  # texts embedded by this build: passages, and their sentences and rows
    reused: int = 0  # passages whose vectors came from the previous build
    up_to_date: bool = False  # nothing changed: the previous build was kept
    # files that could not be read, left out of the build: (doc_id, reason naming the file)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class BuildOptions:
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    dense_kind: IndexKind = "auto"
    extra_words: tuple[str, ...] = ()  # glossary words jieba must keep whole
    force: bool = False
    # Copies the finished build folder elsewhere (a search engine: index/milvus.py) before
    # it is published; if it raises, nothing is published.
    mirror: Callable[[Path], object] | None = field(default=None, compare=False)


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def embedding_text(chunk: Chunk) -> str:
    """What a passage is embedded as: its section path, table header and repaired text."""
    return dense_form(" > ".join(chunk.section) + "\n" + chunk.context + "\n" + chunk.clean)


def keyword_text(chunk: Chunk) -> str:
    return matching_form(" ".join(chunk.section)) + " " + chunk.matching


def unit_text(document: Document, unit: Unit) -> str:
    """A unit as read and embedded: its display form, a table row under its group label."""
    text = display(document.text[unit.start:unit.end], table=unit.kind in ("row", "header"))
    return f"{unit.row.group}: {text}" if unit.row and unit.row.group else text


def with_unit_tokens(chunks: list[Chunk], documents: dict[str, Document],
                     tokenizer: KeywordTokenizer) -> list[Chunk]:
    """Chunks whose units carry their keyword tokens, so evidence is scored on the same
    tokens as retrieval. (Interned: a word recurs in thousands of units, one string each.)"""
    return [replace(c, units=tuple(
        replace(u, tokens=tuple(dict.fromkeys(_interned(tokenizer.tokens(matching_form(
            unit_text(documents[c.doc_id], u))))))) for u in c.units)) for c in chunks]


def _interned(tokens: list[str]) -> list[str]:
    return [sys.intern(t) for t in tokens]


def build_index(sources: list[SourceFile], data_dir: Path, embedder: Embedder,
                options: BuildOptions | None = None,
                progress: Progress = _no_progress) -> BuildReport:
    """Load, chunk, embed and index `sources`, then publish the result atomically."""
    options = options or BuildOptions()
    timer = _Timer()
    documents, skipped = load_all(sources, progress)
    hashes = {d.doc_id: text_hash(d.text) for d in documents}
    manifest = _manifest(hashes, options, embedder, _metadata_hash(documents))
    previous = current_index(data_dir)
    if previous and not options.force and _same_build(previous, manifest):
        return BuildReport(index_dir=previous, up_to_date=True, seconds=timer.laps,
                           skipped=skipped)
    timer.lap("load")

    # Each document's chunks get their units' tokens as soon as they are cut, so the
    # corpus's chunks are held once (at a million passages, twice would not fit).
    tokenizer = KeywordTokenizer(options.extra_words)
    by_id = {d.doc_id: d for d in documents}
    chunks: list[Chunk] = []
    reports = []
    for document in documents:
        cut = chunk_document(document, options.chunking)
        reports.append(_report(document, cut))
        chunks.extend(with_unit_tokens(cut, by_id, tokenizer))
    progress("chunk", len(chunks), len(chunks))
    timer.lap("chunk")
    with build_lock(data_dir):
        final, embedded, total = _write_build(documents, hashes, chunks, manifest, data_dir,
                                              embedder, tokenizer, options, previous,
                                              progress, timer)
    return BuildReport(index_dir=final, documents=reports, seconds=timer.laps,
                       embedded=embedded, reused=total - embedded, skipped=skipped)


def load_all(sources: list[SourceFile], progress: Progress = _no_progress
             ) -> tuple[list[Document], list[tuple[str, str]]]:
    """Every source that loads, and for the others why not: one corrupt, empty, scanned or
    undecodable file is reported and left out, never the end of the build. Raises
    ValueError when none loads (an index of nothing serves nobody)."""
    documents, skipped = [], []
    for done, source in enumerate(sources, start=1):
        try:
            document = load_document(source.path, source.meta, source.shown_name)
            documents.append(replace(document, meta=described(document.meta, document.text)))
        except LoadError as exc:
            reason = str(exc).replace(str(source.path), source.shown_name)
            skipped.append((source.meta.doc_id, reason))
        progress("load", done, len(sources))
    if sources and not documents:
        raise ValueError("no document could be read: " + "; ".join(r for _, r in skipped))
    return documents, skipped


def _write_build(documents: list[Document], hashes: dict[str, str], chunks: list[Chunk],
                 manifest: IndexManifest, data_dir: Path, embedder: Embedder,
                 tokenizer: KeywordTokenizer, options: BuildOptions, previous: Path | None,
                 progress: Progress, timer: _Timer) -> tuple[Path, int, int]:
    """Embed and index `chunks` (and their units) into a new build folder, then publish it;
    returns the published folder, how many texts were embedded and how many there are."""
    build_dir = new_build_dir(data_dir)  # invisible to readers until published
    by_id = {d.doc_id: d for d in documents}
    texts = [embedding_text(c) for c in chunks] + [
        dense_form(unit_text(by_id[c.doc_id], u)) for c in chunks for u in c.units]
    keys, embedded = _vectors(texts, embedder, previous, progress, build_dir / VECTORS)
    total = len(texts)
    del texts
    timer.lap("embed")

    (build_dir / VECTOR_KEYS).write_text(json.dumps(keys), encoding="utf-8")
    del keys
    passages = np.load(build_dir / VECTORS, mmap_mode="r")[:len(chunks)]
    save_dense(build_dense(passages, np.arange(len(chunks)), options.dense_kind), build_dir)
    (build_dir / PARALLEL).write_text(json.dumps(align_parallel(documents, chunks, passages)),
                                      encoding="utf-8")
    del passages
    (build_dir / KEYWORD_DIR).mkdir()
    KeywordIndex.build([_interned(tokenizer.tokens(keyword_text(c))) for c in chunks]).save(
        build_dir / KEYWORD_DIR)
    (build_dir / KEYWORD_DIR / KEYWORD_WORDS).write_text(
        json.dumps(tokenizer.extra_words, ensure_ascii=False), encoding="utf-8")
    write_chunk_store(build_dir / "chunks.sqlite", [(d, hashes[d.doc_id]) for d in documents],
                      chunks)
    manifest = IndexManifest(**{**manifest.__dict__, "build_id": build_dir.name.removesuffix(
        ".partial"), "dense_index": choose_kind(options.dense_kind, len(chunks))})
    manifest.write(build_dir)
    if options.mirror is not None:
        options.mirror(build_dir)
    final = publish(build_dir, data_dir)
    timer.lap("index")
    return final, embedded, total


def _metadata_hash(documents: list[Document]) -> str:
    """Metadata changes (titles, aliases, access groups) must rebuild too."""
    described = sorted(repr((d.meta, d.source)) for d in documents)
    return hashlib.sha256("\n".join(described).encode()).hexdigest()[:16]


def _manifest(hashes: dict[str, str], options: BuildOptions, embedder: Embedder,
              metadata: str) -> IndexManifest:
    return IndexManifest(
        build_id="", created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        normaliser_version=NORMALISER_VERSION, chunker=options.chunking.describe(),
        corpus_hash=corpus_hash(hashes), documents=hashes, model=embedder.model_id,
        dimension=embedder.dimension, dense_index=options.dense_kind,
        extra={"metadata": metadata, "tokenizer": TOKENIZER_VERSION,
               "model_revision": model_revision(embedder.model_id),
               "keyword_words": hashlib.sha256(
            "\n".join(sorted(options.extra_words)).encode()).hexdigest()[:16]},
    )


def _same_build(folder: Path, wanted: IndexManifest) -> bool:
    try:
        have = IndexManifest.read(folder)
    except ValueError:
        return False
    fields = ("normaliser_version", "chunker", "corpus_hash", "model", "dimension", "extra")
    same = all(getattr(have, f) == getattr(wanted, f) for f in fields)
    return same and wanted.dense_index in ("auto", have.dense_index)


def _vectors(texts: list[str], embedder: Embedder, previous: Path | None,
             progress: Progress, path: Path) -> tuple[list[str], int]:
    """Write a vector for every text to `path` (.npy, in order) and return their cache keys
    and how many had to be embedded; the previous build's vectors are reused for unchanged
    texts. Written block by block, so the build holds one block of vectors, not all."""
    model = f"{embedder.model_id}\0{model_revision(embedder.model_id)}"
    keys = [_vector_key(model, t) for t in texts]
    known, old = _previous_vectors(previous)
    missing = sum(1 for key in keys if key not in known)
    if missing:
        embedder.warm_up()  # only now: a build that reuses every vector never loads the model
    batch, block = 64, 4096
    done = 0
    buffer: list[np.ndarray | None] = []  # rows not yet written, in order
    waiting: list[int] = []  # their places in `buffer` of the texts in the open batch
    with open(path, "wb") as out:
        np.lib.format.write_array_header_1_0(out, {
            "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
            "fortran_order": False, "shape": (len(texts), embedder.dimension)})
        first = 0  # the row of buffer[0]
        for row, key in enumerate(keys):
            if key in known:
                buffer.append(old[known[key]])
            else:
                buffer.append(None)
                waiting.append(len(buffer) - 1)
            # the same batches of 64 as embedding every missing text in one pass would make
            if len(waiting) == batch or (row == len(keys) - 1 and waiting):
                made = embedder.embed_passages([texts[first + i] for i in waiting])
                for i, vector in zip(waiting, made, strict=True):
                    buffer[i] = vector
                done += len(waiting)
                waiting = []
                progress("embed", done, missing)
            if not waiting and (len(buffer) >= block or row == len(keys) - 1):
                out.write(np.asarray(buffer, dtype=np.float32).tobytes())
                first += len(buffer)
                buffer = []
    return keys, missing


def _previous_vectors(folder: Path | None) -> tuple[dict[str, int], np.ndarray]:
    """The previous build's vector rows by cache key, and its vectors (memory-mapped)."""
    nothing = np.zeros((0, 0), dtype=np.float32)
    if folder is None or not (folder / VECTORS).exists():
        return {}, nothing
    try:
        keys = json.loads((folder / VECTOR_KEYS).read_text(encoding="utf-8"))
        vectors = np.load(folder / VECTORS, mmap_mode="r")
    except (OSError, ValueError):
        return {}, nothing  # an unreadable cache only costs time: embed again
    return {key: row for row, key in enumerate(keys[:len(vectors)])}, vectors


def _vector_key(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\0{text}".encode()).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def corpus_hash(hashes: dict[str, str]) -> str:
    joined = "\n".join(f"{doc_id}:{sha}" for doc_id, sha in sorted(hashes.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


class _Timer:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now


def _report(document: Document, chunks: list[Chunk]) -> DocumentReport:
    sizes = [len(c.clean) for c in chunks] or [0]
    return DocumentReport(
        doc_id=document.doc_id, script=document.script, characters=len(document.text),
        chunks=len(chunks), median_chunk=statistics.median(sizes), max_chunk=max(sizes),
        sections=len({c.section for c in chunks if c.section}),
        tables=sum(1 for c in chunks if c.kind == "table"),
    )
