"""Answer accuracy, abstention and latency on the known-answer questions.

Run from the repository root: HF_HUB_OFFLINE=1 .venv/bin/python -m eval.bench_answer
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass

from eval.metrics import answer_correct, median, percentile
from eval.questions import Question, load_questions
from service.answer import ABSTAIN_BELOW, answer_question
from service.config import Settings
from service.engine import Engine


@dataclass(frozen=True)
class Outcome:
    question: Question
    confidence: float
    correct: bool  # the would-be answer (ignoring the threshold) holds an accepted answer
    milliseconds: float
    answer: str


def run(engine: Engine, questions: list[Question], top_k: int) -> list[Outcome]:
    """Answer every question with abstention switched off, so any threshold can be scored."""
    outcomes = []
    for q in questions:
        started = time.perf_counter()
        answer = answer_question(engine.retriever, q.question, top_k=top_k,
                                 abstain_below=float("-inf"))
        elapsed = (time.perf_counter() - started) * 1000
        correct = q.answerable and answer_correct(answer.answer, q)
        outcomes.append(Outcome(q, answer.confidence, correct, elapsed, answer.answer))
    return outcomes


def scores(outcomes: list[Outcome], threshold: float) -> dict[str, float]:
    """Accuracy on answerable questions (abstaining counts wrong) and abstention figures."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    abstained = [o for o in outcomes if o.confidence < threshold]
    right = sum(o.correct and o.confidence >= threshold for o in answerable)
    caught = sum(not o.question.answerable for o in abstained)
    return {
        "accuracy": right / len(answerable) if answerable else 0.0,
        "abstain_precision": caught / len(abstained) if abstained else 1.0,
        "abstain_recall": caught / len(unanswerable) if unanswerable else 1.0,
        "abstained": float(len(abstained)),
    }


def report(outcomes: list[Outcome], threshold: float, sweep: list[float]) -> str:
    lines = [f"threshold {threshold:.3f} (service.answer.ABSTAIN_BELOW)", "",
             "| group | answerable | accuracy | accuracy if never abstaining "
             "| unanswerable | abstained on |", "|---|---|---|---|---|---|"]
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups["all"].append(o)
        groups[f"script {o.question.script}"].append(o)
        if o.question.answerable:
            groups["cross-lingual" if o.question.cross_lingual else "same-language"].append(o)
    order = ["all", "script zh-Hant", "script zh-Hans", "script en", "same-language",
             "cross-lingual"]
    for name in sorted(groups, key=lambda g: order.index(g) if g in order else len(order)):
        lines.append(_group_row(name, groups[name], threshold))
    lines += ["", "| threshold | accuracy (answerable) | abstained | abstention precision "
              "| abstention recall |", "|---|---|---|---|---|"]
    for t in sweep:
        s = scores(outcomes, t)
        lines.append(f"| {t:.3f} | {s['accuracy']:.3f} | {s['abstained']:.0f} | "
                     f"{s['abstain_precision']:.3f} | {s['abstain_recall']:.3f} |")
    times = [o.milliseconds for o in outcomes]
    lines += ["", f"latency per answer (ms, model loaded): median {median(times):.0f}, "
              f"p95 {percentile(times, 0.95):.0f}"]
    return "\n".join(lines)


def _group_row(name: str, group: list[Outcome], threshold: float) -> str:
    answerable = [o for o in group if o.question.answerable]
    unanswerable = [o for o in group if not o.question.answerable]
    kept = sum(o.correct and o.confidence >= threshold for o in answerable)
    right = sum(o.correct for o in answerable)
    caught = sum(o.confidence < threshold for o in unanswerable)
    share = f"{caught} ({caught / len(unanswerable):.0%})" if unanswerable else "-"
    n = len(answerable) or 1
    return (f"| {name} | {len(answerable)} | {kept / n:.3f} | {right / n:.3f} | "
            f"{len(unanswerable) or '-'} | {share} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--dump", help="write every outcome to this JSONL file")
    args = parser.parse_args()
    engine = Engine.start(Settings())
    outcomes = run(engine, load_questions(), args.top_k)
    sweep = sorted({round(x / 1000, 3) for x in range(100, 451, 25)} | {ABSTAIN_BELOW})
    print(report(outcomes, ABSTAIN_BELOW, sweep))
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for o in outcomes:
                out.write(json.dumps({"id": o.question.id, "confidence": o.confidence,
                                      "correct": o.correct, "answer": o.answer,
                                      "ms": round(o.milliseconds, 1)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
