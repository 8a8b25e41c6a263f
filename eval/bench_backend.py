"""Search through the Milvus backend vs the embedded one, over the same build: hybrid
search p50/p95 of each, and how often both return the same top 10 / top 50.

Run: HF_HUB_OFFLINE=1 python eval/bench_backend.py [--queries 281] [--uri http://...]
Needs a built index (`wenda index`) in WENDA_DATA_DIR. The build is copied to a temporary
folder and written to Milvus from there (its vectors are reused), so the data folder is
left as it was. Without --uri a milvus-lite server is started on a free loopback port
(milvus-lite is Python: it measures the backend's round trips and our side of it, not
what a Milvus cluster would take). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from eval.cli import DEFAULT_QUESTIONS
from eval.milvus_server import lite_server
from index.corpus import discover
from service.access import Filters
from service.config import Settings, get_settings
from service.engine import Engine, build, make_embedder, served_corpus
from service.metrics import median, percentile
from service.questions import load_questions
from service.retrieve import Retriever

FILTERED = Filters(companies=frozenset({"SenseTime"}), years=frozenset({2023, 2024}))


@contextmanager
def _server(uri: str | None, folder: Path) -> Iterator[str]:
    if uri:
        yield uri
    else:
        with lite_server(folder / "milvus") as started:
            yield started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=0, help="0: every question once")
    parser.add_argument("--uri", default=None, help="a Milvus server (default: milvus-lite)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="the corpus folder the build was made from (default: the "
                        "served corpus of the data folder)")
    args = parser.parse_args()
    base = get_settings()
    with tempfile.TemporaryDirectory(prefix="bench-backend-") as tmp, \
            _server(args.uri, Path(tmp)) as uri:
        shutil.copytree(base.data_dir, Path(tmp) / "data", symlinks=True)
        settings = base.model_copy(update={"data_dir": Path(tmp) / "data", "backend": "milvus",
                                           "milvus_uri": uri, "milvus_alias": "bench"})
        embedder = make_embedder(settings)
        sources = discover([args.corpus]) if args.corpus else served_corpus(settings)
        started = time.perf_counter()
        build(settings, sources, embedder)
        print(f"written to Milvus ({uri.split('://')[0]}, milvus-lite unless --uri): "
              f"build {time.perf_counter() - started:.1f} s")
        engine = Engine.start(settings, embedder)
        embedded = Retriever(engine.index, embedder, engine.vocabulary)
        _run(engine, embedded, settings, args.queries)


def _run(engine: Engine, embedded: Retriever, settings: Settings, queries: int) -> None:
    questions = [q.question for q in load_questions(DEFAULT_QUESTIONS)]
    questions = [questions[i % len(questions)] for i in range(queries or len(questions))]
    plans = [engine.reader.read(q) for q in questions]
    plans = [replace(p, vector=engine.retriever.query_vector(p)) for p in plans]
    print(f"{len(engine.index.chunks)} passages, {len(plans)} queries, k=10; the question "
          "is read and embedded beforehand (the same for both), so these time retrieval")
    for label, filters in (("no filter", None), ("company+years filter", FILTERED)):
        for name, retriever in (("embedded", embedded), ("milvus", engine.retriever)):
            retriever.search(plans[0], k=10, filters=filters)  # warm caches once
            times = []
            for plan in plans:
                t = time.perf_counter()
                retriever.search(plan, k=10, filters=filters)
                times.append((time.perf_counter() - t) * 1000)
            print(f"hybrid, {label:>20}, {name:>8}: p50 {median(times):6.1f} ms, "
                  f"p95 {percentile(times, 0.95):6.1f} ms")
        same10 = same50 = 0
        for plan in plans:
            a = [h.chunk.chunk_id for h in embedded.search(plan, k=50, filters=filters)]
            b = [h.chunk.chunk_id for h in engine.retriever.search(plan, k=50, filters=filters)]
            same10 += a[:10] == b[:10]
            same50 += a == b
        print(f"identical ranking, {label}: top 10 {same10}/{len(plans)}, "
              f"top 50 {same50}/{len(plans)}")


if __name__ == "__main__":
    main()
