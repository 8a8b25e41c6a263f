"""Running the known-answer questions through Wenda's own code path, with baselines."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from eval.generic import GenericBaseline
from eval.metrics import (
    answer_correct,
    evidence_rank,
    median,
    percentile,
    retrieval_summary,
)
from eval.questions import Question
from index.types import Document
from service.access import Filters
from service.answer import Answer
from service.api.backend import Backend

METHODS = ("bm25", "dense", "hybrid", "generic")
K = 10
Progress = Callable[[int, int], None]


@dataclass
class QuestionResult:
    id: str
    question: str
    script: str
    type: str
    cross_lingual: bool
    doc_ids: list[str]
    expected_answerable: bool
    ranks: dict[str, int | None] = field(default_factory=dict)
    answered: bool = False
    correct: bool = False
    citations_valid: bool = True
    answer: str = ""
    cited: list[str] = field(default_factory=list)  # "doc_id:line_start-line_end"
    latency_ms: float = 0.0


def _no_progress(done: int, total: int) -> None:
    return None


def evaluate(backend: Backend, questions: Sequence[Question],
             generic: GenericBaseline | None = None, progress: Progress = _no_progress,
             filters: Filters | None = None) -> list[QuestionResult]:
    """Every question through retrieval (each method) and the answer path the API uses,
    seeing only the documents `filters` allow (an API key's access groups)."""
    filters = filters or Filters()
    results = []
    for done, q in enumerate(questions, start=1):
        result = QuestionResult(q.id, q.question, q.script, q.type, q.cross_lingual,
                                list(q.doc_ids), q.answerable)
        if q.answerable:
            for method in ("bm25", "dense"):
                hits = backend.search(q.question, K, filters, method)
                result.ranks[method] = evidence_rank([h.chunk for h in hits], q)
            if generic is not None:
                result.ranks["generic"] = evidence_rank(generic.search(q.question, K), q)
        started = time.perf_counter()
        answer = backend.answer(q.question, K, filters, "auto", [])
        result.latency_ms = (time.perf_counter() - started) * 1000
        if q.answerable:
            result.ranks["hybrid"] = evidence_rank([h.chunk for h in answer.passages], q)
        score_answer(backend.documents, q, answer, result)
        results.append(result)
        progress(done, len(questions))
    return results


def score_answer(documents: Mapping[str, Document], q: Question, answer: Answer,
                 result: QuestionResult) -> None:
    """Correctness, and whether every citation quotes exactly its span."""
    result.answered = answer.answerable
    result.answer = answer.answer
    result.correct = q.answerable and answer.answerable and answer_correct(answer.answer, q)
    result.cited = [f"{c.doc_id}:{c.line_start}-{c.line_end}" for c in answer.citations]
    result.citations_valid = all(
        c.doc_id in documents and documents[c.doc_id].text[c.char_start:c.char_end] == c.quote
        for c in answer.citations)


def group_keys(r: QuestionResult) -> list[str]:
    keys = ["all", f"script:{r.script}",
            "cross-lingual" if r.cross_lingual else "same-language", f"type:{r.type}"]
    keys += [f"doc:{d}" for d in r.doc_ids]
    return keys


def summarise(results: Sequence[QuestionResult]) -> dict[str, object]:
    """The report's numbers: retrieval per method and group, answers, abstention, latency."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        for key in group_keys(r):
            groups.setdefault(key, []).append(r)
    retrieval = {
        method: {key: retrieval_summary([r.ranks.get(method) for r in rows
                                         if r.expected_answerable])
                 for key, rows in groups.items()
                 if any(r.expected_answerable for r in rows) and method in _methods(results)}
        for method in _methods(results)}
    answers = {key: _answer_summary(rows) for key, rows in groups.items()}
    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "retrieval": retrieval,
        "answers": answers,
        "latency_ms": {"median": median(latencies), "p95": percentile(latencies, 0.95)},
        "misses": [asdict(r) for r in results if _missed(r)],
    }


def _methods(results: Sequence[QuestionResult]) -> list[str]:
    present = {m for r in results for m in r.ranks}
    return [m for m in METHODS if m in present]


def _answer_summary(rows: Sequence[QuestionResult]) -> dict[str, float]:
    answerable = [r for r in rows if r.expected_answerable]
    unanswerable = [r for r in rows if not r.expected_answerable]
    abstained = [r for r in rows if not r.answered]
    caught = sum(1 for r in abstained if not r.expected_answerable)
    return {
        "n": float(len(rows)),
        "accuracy": sum(r.correct for r in answerable) / len(answerable) if answerable else 0.0,
        "abstain_precision": caught / len(abstained) if abstained else 1.0,
        "abstain_recall": caught / len(unanswerable) if unanswerable else 1.0,
        "citations_valid": sum(r.citations_valid for r in rows) / len(rows) if rows else 1.0,
    }


def _missed(r: QuestionResult) -> bool:
    if not r.expected_answerable:
        return r.answered
    rank = r.ranks.get("hybrid")
    return not r.correct or rank is None or rank > 5 or not r.citations_valid
