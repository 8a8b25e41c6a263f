"""Scoring retrieved passages and answers against known answers."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from functools import lru_cache

from index.normalise import matching_form
from index.types import Chunk
from service.dates import with_date_keys
from service.questions import Question

RECALL_KS = (1, 5, 10)


@lru_cache(maxsize=65536)
def _folded(text: str) -> str:
    return matching_form(text)


@lru_cache(maxsize=65536)
def _answer_form(text: str) -> str:
    # dates as keys first: 「2021年12月30日」 and "30 December 2021" are one answer
    return matching_form(with_date_keys(text))


# A count's classifier (「4項」, 「22個」): an English reply gives the bare figure ("4"),
# which answers as well, where it stands as a whole number of its own.
_COUNTER_TAIL = re.compile(r"(\d)\s*[项个件款家所台篇座套张]$")


def contains_evidence(chunk: Chunk, question: Question) -> bool:
    """True when the chunk holds one of the question's evidence strings from its document."""
    return holds_evidence(chunk.doc_id, judged_text(chunk), question)


def judged_text(chunk: Chunk) -> str:
    """What of a chunk recall is judged on: its exact span, after the header lines it
    carries (a table's column labels, repeated on every chunk cut from the table)."""
    return chunk.context + "\n" + chunk.text


def holds_evidence(doc_id: str, text: str, question: Question) -> bool:
    """True when `text`, a passage of document `doc_id`, holds one of the question's
    evidence strings from that document after the shared normalisation (width, script,
    case, markup and whitespace folded). Any retriever's passages are judged by this, so
    recall@k means the same for Wenda and for the peers in eval/bench_peers.py."""
    folded = _folded(text)
    return any(e.doc_id == doc_id and _folded(e.text) in folded for e in question.evidence)


def evidence_rank(chunks: Sequence[Chunk], question: Question) -> int | None:
    """1-based rank of the first chunk holding evidence, None when none does."""
    for rank, chunk in enumerate(chunks, start=1):
        if contains_evidence(chunk, question):
            return rank
    return None


def answer_correct(answer: str, question: Question) -> bool:
    """The answer text contains an accepted answer, after the shared normalisation."""
    folded = _answer_form(answer)
    for accepted in (a for a in question.answers if a.strip()):
        form = _answer_form(accepted)
        if form in folded:
            return True
        bare = _COUNTER_TAIL.sub(r"\1", form)
        if bare != form and re.search(rf"(?<![\d.]){re.escape(bare)}(?![\d.])", folded):
            return True
    return False


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int = 10) -> float:
    return sum(1 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def retrieval_summary(ranks: Sequence[int | None]) -> dict[str, float]:
    summary = {f"recall@{k}": recall_at(ranks, k) for k in RECALL_KS}
    summary["mrr@10"] = mrr_at(ranks, 10)
    summary["n"] = float(len(ranks))
    return summary


def percentile(values: Iterable[float], q: float) -> float:
    data = sorted(values)
    if not data:
        return 0.0
    index = min(len(data) - 1, max(0, round(q * (len(data) - 1))))
    return data[index]


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else 0.0
