"""Dense search: one query on one FAISS thread, the caller's thread count left as it was."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from index.dense import HNSW_EF_SEARCH, build_dense, load_dense, save_dense, search_dense


def _unit_rows(count: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, 16)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_one_query_is_searched_as_the_index_ranks_it_and_threads_are_restored() -> None:
    vectors = _unit_rows(300)
    index = build_dense(vectors, np.arange(300, dtype=np.int64) * 7, "flat")
    query = _unit_rows(1, seed=1)[0]
    before = faiss.omp_get_max_threads()
    scores, ids = search_dense(index, query, 10)
    assert faiss.omp_get_max_threads() == before
    expected, expected_ids = index.search(query.reshape(1, -1), 10)
    assert ids.tolist() == expected_ids[0].tolist()
    assert scores.tolist() == expected[0].tolist()
    exact = np.argsort(-(vectors @ query), kind="stable")[:10] * 7
    assert ids.tolist() == exact.tolist()


def test_allowed_ids_are_searched_on_one_thread_too() -> None:
    index = build_dense(_unit_rows(50), np.arange(50, dtype=np.int64), "flat")
    before = faiss.omp_get_max_threads()
    _, ids = search_dense(index, _unit_rows(1, seed=2)[0], 5, np.array([3, 4, 5]))
    assert set(ids.tolist()) <= {3, 4, 5} and faiss.omp_get_max_threads() == before


def test_an_hnsw_index_searches_with_the_chosen_candidates_whatever_it_was_built_with(
        tmp_path: Path) -> None:
    index = build_dense(_unit_rows(200), np.arange(200, dtype=np.int64), "hnsw")
    inner = faiss.downcast_index(index.index)
    assert inner.hnsw.efSearch == HNSW_EF_SEARCH
    inner.hnsw.efSearch = 128  # as builds before this setting saved it
    save_dense(index, tmp_path)
    outer = load_dense(tmp_path)  # held: the inner index is freed with it
    loaded = faiss.downcast_index(outer.index)
    assert isinstance(loaded, faiss.IndexHNSWFlat)
    assert loaded.hnsw.efSearch == HNSW_EF_SEARCH
