"""The dense index: FAISS inner product over unit vectors, ids = chunk rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

IndexKind = Literal["auto", "flat", "hnsw"]
HNSW_FROM = 50_000  # below this many chunks exact search is both faster and exact
# Candidates HNSW keeps while searching. Measured with eval/bench_scale.py (synthetic
# passages, real query vectors), recall@10 against exact search: 128 found 0.93 at 100k
# passages and 0.82 at 300k; 256 0.98 and 0.91; 512 0.97 at 300k for 2.9 ms a query. Set
# when an index is loaded too, so builds made with another value search with this one.
HNSW_EF_SEARCH = 512
FILE_NAME = "dense.faiss"
ADD_BATCH = 65_536  # vectors added to the index at a time


def choose_kind(kind: IndexKind, size: int) -> Literal["flat", "hnsw"]:
    if kind == "auto":
        return "hnsw" if size >= HNSW_FROM else "flat"
    return kind


def build_dense(vectors: np.ndarray, ids: np.ndarray, kind: IndexKind = "auto") -> faiss.Index:
    """An id-mapped FAISS index, so ids survive deletes and rebuilds of parts."""
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise ValueError(f"vectors {vectors.shape} and ids {ids.shape} do not match")
    dimension = vectors.shape[1]
    if choose_kind(kind, len(vectors)) == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        inner: faiss.Index = hnsw
    else:
        inner = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIDMap2(inner)
    # in parts: `vectors` may be memory-mapped, and a copy of a million would be 2 GB more
    for start in range(0, len(vectors), ADD_BATCH):
        index.add_with_ids(np.ascontiguousarray(vectors[start:start + ADD_BATCH],
                                                dtype=np.float32),
                           np.ascontiguousarray(ids[start:start + ADD_BATCH], dtype=np.int64))
    return index


def save_dense(index: faiss.Index, folder: Path) -> None:
    faiss.write_index(index, str(folder / FILE_NAME))


def load_dense(folder: Path) -> faiss.Index:
    path = folder / FILE_NAME
    if not path.exists():
        raise ValueError(f"{path}: no dense index here")
    # Memory-mapped: the vectors stay in the kernel's page cache (clean, shared, dropped
    # under pressure) instead of this process's heap, so a hot reload's second index costs
    # no heap for them, and opening takes 0.1 s instead of 2.4 s at 100k passages.
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    if isinstance(inner, faiss.IndexHNSWFlat):
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    return index


@contextmanager
def _one_thread() -> Iterator[None]:
    """FAISS on one OpenMP thread while one query is searched. A second thread buys nothing
    for one query (0.09 ms either way over the bundled corpus), but with the other CPU busy
    (another request, an evaluation) waiting for it to be scheduled made the search 6 ms
    (measured on 2 CPUs). The thread count is the calling thread's own (libgomp keeps it
    per thread), so builds and other requests keep theirs."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


def search_dense(index: faiss.Index, query: np.ndarray, k: int,
                 allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for one query vector; `allowed` ids are filtered before ranking."""
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    params = None
    if allowed is not None:
        if len(allowed) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(  # type: ignore[call-arg]
            np.ascontiguousarray(allowed, dtype=np.int64)))
    with _one_thread():
        scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1),
                                                        dtype=np.float32), k, params=params)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
