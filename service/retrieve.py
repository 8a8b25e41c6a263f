"""Hybrid retrieval: BM25 with cross-lingual expansion, dense search, and their fusion."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Literal

import numpy as np

from index.dense import search_dense
from index.embed import Embedder
from index.lexicon import Lexicon
from index.normalise import dense_form, matching_form
from index.reader import LoadedIndex
from index.script import converter, detect_script
from index.types import Chunk, Script

Method = Literal["hybrid", "bm25", "dense"]
_ENGLISH_WORD = re.compile(r"[a-z][a-z'-]+")
# Words that shape a question but name nothing to look for, so are not translated.
_QUESTION_WORDS = frozenset(["how", "much", "many", "what", "which", "who", "when", "where", "why", "whom", "whose", "does", "did", "do", "is", "are", "was", "were", "the", "a", "an", "of", "in", "on", "for", "to", "by", "with", "its", "it", "report", "reported", "company", "group", "according", "year", "years", "total", "number", "amount", "s"])


@dataclass(frozen=True)
class Filters:
    """Metadata every hit must match; empty fields do not filter."""

    doc_ids: frozenset[str] = frozenset()
    companies: frozenset[str] = frozenset()
    years: frozenset[int] = frozenset()
    scripts: frozenset[str] = frozenset()
    doc_types: frozenset[str] = frozenset()
    groups: frozenset[str] | None = None  # caller's access groups; None: unrestricted

    def active(self) -> bool:
        return bool(self.doc_ids or self.companies or self.years or self.scripts
                    or self.doc_types or self.groups is not None)


@dataclass(frozen=True)
class FusionSettings:
    """Weighted reciprocal rank fusion; the weights depend on whether the question's
    language is the passage's (keyword matching is strong there) or not (dense is)."""

    rrf_k: float = 60.0
    pool: int = 50  # candidates taken from each ranking
    same_language: tuple[float, float] = (1.0, 0.7)  # (bm25, dense)
    cross_language: tuple[float, float] = (0.8, 1.0)
    expansion_weight: float = 0.5  # share of a query word's weight given to translations


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None


@dataclass
class QueryPlan:
    """How one question is searched: its forms, script, and weighted keyword tokens."""

    text: str
    script: Script
    matching: str
    tokens: dict[str, float] = field(default_factory=dict)  # for its own language
    translated: dict[str, float] = field(default_factory=dict)  # for the other language


def language(script: str) -> str:
    return "en" if script == "en" else "zh"


def _other(lang: str) -> str:
    return "zh" if lang == "en" else "en"


def _zh_vocabulary_ascii(index: LoadedIndex) -> set[str]:
    """Latin tokens that occur in Chinese passages (names, codes, figures)."""
    found: set[str] = set()
    for chunk in index.chunks:
        if chunk.script != "en":
            found.update(t for t in index.tokenizer.tokens(chunk.matching) if t.isascii())
    return found


