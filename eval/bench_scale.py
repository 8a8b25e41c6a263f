"""Scale benchmark (issue 12): a synthetic corpus of N passages through the real pipeline,
then build time per stage, size on disk, peak RSS serving (and during a hot reload), search
p50/p95 (keyword, dense, hybrid) and dense recall@10 of the approximate index vs exact.

Run: HF_HUB_OFFLINE=1 python eval/bench_scale.py --passages 100000,300000 --work DIR
Each size is built in one child process and served in another, so each peak RSS is its
own. Only `--real` passages are embedded by the real model; the other vectors are made from
those (see SampledEmbedder) and the full embedding time is extrapolated from the sample's
rate. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

import index.build as build_module
from index.corpus import discover
from index.embed import Embedder
from index.keyword import KeywordIndex
from index.types import DEFAULT_MODEL, Script

ROOT = Path(__file__).resolve().parents[1]
CHUNKS_PER_DOCUMENT = 76  # measured: a 100-paragraph synthetic document chunks into ~76
TIMED = ("with_unit_tokens", "build_dense", "save_dense", "align_parallel",
         "write_chunk_store")


class SampledEmbedder:
    """The real model for the first `real` passages, then vectors made from those: each a
    real vector moved towards a second one and by the difference of two more (so it lies in
    the span real vectors fill, clustered as they are, not uniform on the sphere)."""

    def __init__(self, embedder: Any, real: int, seed: int = 0) -> None:
        self._embedder, self._real = embedder, real
        self.model_id, self.dimension = embedder.model_id, embedder.dimension
        self._rng = np.random.default_rng(seed)
        self._pool: list[np.ndarray] = []
        self.real_seconds, self.made = 0.0, 0

    @property
    def real_count(self) -> int:
        return sum(len(p) for p in self._pool)

    def warm_up(self) -> None:
        self._embedder.warm_up()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._embedder.embed_queries(texts))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if self.real_count < self._real:
            started = time.perf_counter()
            vectors = np.asarray(self._embedder.embed_passages(texts), dtype=np.float32)
            self.real_seconds += time.perf_counter() - started
            self._pool.append(vectors)
            return vectors
        self.made += len(texts)
        if len(self._pool) > 1:
            self._pool = [np.concatenate(self._pool)]  # once, not on every batch
        return self.made_like(self._pool[0], len(texts))

    def made_like(self, pool: np.ndarray, count: int) -> np.ndarray:
        a, b, c, d = (self._rng.integers(0, len(pool), count) for _ in range(4))
        towards = self._rng.uniform(0.0, 0.5, (count, 1)).astype(np.float32)
        vectors = pool[a] + towards * (pool[b] - pool[a]) + 0.35 * (pool[c] - pool[d])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@contextmanager
def timed_stages() -> Iterator[dict[str, float]]:
    """Seconds spent in each stage index/build.py chains after embedding, measured by
    wrapping the functions it calls (the build itself is unchanged)."""
    seconds: dict[str, float] = {}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        return run

    originals = {name: getattr(build_module, name) for name in TIMED}
    keyword = KeywordIndex.build.__func__, KeywordIndex.save  # type: ignore[attr-defined]
    for name, function in originals.items():
        setattr(build_module, name, timed(name, function))
    KeywordIndex.build = classmethod(timed("bm25 index", keyword[0]))  # type: ignore[assignment]
    KeywordIndex.save = timed("bm25 save", keyword[1])  # type: ignore[method-assign]
    try:
        yield seconds
    finally:
        for name, function in originals.items():
            setattr(build_module, name, function)
        KeywordIndex.build = classmethod(keyword[0])  # type: ignore[assignment]
        KeywordIndex.save = keyword[1]  # type: ignore[method-assign]


def build(work: Path, passages: int, real: int, embedder: Any = None) -> dict[str, Any]:
    """Write a synthetic corpus of about `passages` passages and build it; figures as a dict."""
    from eval.synthetic import SentencePool, documents, write_corpus

    started = time.perf_counter()
    pool = SentencePool.read()
    count = max(3, math.ceil(passages / CHUNKS_PER_DOCUMENT))
    write_corpus(work / "corpus", documents(pool, count))
    generated = time.perf_counter() - started
    sampled = SampledEmbedder(embedder or Embedder(DEFAULT_MODEL, work / "data"), real)
    with timed_stages() as stages:
        report = build_module.build_index(  # it needs the Embedder's interface only
            discover([work / "corpus"]), work / "data", sampled,  # type: ignore[arg-type]
            build_module.BuildOptions(force=True))
    texts = sampled.real_count + sampled.made
    folder = report.index_dir
    files = {p.name: p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    return {
        "documents": count, "passages": sum(d.chunks for d in report.documents),
        "texts_embedded": texts, "real_vectors": sampled.real_count,
        "real_seconds": sampled.real_seconds, "generate_seconds": generated,
        "seconds": report.seconds, "stages": stages,
        "embed_rate": sampled.real_count / max(sampled.real_seconds, 1e-9),
        "disk_bytes": sum(files.values()), "files": files,
        "build_peak_mib": _peak_mib(), "index_dir": str(folder),
    }


def serve(data_dir: Path, queries: int, embedder: Any = None) -> dict[str, Any]:
    """Start the engine on the built index as the service does, search, reload; figures."""
    from eval.cli import DEFAULT_QUESTIONS
    from service.config import Settings
    from service.engine import Engine
    from service.questions import load_questions

    settings = Settings(data_dir=data_dir, glossary=ROOT / "corpus" / "glossary.toml")
    started = time.perf_counter()
    engine = Engine.start(settings, embedder)
    start_seconds, started_mib = time.perf_counter() - started, _rss_mib()
    started_split = _rss_split_mib()
    texts = _questions([q.question for q in load_questions(DEFAULT_QUESTIONS)], queries)
    reading: list[float] = []
    read = []
    for text in texts:
        t = time.perf_counter()
        read.append(engine.read(text))
        reading.append(_ms(t))
    timings: dict[str, dict[str, float]] = {"read (incl. query vector)": _summary(reading)}
    for method in ("bm25", "dense", "hybrid"):
        engine.retriever.search(read[0], 10, method=method)  # warm
        times = []
        for query in read:
            t = time.perf_counter()
            engine.retriever.search(query, 10, method=method)
            times.append(_ms(t))
        timings[method] = _summary(times)
    serving_mib = _peak_mib()
    recall = dense_recall(engine.index.dense, engine.index.folder,
                          np.stack([q.vector for q in read if q.vector is not None]))
    t = time.perf_counter()
    second = Engine.start(settings, engine.embedder)  # the hot reload: both alive at once
    reload_seconds = time.perf_counter() - t
    reload_split = _rss_split_mib()
    del second
    return {"start_seconds": start_seconds, "rss_after_start_mib": started_mib,
            "rss_split_after_start": started_split, "rss_split_after_reload": reload_split,
            "peak_serving_mib": serving_mib, "peak_with_reload_mib": _peak_mib(),
            "reload_seconds": reload_seconds, "search_ms": timings, "recall": recall,
            "queries": len(read)}


def dense_recall(dense: Any, folder: Path, queries: np.ndarray) -> dict[str, Any]:
    """recall@10 of the built index against exact inner-product search on the same vectors,
    at the built efSearch and three others (HNSW only; a flat index is exact)."""
    import faiss

    from index.dense import search_dense

    vectors = np.load(folder / build_module.VECTORS, mmap_mode="r")[:dense.ntotal]
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _, truth = exact.search(np.ascontiguousarray(queries, dtype=np.float32), 10)
    inner = faiss.downcast_index(dense.index)
    if not isinstance(inner, faiss.IndexHNSWFlat):
        return {"kind": "flat", "recall@10": 1.0}
    built = inner.hnsw.efSearch
    out: dict[str, Any] = {"kind": "hnsw", "M": 32, "built_efSearch": built}
    for ef in sorted({64, built, 256, 512}):
        inner.hnsw.efSearch = ef
        found, times = 0, []
        for query, wanted in zip(queries, truth, strict=True):
            t = time.perf_counter()
            _, ids = search_dense(dense, query, 10)
            times.append(_ms(t))
            found += len(set(ids.tolist()) & set(wanted.tolist()))
        out[f"ef{ef}"] = {"recall@10": found / (10 * len(queries)), **_summary(times)}
    inner.hnsw.efSearch = built
    return out


def _questions(bundled: list[str], count: int) -> list[str]:
    """The bundled questions, their companies renamed to synthetic ones, cycled to `count`."""
    from eval.synthetic import SentencePool, company_name

    names, rng = SentencePool.read().names, random.Random(1)
    out = []
    for i in range(count):
        text = bundled[i % len(bundled)]
        script: Script = "en" if text.isascii() else "zh-Hant"
        for name in names:
            text = text.replace(name, company_name(rng, script))
        out.append(text)
    return out


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"p50_ms": ordered[len(ordered) // 2],
            "p95_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]}


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_split_mib() -> dict[str, float]:
    """Resident memory by kind: anonymous (the heap: this process's own) and file-backed
    (memory-mapped index files: the kernel's page cache, shared and reclaimable)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("RssAnon:", "RssFile:")):
            out[line.split(":")[0][3:].lower()] = int(line.split()[1]) / 1024
    return out


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True, cwd=ROOT).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", default="100000,300000")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-scale")
    parser.add_argument("--real", type=int, default=8000, help="passages the model embeds")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--child", choices=["build", "serve"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build":
        print(json.dumps(build(args.work, int(args.passages), args.real)))
        return
    if args.child == "serve":
        print(json.dumps(serve(args.work / "data", args.queries)))
        return
    for size in [int(s) for s in args.passages.split(",")]:
        work = args.work / str(size)
        built = _child(["--child", "build", "--work", str(work), "--passages", str(size),
                        "--real", str(args.real)])
        served = _child(["--child", "serve", "--work", str(work),
                         "--queries", str(args.queries)])
        print_figures(size, built, served)


