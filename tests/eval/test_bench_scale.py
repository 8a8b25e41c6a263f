"""The scale benchmark's corpus generator and one tiny end-to-end measurement."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from eval.bench_scale import SampledEmbedder, build, serve
from eval.synthetic import SentencePool, documents


@pytest.fixture(scope="module")
def pool() -> SentencePool:
    return SentencePool.read()


def test_the_synthetic_corpus_recombines_the_reports_in_all_three_scripts(
        pool: SentencePool) -> None:
    docs = list(documents(pool, 6, paragraphs=8))
    assert [d.script for d in docs] == ["zh-Hant", "zh-Hans", "en"] * 2
    assert len({d.text for d in docs}) == 6
    for doc in docs:
        assert doc.company in doc.text and str(doc.year) in doc.title
        assert not any(name in doc.text for name in pool.names)  # bundled names replaced
    assert re.search(r"[\u4e00-\u9fff]{20}", docs[0].text)
    assert re.search(r"(?:[A-Za-z]+ ){10}", docs[2].text)


def test_the_synthetic_corpus_is_the_same_for_the_same_seed(pool: SentencePool) -> None:
    assert [d.text for d in documents(pool, 3, seed=4)] == [
        d.text for d in documents(pool, 3, seed=4)]


def test_made_vectors_are_unit_length_and_lie_near_the_real_ones() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(50, 16)).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    made = SampledEmbedder(FakeEmbedder(), real=0).made_like(real, 200)
    assert np.allclose(np.linalg.norm(made, axis=1), 1.0, atol=1e-5)
    assert float(np.median((made @ real.T).max(axis=1))) > 0.6


@pytest.mark.bench
def test_a_tiny_scale_run_builds_serves_and_measures(tmp_path: Path) -> None:
    built = build(tmp_path, 2000, real=300, embedder=FakeEmbedder())
    assert 1000 < built["passages"] < 3000
    assert built["real_vectors"] >= 300 and built["disk_bytes"] > 0
    assert {"with_unit_tokens", "bm25 index", "build_dense"} <= set(built["stages"])
    served = serve(tmp_path / "data", queries=20, embedder=FakeEmbedder())
    assert set(served["search_ms"]) == {"read (incl. query vector)", "bm25", "dense", "hybrid"}
    assert served["recall"] == {"kind": "flat", "recall@10": 1.0}
    assert served["peak_with_reload_mib"] >= served["peak_serving_mib"] > 0


def test_the_sentence_pool_orders_its_names_the_same_in_every_process() -> None:
    from eval.synthetic import SentencePool

    names = SentencePool.read().names
    assert names == tuple(sorted(set(names), key=lambda n: (-len(n), n)))
