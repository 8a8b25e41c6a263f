"""In-process latency of `Engine.ask`, warm: p50 and p95 per stage of the online chain and
in total, each the median over repeated runs of every question (follow-ups with their
history). Prints figures; asserts nothing, and is not a timed test.

Run from the repository with the index built (`wenda index`):
    HF_HUB_OFFLINE=1 python eval/bench_ask.py [--runs 5] [--questions eval/questions.jsonl]
The stages are timed by calling them as `Engine.ask` chains them; "total" times `Engine.ask`
itself, so its figures are the ones a request pays (less the HTTP edge).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from eval.cli import DEFAULT_QUESTIONS
from index.normalise import dense_form
from service import memo
from service.answer import abstention, compose_reply, decide, reply_script_for
from service.config import get_settings
from service.engine import SEARCH_DEPTH, Engine
from service.evidence import candidates
from service.metrics import percentile
from service.query import QueryReader
from service.questions import Question, load_questions

STAGES = ("read", "embed", "retrieve", "evidence", "decide", "compose", "total")
WARM_UP = 10  # questions asked before timing: first-use caches, lazy imports
T = TypeVar("T")


def _timed(times: dict[str, list[float]], stage: str, call: Callable[[], T]) -> T:
    started = time.perf_counter()
    out = call()
    times[stage].append((time.perf_counter() - started) * 1000)
    return out


def staged(engine: Engine, reader: QueryReader, question: str, history: Sequence[str],
           times: dict[str, list[float]]) -> None:
    """One question through the stages `Engine.ask` chains, each timed on its own."""
    query = _timed(times, "read", lambda: reader.read(question, history))
    vector = _timed(times, "embed", lambda: engine.embedder.embed_queries(
        [dense_form(query.search_text)])[0])
    query = replace(query, vector=vector)
    hits = _timed(times, "retrieve", lambda: engine.retriever.search(query, SEARCH_DEPTH))
    found = _timed(times, "evidence", lambda: candidates(query, hits, engine.index,
                                                         engine.vocabulary))
    decision = _timed(times, "decide", lambda: decide(
        query, found, engine.model, engine.vocabulary, engine.retriever.allowed_documents(None)))
    chosen = decision.chosen
    if chosen is not None and decision.confidence >= engine.model.threshold:
        _timed(times, "compose", lambda: compose_reply(
            query, chosen, engine.index, engine.vocabulary,
            reply_script_for("auto", query.script)))
    else:
        _timed(times, "compose", lambda: abstention(query, decision))


def one_run(engine: Engine, reader: QueryReader, questions: list[Question], cold: bool
            ) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for q in questions:
        if cold:
            memo.clear()
        staged(engine, reader, q.question, q.history, times)
    for q in questions:
        if cold:
            memo.clear()
        _timed(times, "total", lambda q=q: engine.ask(q.question, q.history))  # type: ignore[misc]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--cold", action="store_true", help="forget the text memos "
                        "(service/memo.py) before each question: the cost of passages no "
                        "earlier question retrieved")
    args = parser.parse_args()
    engine = Engine.start(get_settings())
    reader = QueryReader(engine.vocabulary)  # the same reader, without the dense vector
    questions = load_questions(args.questions)
    for q in questions[:WARM_UP]:
        engine.ask(q.question, q.history)
    runs = [one_run(engine, reader, questions, args.cold) for _ in range(args.runs)]
    print(f"{len(questions)} questions of {args.questions.name}, {args.runs} runs, "
          f"{len(engine.index.chunks)} passages, text memos "
          f"{'cleared before each question' if args.cold else 'kept'}; ms, median over runs")
    print(f"{'stage':<10}{'p50':>8}{'p95':>8}")
    for stage in STAGES:
        p50 = statistics.median(statistics.median(r[stage]) for r in runs)
        p95 = statistics.median(percentile(r[stage], 0.95) for r in runs)
        print(f"{stage:<10}{p50:>8.2f}{p95:>8.2f}")


if __name__ == "__main__":
    main()
