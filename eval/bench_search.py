"""Search latency over the bundled corpus: median and p95 of single queries, model warm.

Run: HF_HUB_OFFLINE=1 python eval/bench_search.py [--queries 200] [--method hybrid]
Needs a built index (`wenda index`). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import time

from eval.cli import DEFAULT_QUESTIONS
from service.config import get_settings
from service.engine import Engine
from service.metrics import median, percentile
from service.questions import load_questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--method", default="hybrid", choices=["hybrid", "bm25", "dense"])
    args = parser.parse_args()
    started = time.perf_counter()
    engine = Engine.start(get_settings())
    print(f"start-up (model, index, lexicon): {time.perf_counter() - started:.2f} s")
    questions = [q.question for q in load_questions(DEFAULT_QUESTIONS)]
    engine.search(questions[0], k=10)  # warm caches once
    times = []
    for i in range(args.queries):
        t = time.perf_counter()
        engine.search(questions[i % len(questions)], k=10, method=args.method)
        times.append((time.perf_counter() - t) * 1000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.method} search over {len(engine.retriever.index.chunks)} chunks, "
          f"{args.queries} queries: median {median(times):.1f} ms, "
          f"p95 {percentile(times, 0.95):.1f} ms, max {max(times):.1f} ms; "
          f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
