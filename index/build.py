"""The one place that chains the offline stages: load -> chunk -> store (-> embed, keyword)."""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index.chunk import ChunkSettings, chunk_document
from index.corpus import SourceFile
from index.load import load_document
from index.normalise import NORMALISER_VERSION
from index.store import IndexManifest, new_build_dir, publish, write_chunk_store
from index.types import Chunk, Document

Progress = Callable[[str, int, int], None]  # (stage, done, total)


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


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def build_index(sources: list[SourceFile], data_dir: Path,
                settings: ChunkSettings | None = None,
                progress: Progress = _no_progress) -> BuildReport:
    """Load, chunk and store `sources`, then publish the result as the current index."""
    settings = settings or ChunkSettings()
    started = time.perf_counter()
    documents: list[Document] = []
    for done, source in enumerate(sources, start=1):
        documents.append(load_document(source.path, source.meta))
        progress("load", done, len(sources))
    loaded = time.perf_counter()
    chunks_by_doc: dict[str, list[Chunk]] = {}
    for done, document in enumerate(documents, start=1):
        chunks_by_doc[document.doc_id] = chunk_document(document, settings)
        progress("chunk", done, len(documents))
    chunked = time.perf_counter()

    hashes = {d.doc_id: text_hash(d.text) for d in documents}
    build_dir = new_build_dir(data_dir)
    all_chunks = [c for d in documents for c in chunks_by_doc[d.doc_id]]
    write_chunk_store(build_dir / "chunks.sqlite", [(d, hashes[d.doc_id]) for d in documents],
                      all_chunks)
    IndexManifest(
        build_id=build_dir.name.removesuffix(".partial"),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        normaliser_version=NORMALISER_VERSION,
        chunker=settings.describe(),
        corpus_hash=corpus_hash(hashes),
        documents=hashes,
    ).write(build_dir)
    final = publish(build_dir, data_dir)
    report = BuildReport(index_dir=final, documents=[
        _report(d, chunks_by_doc[d.doc_id]) for d in documents])
    report.seconds = {"load": loaded - started, "chunk": chunked - loaded,
                      "store": time.perf_counter() - chunked}
    return report


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def corpus_hash(hashes: dict[str, str]) -> str:
    joined = "\n".join(f"{doc_id}:{sha}" for doc_id, sha in sorted(hashes.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def _report(document: Document, chunks: list[Chunk]) -> DocumentReport:
    sizes = [len(c.clean) for c in chunks] or [0]
    return DocumentReport(
        doc_id=document.doc_id, script=document.script, characters=len(document.text),
        chunks=len(chunks), median_chunk=statistics.median(sizes), max_chunk=max(sizes),
        sections=len({c.section for c in chunks if c.section}),
        tables=sum(1 for c in chunks if c.kind == "table"),
    )
