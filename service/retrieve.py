"""Hybrid retrieval: BM25 with cross-lingual expansion, dense search, and their fusion."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from index.cedict import STOP_WORDS
from index.dense import search_dense
from index.embed import Embedder
from index.lexicon import Lexicon
from index.normalise import dense_form, matching_form
from index.reader import LoadedIndex
from index.script import detect_script
from index.types import Chunk, Script
from service.access import Filters, visible
from service.phrases import Phrase, phrase_share, question_phrases

Method = Literal["hybrid", "bm25", "dense"]
_ENGLISH_WORD = re.compile(r"[a-z][a-z'-]+")
# Words that shape a question but name nothing to look for, so are not translated.
_QUESTION_WORDS = frozenset("""how much many what which who when where why whom whose does did
do is are was were the a an of in on for to by with its it report reported company group
according year years total number amount s""".split())


# How questions name a kind of filing ("according to the prospectus", 业绩公告), by the
# manifest's doc_type; in matching form.
DOC_TYPE_NAMES = {
    "prospectus": ("prospectus", "listing document", "招股章程", "招股书", "上市文件"),
    "annual-results": ("annual results", "results announcement", "业绩公告", "年度业绩",
                       "全年业绩"),
    "interim-results": ("interim results", "interim report", "中期业绩", "中期报告"),
    "annual-report": ("annual report", "年报", "年度报告"),
    "esg-report": ("esg report", "sustainability report", "esg报告", "可持续发展报告",
                   "环境、社会及管治报告"),
}


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
class Allowed:
    """The allowed-set of one search: documents the filters admit, and a mask of their rows."""

    doc_ids: frozenset[str]
    rows: np.ndarray = field(compare=False)


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
    # each question token with the forms that count as finding it: itself and each of its
    # translations, a form being tokens that must all be present (定期, 存款, 定期存款)
    forms: dict[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)  # how telling finding each token is
    phrases: list[Phrase] = field(default_factory=list)  # English word pairs


def language(script: str) -> str:
    return "en" if script == "en" else "zh"


def _other(lang: str) -> str:
    return "zh" if lang == "en" else "en"


def _ranks(ranking: list[tuple[int, float]]) -> dict[int, int]:
    ranks: dict[int, int] = {}
    for rank, (row, _) in enumerate(ranking, start=1):
        ranks.setdefault(row, rank)
    return ranks


class Retriever:
    """Searches one loaded index with one embedding model; safe to share across threads."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, lexicon: Lexicon,
                 fusion: FusionSettings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.lexicon = lexicon
        self.fusion = fusion or FusionSettings()
        self._masks: dict[Filters, Allowed] = {}
        scripts = np.array([language(c.script) for c in index.chunks])
        self._language_mask = {lang: scripts == lang for lang in ("en", "zh")}
        self._aliases = {doc_id: [matching_form(a) for a in doc.meta.aliases]
                         for doc_id, doc in index.store.documents.items()}
        self._doc_types = {doc_id: doc.meta.doc_type
                           for doc_id, doc in index.store.documents.items()}
        self._tokens = index.keyword.row_tokens(len(index.chunks))
        self._df = Counter(t for tokens in self._tokens for t in tokens)
        self._vocabulary: dict[str, set[str]] = {"en": set(), "zh": set()}
        for chunk, tokens in zip(index.chunks, self._tokens, strict=True):
            self._vocabulary[language(chunk.script)].update(tokens)
        self._shared = {t for t in self._vocabulary["zh"] if t.isascii()}
        self._known: dict[tuple[str, str], bool] = {}

    def plan(self, question: str) -> QueryPlan:
        """Tokens for the question's own language, and translated ones for the other."""
        matching = matching_form(question)
        plan = QueryPlan(question, detect_script(question, default="zh-Hans"), matching)
        native = Counter(self.index.tokenizer.tokens(matching))
        plan.tokens = {token: float(count) for token, count in native.items()}
        translated: dict[str, float] = {}
        english = [w for w in _ENGLISH_WORD.findall(matching) if w not in _QUESTION_WORDS]
        if english:
            for term, weight in self.lexicon.expand_english(english, self._knows("zh")):
                self._add_term(translated, term, weight)
        chinese = [t for t in native if not t.isascii()]
        if chinese:
            for term, weight in self.lexicon.expand_chinese(chinese, self._knows("en")):
                self._add_term(translated, term, weight)
        # Names, codes and figures ("EBITDA", "GPU", "2023") are shared by both languages.
        shared = {t: w for t, w in plan.tokens.items()
                  if t.isascii() and (language(plan.script) == "zh" or t in self._shared)}
        plan.translated = {**translated, **shared}
        plan.forms = {t: self._forms(t) for t in plan.tokens}
        plan.idf = {t: self._idf(forms) for t, forms in plan.forms.items()}
        if language(plan.script) == "en":
            plan.phrases = question_phrases(matching, _QUESTION_WORDS | STOP_WORDS,
                                            self._chinese_terms, lambda t: plan.idf.get(t, 1.0))
        return plan

    def _chinese_terms(self, word: str) -> list[str]:
        return [matching_form(t) for t, _ in self.lexicon.expand_english([word], self._knows("zh"))]

    def _forms(self, token: str) -> tuple[frozenset[str], ...]:
        forms = {frozenset([token])}
        if token.isascii() and token.isalpha():
            terms = self.lexicon.expand_english([token], self._knows("zh"))
        elif not token.isascii():
            terms = self.lexicon.expand_chinese([token], self._knows("en"))
        else:
            terms = []
        for term, _ in terms:
            tokens = frozenset(self.index.tokenizer.tokens(matching_form(term)))
            if tokens:
                forms.add(tokens)
        return tuple(forms)

    def _knows(self, lang: str) -> Callable[[str], bool]:
        """Whether passages in `lang` use a term: translations they never use find nothing,
        and would crowd out the dictionary's later senses that they do use."""
        vocabulary = self._vocabulary[lang]

        def known(term: str) -> bool:
            key = (lang, term)
            if key not in self._known:
                tokens = self.index.tokenizer.tokens(matching_form(term))
                self._known[key] = bool(tokens) and all(t in vocabulary for t in tokens)
            return self._known[key]
        return known

    def _add_term(self, weights: dict[str, float], term: str, weight: float) -> None:
        tokens = self.index.tokenizer.tokens(matching_form(term))
        for token in tokens:
            weights[token] = max(weights.get(token, 0.0), weight / max(1, len(tokens) - 1))

    def search(self, question: str, k: int = 10, filters: Filters | None = None,
               method: Method = "hybrid") -> list[Hit]:
        """The top `k` chunks for `question`, best first, after `filters`."""
        plan = self.plan(question)
        # The one allowed-set: every ranking, the parallel editions and the named-document
        # scaling see only these rows, so nothing outside it is scored or returned.
        allowed = self._allowed(filters) if filters and filters.active() else None
        pool = max(k, self.fusion.pool)
        same, other = self._bm25(plan, pool, allowed) if method != "dense" else ([], [])
        dense = self._dense(plan, pool, allowed) if method != "bm25" else []
        f = self.fusion
        if method == "dense":
            return [Hit(self.index.chunks[r], s, dense_rank=i + 1)
                    for i, (r, s) in enumerate(dense[:k])]
        if method == "bm25":
            return self._fuse(plan, [(same, 1.0), (other, 1.0)], f.coverage, allowed)[:k]
        return self._fuse(plan, [(same, f.same_language), (other, f.other_language),
                                 (dense, f.dense)], f.coverage, allowed)[:k]

    def _bm25(self, plan: QueryPlan, pool: int, allowed: Allowed | None
              ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """BM25 ranked separately per document language.

        Native tokens rank passages in the question's language; translated tokens rank the
        other language on its own, so its best passage is not buried under weak matches of
        the question's own words (an English question always half-matches the English report).
        """
        rankings = []
        for lang, tokens in ((language(plan.script), plan.tokens),
                             (_other(language(plan.script)), plan.translated)):
            mask = self._language_mask[lang] if allowed is None else (
                self._language_mask[lang] & allowed.rows)
            scores = self.index.keyword.scores(tokens, len(self.index.chunks), mask)
            top = np.argsort(-scores, kind="stable")[:pool]
            rankings.append([(int(r), float(scores[r])) for r in top if scores[r] > 0])
        return rankings[0], rankings[1]

    def _dense(self, plan: QueryPlan, pool: int, allowed: Allowed | None
               ) -> list[tuple[int, float]]:
        vector = self.embedder.embed_queries([dense_form(plan.text)])[0]
        rows = np.flatnonzero(allowed.rows) if allowed is not None else None
        scores, ids = search_dense(self.index.dense, vector, pool, rows)
        return [(int(i), float(s)) for s, i in zip(scores, ids, strict=True)]

    def _fuse(self, plan: QueryPlan, rankings: list[tuple[list[tuple[int, float]], float]],
              coverage: float, allowed: Allowed | None) -> list[Hit]:
        scores: dict[int, float] = {}
        for ranking, weight in rankings:
            for rank, (row, _) in enumerate(ranking, start=1):
                scores[row] = scores.get(row, 0.0) + weight / (self.fusion.rrf_k + rank)
        if coverage:
            for row in scores:
                scores[row] += coverage * self.coverage(plan, row)
        if plan.phrases and self.fusion.phrases:
            for row in scores:
                share = phrase_share(plan.phrases, self.index.chunks[row].matching)
                scores[row] += self.fusion.phrases * share
        named = self.named_documents(plan, allowed)
        if named:
            for row in scores:
                if self.index.chunks[row].doc_id not in named:
                    scores[row] *= self.fusion.other_company
        for row, score in sorted(scores.items(), key=lambda item: -item[1])[:self.fusion.pool]:
            for twin, _ in self.index.parallel.get(row, ()):
                if allowed is None or allowed.rows[twin]:
                    scores[twin] = max(scores.get(twin, 0.0), score * self.fusion.parallel)
        bm25_rank = _ranks(rankings[0][0] + rankings[1][0]) if len(rankings) > 1 else {}
        dense_rank = _ranks(rankings[2][0]) if len(rankings) > 2 else {}
        hits = [Hit(self.index.chunks[row], score, bm25_rank.get(row), dense_rank.get(row))
                for row, score in scores.items()]
        hits.sort(key=lambda h: (-h.score, h.chunk.doc_id, h.chunk.ordinal))
        return hits

    def named_documents(self, plan: QueryPlan, allowed: Allowed | None = None) -> set[str]:
        """Documents of the company and kind of filing the question names, among the
        `allowed` ones; empty when it names neither, or names what all of them are."""
        everything = set(self._aliases) if allowed is None else set(allowed.doc_ids)
        by_company = {doc_id for doc_id, aliases in self._aliases.items()
                      if doc_id in everything and any(alias in plan.matching for alias in aliases)}
        kinds = {kind for kind, names in DOC_TYPE_NAMES.items()
                 if any(name in plan.matching for name in names)}
        by_kind = {doc_id for doc_id, kind in self._doc_types.items()
                   if doc_id in everything and kind in kinds}
        named = everything
        for subset in (by_company, by_kind):
            if subset:
                named = named & subset
        return named if named != everything else set()

    def coverage(self, plan: QueryPlan, row: int) -> float:
        """IDF-weighted share of the question's tokens found in a chunk, in any language."""
        total = sum(plan.idf.values())
        return sum(plan.idf[t] for t in self.found_words(plan, row)) / total if total else 0.0

    def found_words(self, plan: QueryPlan, row: int) -> list[str]:
        """The question's tokens a chunk holds in one of their forms."""
        found = self._tokens[row]
        return [t for t, forms in plan.forms.items() if any(f <= found for f in forms)]

    def _idf(self, forms: tuple[frozenset[str], ...]) -> float:
        """How telling it is to find a word in any of its forms; a word found through a common
        translation ('year' as 年) tells little, however rare the word is in English."""
        df = max(min(self._df.get(t, 0) for t in form) for form in forms)
        return math.log((len(self._tokens) + 1) / (df + 0.5))

    def _allowed(self, filters: Filters) -> Allowed:
        """The documents `filters` admit and their rows (cached per distinct filter)."""
        allowed = self._masks.get(filters)
        if allowed is None:
            keep = frozenset(visible(self.index.store.documents, filters))
            rows = np.array([c.doc_id in keep for c in self.index.chunks], dtype=bool)
            allowed = Allowed(keep, rows)
            if len(self._masks) < 256:
                self._masks[filters] = allowed
        return allowed
