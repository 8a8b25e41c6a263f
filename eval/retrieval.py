"""Retrieval quality per method, question script and cross-lingual flag."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eval.metrics import evidence_rank, retrieval_summary
from eval.questions import Question
from index.types import Chunk

Search = Callable[[str, int], Sequence[Chunk]]


@dataclass(frozen=True)
class RankedQuestion:
    question: Question
    method: str
    rank: int | None
    top: tuple[str, ...]  # chunk ids of the top hits


def rank_questions(questions: Sequence[Question], method: str, search: Search,
                   k: int = 10) -> list[RankedQuestion]:
    """Run every answerable question through `search` and record where evidence ranks."""
    out = []
    for q in questions:
        if not q.answerable:
            continue
        chunks = search(q.question, k)
        out.append(RankedQuestion(q, method, evidence_rank(chunks, q),
                                  tuple(c.chunk_id for c in chunks)))
    return out


def groups(q: Question) -> list[str]:
    """The report rows a question counts in."""
    rows = ["all", f"script {q.script}"]
    rows.append("cross-lingual" if q.cross_lingual else "same-language")
    return rows


def summarise(ranked: Sequence[RankedQuestion]) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {group: {recall@1, recall@5, recall@10, mrr@10, n}}}."""
    table: dict[str, dict[str, list[int | None]]] = {}
    for r in ranked:
        for group in groups(r.question):
            table.setdefault(r.method, {}).setdefault(group, []).append(r.rank)
    return {method: {group: retrieval_summary(ranks) for group, ranks in by_group.items()}
            for method, by_group in table.items()}