class Retriever:
    """Searches one loaded index with one embedding model; safe to share across threads."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, lexicon: Lexicon,
                 fusion: FusionSettings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.lexicon = lexicon
        self.fusion = fusion or FusionSettings()
        self._masks: dict[Filters, np.ndarray] = {}
        scripts = np.array([language(c.script) for c in index.chunks])
        self._language_mask = {lang: scripts == lang for lang in ("en", "zh")}
        self._shared = _zh_vocabulary_ascii(index)

    def plan(self, question: str) -> QueryPlan:
        """Tokens for the question's own language, and translated ones for the other."""
        matching = matching_form(question)
        plan = QueryPlan(question, detect_script(question, default="zh-Hans"), matching)
        native = Counter(self.index.tokenizer.tokens(matching))
        plan.tokens = {token: float(count) for token, count in native.items()}
        translated: dict[str, float] = {}
        english = [w for w in _ENGLISH_WORD.findall(matching) if w not in _QUESTION_WORDS]
        if english:
            for term, weight in self.lexicon.expand_english(english):
                self._add_term(translated, term, weight)
        chinese = [t for t in native if not t.isascii()]
        if chinese:
            for term, weight in self.lexicon.expand_chinese(chinese):
                self._add_term(translated, term, weight)
        # Names, codes and figures ("EBITDA", "GPU", "2023") are shared by both languages.
        shared = {t: w for t, w in plan.tokens.items()
                  if t.isascii() and (language(plan.script) == "zh" or t in self._shared)}
        plan.translated = {**translated, **shared}
        return plan

    def _add_term(self, weights: dict[str, float], term: str, weight: float) -> None:
        tokens = self.index.tokenizer.tokens(matching_form(term))
        for token in tokens:
            weights[token] = max(weights.get(token, 0.0), weight / max(1, len(tokens) - 1))

    def search(self, question: str, k: int = 10, filters: Filters | None = None,
               method: Method = "hybrid") -> list[Hit]:
        """The top `k` chunks for `question`, best first, after `filters`."""
        plan = self.plan(question)
        allowed = self._allowed(filters) if filters and filters.active() else None
        pool = max(k, self.fusion.pool)
        bm25 = self._bm25(plan, pool, allowed) if method != "dense" else []
        dense = self._dense(plan, pool, allowed) if method != "bm25" else []
        if method == "bm25":
            return [Hit(self.index.chunks[r], s, bm25_rank=i + 1)
                    for i, (r, s) in enumerate(bm25[:k])]
        if method == "dense":
            return [Hit(self.index.chunks[r], s, dense_rank=i + 1)
                    for i, (r, s) in enumerate(dense[:k])]
        return self._fuse(plan, bm25, dense)[:k]

    def _bm25(self, plan: QueryPlan, pool: int, allowed: np.ndarray | None
              ) -> list[tuple[int, float]]:
        """BM25 ranked per document language, then interleaved by rank.

        Native tokens rank passages in the question's language; translated tokens rank the
        other language on its own, so its best passage is not buried under weak matches of
        the question's own words (an English question always half-matches the English report).
        """
        rankings = []
        for lang, tokens in ((language(plan.script), plan.tokens),
                             (_other(language(plan.script)), plan.translated)):
            mask = self._language_mask[lang]
            if allowed is not None:
                mask = mask & allowed
            scores = self.index.keyword.scores(tokens, len(self.index.chunks), mask)
            top = np.argsort(-scores, kind="stable")[:pool]
            rankings.append([(int(r), float(scores[r])) for r in top if scores[r] > 0])
        merged = [item for pair in zip_longest(*rankings) for item in pair if item is not None]
        return merged[:pool]

    def _dense(self, plan: QueryPlan, pool: int, allowed: np.ndarray | None
               ) -> list[tuple[int, float]]:
        vector = self.embedder.embed_queries([dense_form(plan.text)])[0]
        rows = np.flatnonzero(allowed) if allowed is not None else None
        scores, ids = search_dense(self.index.dense, vector, pool, rows)
        return [(int(i), float(s)) for s, i in zip(scores, ids, strict=True)]

    def _fuse(self, plan: QueryPlan, bm25: list[tuple[int, float]],
              dense: list[tuple[int, float]]) -> list[Hit]:
        fusion = self.fusion
        ranks: dict[int, list[int | None]] = {}
        for rank, (row, _) in enumerate(bm25, start=1):
            ranks.setdefault(row, [None, None])[0] = rank
        for rank, (row, _) in enumerate(dense, start=1):
            ranks.setdefault(row, [None, None])[1] = rank
        hits = []
        asked = language(plan.script)
        for row, (b_rank, d_rank) in ranks.items():
            chunk = self.index.chunks[row]
            w_bm25, w_dense = (fusion.same_language if language(chunk.script) == asked
                               else fusion.cross_language)
            score = 0.0
            if b_rank is not None:
                score += w_bm25 / (fusion.rrf_k + b_rank)
            if d_rank is not None:
                score += w_dense / (fusion.rrf_k + d_rank)
            hits.append(Hit(chunk, score, b_rank, d_rank))
        hits.sort(key=lambda h: (-h.score, h.chunk.doc_id, h.chunk.ordinal))
        return hits

    def _allowed(self, filters: Filters) -> np.ndarray:
        mask = self._masks.get(filters)
        if mask is None:
            documents = self.index.store.documents
            keep = {doc_id for doc_id, doc in documents.items() if _matches(doc.meta, filters)}
            mask = np.array([c.doc_id in keep for c in self.index.chunks], dtype=bool)
            if len(self._masks) < 256:
                self._masks[filters] = mask
        return mask


def _matches(meta: object, filters: Filters) -> bool:
    from index.types import DocumentMeta

    assert isinstance(meta, DocumentMeta)
    checks = (
        not filters.doc_ids or meta.doc_id in filters.doc_ids,
        not filters.companies or meta.company in filters.companies,
        not filters.years or meta.year in filters.years,
        not filters.scripts or meta.script in filters.scripts,
        not filters.doc_types or meta.doc_type in filters.doc_types,
        filters.groups is None or not meta.groups or bool(set(meta.groups) & filters.groups),
    )
    return all(checks)


def simplified(text: str) -> str:
    return converter("t2s").convert(text)
