"""Hybrid retrieval: BM25 with cross-lingual expansion, dense search, and their fusion."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from index.embed import Embedder
from index.normalise import dense_form
from index.reader import LoadedIndex
from index.types import Chunk
from service.access import Filters, visible
from service.phrases import phrase_share
from service.query import Query
from service.search_backend import Allowed, EmbeddedBackend, SearchBackend
from service.vocabulary import Vocabulary, language

Method = Literal["hybrid", "bm25", "dense"]


@dataclass(frozen=True)
class FusionSettings:
    """How the three rankings are fused (chosen on the known-answer questions; see README).

    Weighted reciprocal rank fusion of BM25 over passages in the question's language, BM25
    over the other language with translated tokens, and dense search; plus a coverage term:
    the IDF-weighted share of the question's words (or their translations) a passage holds,
    which is comparable across languages where raw BM25 scores are not.
    """

    rrf_k: float = 60.0
    pool: int = 50  # candidates taken from each ranking
    same_language: float = 1.0
    other_language: float = 1.0
    dense: float = 0.3
    coverage: float = 0.02
    phrases: float = 0.02  # share of an English question's word pairs found side by side
    # A question that names a company ("Zhipu's ...", "商湯的...") or a kind of filing ("the
    # prospectus") scales down passages from other documents by this factor rather than
    # excluding them.
    other_company: float = 0.5
    # A passage's translation in the parallel edition ranks just below it, so a question
    # in any script finds the passage in both editions.
    parallel: float = 0.9


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None


def _other(lang: str) -> str:
    return "zh" if lang == "en" else "en"


def _ranks(ranking: list[tuple[int, float]]) -> dict[int, int]:
    ranks: dict[int, int] = {}
    for rank, (row, _) in enumerate(ranking, start=1):
        ranks.setdefault(row, rank)
    return ranks


def _asked_weights(plan: Query) -> tuple[list[tuple[str, float]], float]:
    """The years asked with their weights, and the weight of all the question asks: the
    same for every passage, so read once and kept on the frozen query. The years count too:
    they tell the 2023 passage from the 2022 one."""
    def read() -> tuple[list[tuple[str, float]], float]:
        years = [(str(y), plan.idf.get(str(y), 0.0)) for y in plan.years]
        return years, sum([c.weight for c in plan.concepts]) + sum([w for _, w in years])

    return plan.kept("_asked_weights", read)


class Retriever:
    """Searches one loaded index with one embedding model; safe to share across threads.

    The index, model and vocabulary are given once; each search takes its `Query` and
    filters, and touches nothing else. The rankings and passages come from `backend`
    (service/search_backend.py; the embedded bm25s and FAISS of `index` by default).
    """

    def __init__(self, index: LoadedIndex, embedder: Embedder, vocabulary: Vocabulary,
                 fusion: FusionSettings | None = None,
                 backend: SearchBackend | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.vocabulary = vocabulary
        self.fusion = fusion or FusionSettings()
        self.backend = backend or EmbeddedBackend(index)
        self._masks: dict[Filters, Allowed] = {}

    def search(self, query: Query, k: int = 10, filters: Filters | None = None,
               method: Method = "hybrid") -> list[Hit]:
        """The top `k` chunks for `query`, best first, after `filters`."""
        plan = query if query.vector is not None or method == "bm25" else replace(
            query, vector=self.query_vector(query))
        # The one allowed-set: every ranking, the parallel editions and the named-document
        # scaling see only these rows, so nothing outside it is scored or returned.
        allowed = self._allowed(filters) if filters and filters.active() else None
        pool = max(k, self.fusion.pool)
        same, other = self._bm25(plan, pool, allowed) if method != "dense" else ([], [])
        dense = self._dense(plan, pool, allowed) if method != "bm25" else []
        f = self.fusion
        if method == "dense":
            chunks = self.index.chunks.many([r for r, _ in dense[:k]])
            return [Hit(chunk, s, dense_rank=i + 1)
                    for i, ((_, s), chunk) in enumerate(zip(dense[:k], chunks, strict=True))]
        if method == "bm25":
            return self._fuse(plan, [(same, 1.0), (other, 1.0)], f.coverage, allowed, k)[:k]
        return self._fuse(plan, [(same, f.same_language), (other, f.other_language),
                                 (dense, f.dense)], f.coverage, allowed, k)[:k]

    def _bm25(self, plan: Query, pool: int, allowed: Allowed | None
              ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """BM25 ranked separately per document language.

        Native tokens rank passages in the question's language; translated tokens rank the
        other language on its own, so its best passage is not buried under weak matches of
        the question's own words (an English question always half-matches the English report).
        """
        rankings = [self.backend.keyword(tokens, lang, pool, allowed)
                    for lang, tokens in ((language(plan.script), plan.tokens),
                                         (_other(language(plan.script)), plan.translated))]
        return rankings[0], rankings[1]

    def _dense(self, plan: Query, pool: int, allowed: Allowed | None
               ) -> list[tuple[int, float]]:
        vector = plan.vector if plan.vector is not None else self.query_vector(plan)
        return self.backend.dense(vector, pool, allowed)

    def query_vector(self, query: Query) -> np.ndarray:
        """The query's dense vector (what it searches: a follow-up completed)."""
        return self.embedder.embed_queries([dense_form(query.search_text)])[0]

    def _fuse(self, plan: Query, rankings: list[tuple[list[tuple[int, float]], float]],
              coverage: float, allowed: Allowed | None, k: int) -> list[Hit]:
        """The best `k` fused rows as hits (only those are read from the chunk store)."""
        scores: dict[int, float] = {}
        for ranking, weight in rankings:
            for rank, (row, _) in enumerate(ranking, start=1):
                scores[row] = scores.get(row, 0.0) + weight / (self.fusion.rrf_k + rank)
        if coverage:
            for row in scores:
                scores[row] += coverage * self.coverage(plan, row)
        if plan.phrases and self.fusion.phrases:
            rows = list(scores)
            for row, matching in zip(rows, self.index.chunks.texts("matching", rows),
                                     strict=True):
                scores[row] += self.fusion.phrases * phrase_share(plan.phrases, matching)
        named = self.named_documents(plan, allowed)
        columns = self.index.columns
        if named:
            for row in scores:
                if columns.doc_id(row) not in named:
                    scores[row] *= self.fusion.other_company
        for row, score in sorted(scores.items(), key=lambda item: -item[1])[:self.fusion.pool]:
            for twin, _ in self.index.parallel.get(row, ()):
                if allowed is None or allowed.rows[twin]:
                    scores[twin] = max(scores.get(twin, 0.0), score * self.fusion.parallel)
        bm25_rank = _ranks(rankings[0][0] + rankings[1][0]) if len(rankings) > 1 else {}
        dense_rank = _ranks(rankings[2][0]) if len(rankings) > 2 else {}
        # best first, ties by document and place in it (codes order as the doc_ids do)
        best = sorted(scores, key=lambda r: (-scores[r], columns.doc[r], columns.ordinal[r]))[:k]
        return [Hit(chunk, scores[row], bm25_rank.get(row), dense_rank.get(row))
                for row, chunk in zip(best, self.index.chunks.many(best), strict=True)]

    def named_documents(self, plan: Query, allowed: Allowed | None = None) -> set[str]:
        """Documents of the company and kind of filing the question names, among the
        `allowed` ones; empty when it names neither, or names what all of them are."""
        documents = self.vocabulary.documents
        everything = set(documents) if allowed is None else set(allowed.doc_ids)
        by_company = set(plan.companies) & everything
        by_kind = {d for d in everything if documents[d].doc_type in plan.doc_types}
        named = everything
        for subset in (by_company, by_kind):
            if subset:
                named = named & subset
        return named if named != everything else set()

    def coverage(self, plan: Query, row: int) -> float:
        """IDF-weighted share of the question's concepts found in a chunk, in any language:
        the measure evidence uses too (a term of several words counts whole)."""
        if not plan.concepts:
            total = sum(plan.idf.values())
            return sum(plan.idf[t] for t in self.found_words(plan, row)) / total if total else 0.0
        found = self.vocabulary.row_tokens[row]
        years, total = _asked_weights(plan)
        # (list comprehensions, not generators: this runs for every fused passage)
        held = sum([c.weight * c.found(found) for c in plan.concepts]) + sum(
            [w for year, w in years if year in found])
        return held / total if total else 0.0

    def found_words(self, plan: Query, row: int) -> list[str]:
        """The question's tokens a chunk holds in one of their forms."""
        found = self.vocabulary.row_tokens[row]
        return [t for t, forms in plan.forms.items() if any(f <= found for f in forms)]

    def allowed_documents(self, filters: Filters | None) -> frozenset[str]:
        """The documents `filters` admit: the allowed-set of a search with them."""
        if filters is None or not filters.active():
            return frozenset(self.index.store.documents)
        return self._allowed(filters).doc_ids

    def _allowed(self, filters: Filters) -> Allowed:
        """The documents `filters` admit and their rows (cached per distinct filter)."""
        allowed = self._masks.get(filters)
        if allowed is None:
            keep = frozenset(visible(self.index.store.documents, filters))
            rows = self.index.columns.of_documents(keep)
            allowed = Allowed(keep, rows, filters)
            if len(self._masks) < 256:
                self._masks[filters] = allowed
        return allowed