def print_figures(size: int, built: dict[str, Any], served: dict[str, Any]) -> None:
    print(f"\n=== {built['passages']:,} passages ({size:,} asked), {built['documents']:,} "
          f"documents, {built['texts_embedded']:,} texts to embed (passages + units)")
    print(f"generate corpus {built['generate_seconds']:.1f} s")
    for stage, seconds in built["seconds"].items():
        print(f"build {stage:<6} {seconds:8.1f} s")
    for stage, seconds in built["stages"].items():
        print(f"  in index: {stage:<18} {seconds:8.1f} s")
    rate = built["embed_rate"]
    print(f"embedding: {built['real_vectors']:,} real vectors at {rate:.0f} texts/s; the rest "
          f"made from them. Extrapolated real embedding: {built['texts_embedded'] / rate:,.0f} s"
          f" for all texts, {built['passages'] / rate:,.0f} s for passages only")
    print(f"index on disk {built['disk_bytes'] / 2**20:,.0f} MiB: " + ", ".join(
        f"{name} {size / 2**20:,.0f}" for name, size in sorted(
            built["files"].items(), key=lambda f: -f[1])[:6]))
    print(f"build peak RSS {built['build_peak_mib']:,.0f} MiB")
    print(f"serve: start {served['start_seconds']:.1f} s, RSS after start "
          f"{served['rss_after_start_mib']:,.0f} MiB, peak serving "
          f"{served['peak_serving_mib']:,.0f} MiB, peak with a hot reload "
          f"{served['peak_with_reload_mib']:,.0f} MiB (reload {served['reload_seconds']:.1f} s)")
    split = [served.get(f"rss_split_after_{when}", {}) for when in ("start", "reload")]
    print("resident anon / file-backed MiB: after start " + " / ".join(
        f"{v:,.0f}" for v in split[0].values()) + ", both builds loaded " + " / ".join(
        f"{v:,.0f}" for v in split[1].values()))
    for method, figures in served["search_ms"].items():
        print(f"search {method:<26} p50 {figures['p50_ms']:6.1f} ms  p95 "
              f"{figures['p95_ms']:6.1f} ms  ({served['queries']} queries, Retriever.search)")
    print("dense recall@10 vs exact: " + json.dumps(served["recall"]))


if __name__ == "__main__":
    main()
