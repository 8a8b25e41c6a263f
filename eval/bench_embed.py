"""Embedding speed: passages per second in batches, and latency of single queries.

Run: .venv/bin/python eval/bench_embed.py [--model ID] [--batch-size N]
Texts are raw slices of the Chinese corpus files: this measures speed, not quality.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tomllib
from pathlib import Path

import numpy as np

from index.embed import DEFAULT_MODEL, Embedder

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def chinese_slices(corpus: Path, count: int, chars: int) -> list[str]:
    """`count` consecutive `chars`-character slices of the corpus files marked zh-*."""
    manifest = tomllib.loads((corpus / "manifest.toml").read_text(encoding="utf-8"))
    files = [d["file"] for d in manifest["documents"] if d.get("script", "").startswith("zh")]
    slices: list[str] = []
    for name in files:
        text = (corpus / name).read_text(encoding="utf-8")
        slices += [text[i:i + chars] for i in range(0, len(text) - chars + 1, chars)]
    if len(slices) < count:
        raise ValueError(f"{corpus} holds {len(slices)} Chinese slices of {chars} characters, "
                         f"fewer than the {count} asked for")
    return slices[:count]


def passages_per_second(embedder: Embedder, passages: list[str], runs: int) -> list[float]:
    """Throughput of embedding all passages in batches, once per run."""
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        embedder.embed_passages(passages)
        rates.append(len(passages) / (time.perf_counter() - start))
    return rates


def query_latencies_ms(embedder: Embedder, queries: list[str]) -> np.ndarray:
    """Milliseconds per query, each embedded alone as the service does."""
    latencies = []
    for query in queries:
        start = time.perf_counter()
        embedder.embed_queries([query])
        latencies.append((time.perf_counter() - start) * 1000)
    return np.array(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--passages", type=int, default=500)
    parser.add_argument("--chars", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--query-chars", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    slices = chinese_slices(CORPUS, args.passages + args.queries, args.chars)
    passages = slices[:args.passages]
    # Queries: short openings of the slices after the passages, so none repeats a passage.
    queries = [s[:args.query_chars] for s in slices[args.passages:]]

    embedder = Embedder(args.model, args.data_dir, batch_size=args.batch_size)
    start = time.perf_counter()
    embedder.warm_up()
    warm_up_s = time.perf_counter() - start

    rates = passages_per_second(embedder, passages, args.runs)
    latencies = query_latencies_ms(embedder, queries)
    print(f"model {args.model} (dimension {embedder.dimension}), {os.cpu_count()} CPUs, "
          f"warm-up {warm_up_s:.1f} s")
    print(f"passages: {len(passages)} x {args.chars} chars, batch {args.batch_size}: "
          f"{statistics.median(rates):.1f} passages/s (median of {args.runs} runs: "
          f"{', '.join(f'{r:.1f}' for r in rates)})")
    print(f"queries: {len(queries)} x {args.query_chars} chars, one at a time: "
          f"median {np.median(latencies):.2f} ms, p95 {np.percentile(latencies, 95):.2f} ms")


if __name__ == "__main__":
    main()
