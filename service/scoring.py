"""Scoring known-answer questions through the API's own answer path: retrieval ranks per
method, answer correctness, abstention (and whether it names what is missing), and what a
reply must be: in the asker's language, without markup, every figure in a citation.

`wenda eval` (eval/cli.py) and the API's evaluation jobs both run this."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from index.normalise import matching_form
from index.script import detect_script, is_cjk
from index.types import Document
from service.access import Filters
from service.answer import Answer
from service.api.backend import Backend
from service.compose import cited_texts, verified
from service.metrics import answer_correct, evidence_rank, median, percentile, retrieval_summary
from service.questions import Question

METHODS = ("bm25", "dense", "hybrid", "generic")
K = 10
Progress = Callable[[int, int], None]
ExtraRanks = Callable[[Question], dict[str, int | None]]  # more methods (a baseline)
_MARKUP = re.compile(r"<[A-Za-z/][^<>]{0,40}>|\*\*|^#{1,6}\s", re.M)


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
    answer_type: str = ""
    tags: list[str] = field(default_factory=list)
    names_missing: bool = False  # an abstention that names what the question says is missing
    expects_missing: bool = False  # the question names what its abstention must say
    language_ok: bool = True  # the reply is in the asker's language (and script)
    markup_free: bool = True
    figures_cited: bool = True  # every figure of the reply stands in a citation


def _no_progress(done: int, total: int) -> None:
    return None


def evaluate(backend: Backend, questions: Sequence[Question], progress: Progress = _no_progress,
             filters: Filters | None = None, extra: ExtraRanks | None = None
             ) -> list[QuestionResult]:
    """Every question through retrieval (each method) and the answer path the API uses,
    seeing only the documents `filters` allow (an API key's access groups)."""
    filters = filters or Filters()
    results = []
    for done, q in enumerate(questions, start=1):
        result = QuestionResult(q.id, q.question, q.script, q.type, q.cross_lingual,
                                list(q.doc_ids), q.answerable, tags=list(q.tags))
        if q.answerable and not q.history:
            for method in ("bm25", "dense"):
                hits = backend.search(q.question, K, filters, method)
                result.ranks[method] = evidence_rank([h.chunk for h in hits], q)
            if extra is not None:
                result.ranks |= extra(q)
        started = time.perf_counter()
        answer = backend.answer(q.question, K, filters, "auto", list(q.history))
        result.latency_ms = (time.perf_counter() - started) * 1000
        if q.answerable:
            result.ranks["hybrid"] = evidence_rank([h.chunk for h in answer.passages], q)
        score_answer(backend.documents, q, answer, result)
        results.append(result)
        progress(done, len(questions))
    return results


def score_answer(documents: Mapping[str, Document], q: Question, answer: Answer,
                 result: QuestionResult) -> None:
    """Correctness, abstention, the reply's language, markup and figures, and whether every
    citation quotes exactly its span."""
    result.answered = answer.answerable
    result.answer = answer.answer
    result.answer_type = answer.answer_type
    result.correct = q.answerable and answer.answerable and answer_correct(answer.answer, q)
    result.cited = [f"{c.doc_id}:{c.line_start}-{c.line_end}" for c in answer.citations]
    result.citations_valid = all(
        c.doc_id in documents and documents[c.doc_id].text[c.char_start:c.char_end] == c.quote
        for c in answer.citations)
    reply = matching_form(answer.answer)
    result.expects_missing = bool(q.missing)
    result.names_missing = not answer.answerable and any(
        matching_form(m) in reply for m in q.missing)
    result.language_ok = reply_in_script(answer.answer, q.script)
    result.markup_free = not _MARKUP.search(answer.answer)
    result.figures_cited = not answer.answerable or verified(
        answer.answer, cited_texts(answer.citations))


def reply_in_script(reply: str, script: str) -> bool:
    """Whether a reply speaks the asker's language: an English asker gets English words (a
    Chinese quote may follow them), a Chinese asker Chinese in their own script."""
    frame = re.sub(r"\[\d+\]", "", reply.split(":", 1)[0] if script == "en" else reply)
    latin = sum(ch.isascii() and ch.isalpha() for ch in frame)
    han = sum(is_cjk(ch) for ch in frame)
    if script == "en":
        return latin > 0 and latin >= han
    if han == 0:
        return False
    return detect_script(frame, default=script) == script  # type: ignore[arg-type]


def group_keys(r: QuestionResult) -> list[str]:
    keys = ["all", f"script:{r.script}",
            "cross-lingual" if r.cross_lingual else "same-language", f"type:{r.type}"]
    keys += [f"doc:{d}" for d in r.doc_ids] + [f"tag:{t}" for t in r.tags]
    return keys


def summarise(results: Sequence[QuestionResult]) -> dict[str, object]:
    """The report's numbers: retrieval per method and group, answers, abstention, replies,
    latency."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        for key in group_keys(r):
            groups.setdefault(key, []).append(r)
    retrieval = {
        method: {key: retrieval_summary([r.ranks.get(method) for r in rows
                                         if r.expected_answerable])
                 for key, rows in groups.items()
                 if any(r.expected_answerable and method in r.ranks for r in rows)}
        for method in _methods(results)}
    answers = {key: _answer_summary(rows) for key, rows in groups.items()}
    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "retrieval": retrieval,
        "answers": answers,
        "replies": _reply_summary(results),
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


def _reply_summary(results: Sequence[QuestionResult]) -> dict[str, object]:
    answered = [r for r in results if r.answered]
    named = [r for r in results if r.expects_missing]
    lengths: dict[str, list[float]] = {}
    for r in answered:
        lengths.setdefault(r.answer_type, []).append(float(len(r.answer)))
    def share(rows: Sequence[QuestionResult], key: str) -> float:
        return sum(getattr(r, key) for r in rows) / len(rows) if rows else 1.0

    return {"language_ok": share(results, "language_ok"),
            "markup_free": share(results, "markup_free"),
            "figures_cited": share(answered, "figures_cited"),
            "abstentions_naming_missing": share(named, "names_missing"),
            "median_length": {k: median(v) for k, v in sorted(lengths.items())}}


def _missed(r: QuestionResult) -> bool:
    if not r.expected_answerable:
        return r.answered
    rank = r.ranks.get("hybrid")
    return not r.correct or rank is None or rank > 5 or not r.citations_valid
