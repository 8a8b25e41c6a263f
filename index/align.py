"""Aligning the chunks of parallel editions (the same report in two languages)."""

from __future__ import annotations

import numpy as np

from index.types import Chunk, Document

MIN_SIMILARITY = 0.5  # below this a "best match" is a guess, not a translation


def align_parallel(documents: list[Document], chunks: list[Chunk],
                   vectors: np.ndarray) -> list[tuple[int, int, float]]:
    """(row, row, similarity) pairs linking each chunk to its best match in the parallel
    edition, both ways; rows index `chunks` and `vectors` (unit vectors)."""
    rows_by_doc: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        rows_by_doc.setdefault(chunk.doc_id, []).append(row)
    pairs: list[tuple[int, int, float]] = []
    for document in documents:
        other = document.meta.parallel
        if not other or other not in rows_by_doc or document.doc_id not in rows_by_doc:
            continue
        mine, theirs = rows_by_doc[document.doc_id], rows_by_doc[other]
        similarity = vectors[mine] @ vectors[theirs].T
        best = similarity.argmax(axis=1)
        for i, j in enumerate(best):
            score = float(similarity[i, j])
            if score >= MIN_SIMILARITY:
                pairs.append((mine[i], theirs[int(j)], round(score, 4)))
    return pairs
