"""The "generic pipeline" baseline: what a stock RAG setup does with these reports.

Fixed 500-character windows of the raw text, no Traditional/Simplified folding, no wrap
repair, dense search only. It runs in memory beside the real index, with its vectors
cached in the data folder so a second evaluation does not embed the corpus again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.dense import build_dense, search_dense
from index.embed import Embedder
from index.types import Chunk, Document

WINDOW = 500


@dataclass
class GenericBaseline:
    chunks: list[Chunk]
    embedder: Embedder
    index: object

    @classmethod
    def build(cls, documents: list[Document], embedder: Embedder,
              cache_dir: Path) -> GenericBaseline:
        chunks = [chunk for d in documents for chunk in windows(d)]
        texts = [c.text for c in chunks]
        key = hashlib.sha1("\0".join([embedder.model_id, *texts]).encode()).hexdigest()[:16]
        path = cache_dir / f"generic-{key}.npy"
        if path.exists():
            vectors = np.load(path)
        else:
            vectors = embedder.embed_passages(texts)
            cache_dir.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(".tmp.npy")
            np.save(temp, vectors)
            temp.replace(path)
        return cls(chunks, embedder, build_dense(vectors, np.arange(len(chunks)), "flat"))

    def search(self, question: str, k: int) -> list[Chunk]:
        vector = self.embedder.embed_queries([question])[0]
        _, ids = search_dense(self.index, vector, k)  # type: ignore[arg-type]
        return [self.chunks[int(i)] for i in ids]


def windows(document: Document) -> list[Chunk]:
    """Consecutive fixed-size windows of the original text, exact spans like real chunks."""
    text = document.text
    out = []
    for ordinal, start in enumerate(range(0, len(text), WINDOW)):
        span = text[start:start + WINDOW]
        if not span.strip():
            continue
        out.append(Chunk(
            chunk_id=f"generic-{document.doc_id}-{ordinal}", doc_id=document.doc_id,
            ordinal=ordinal, script=document.script, section=(), page=None,
            line_start=text.count("\n", 0, start) + 1,
            line_end=text.count("\n", 0, start + len(span)) + 1,
            char_start=start, char_end=start + len(span), text=span, clean=span,
            matching=span))
    return out
