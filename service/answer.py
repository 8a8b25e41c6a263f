"""Extractive answers: the quoted sentence(s) or table row that answer a question, or an
honest "the documents do not say"."""

from __future__ import annotations

import math
import re
import time
import weakref
from difflib import SequenceMatcher
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from index.keyword import KeywordIndex, stem
from index.normalise import matching_form
from index.script import is_cjk
from index.types import Chunk, Document
from service.cite import Citation, cite, context_lines, conversion, header_span, \
    is_row, readable
from service.retrieve import Filters, Hit, QueryPlan, Retriever

ReplyScript = Literal["original", "zh-Hant", "zh-Hans", "auto"]
Intent = Literal["number", "date", "who", "definition", "yesno", "list", "what"]

# Calibrated on eval/questions.jsonl (205 answerable, 28 unanswerable): see answer_threshold.md
ABSTAIN_BELOW = 0.0
NOT_FOUND = {
    "zh-Hant": "文件中沒有找到這個問題的答案。",
    "zh-Hans": "文件中没有找到这个问题的答案。",
    "en": "The documents do not say.",
}
IDF_CAP = 4.5
CROSS_LINGUAL = 0.85
SEARCH_DEPTH = 10
SECOND_SENTENCE = 0.9
MISSING_NUMBER = 0.7
MISSING_NUMBER_CONFIDENCE = 0.5
PHRASE = 0.0
LENGTH = 0.0
CONTEXT_SHARE = 0.6  # credit for a question word found in the passage but not the sentence  # a runner-up within this share of the best score is quoted too


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str  # the reply text (quoted sentences; or "the documents do not say" message)
    answerable: bool
    reply_script: str  # the script actually used for converted renderings
    citations: list[Citation]
    passages: list[Hit]  # the retrieved passages, best first (shown even when abstaining)
    confidence: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    intent: str = "what"
    mode: Literal["extractive", "generated"] = "extractive"


# ---- the question: what it asks for, and which words it is about ----------------------

# Patterns run on the matching form (Simplified, lower case), so one list serves all scripts;
# the first that matches wins, so the specific kinds come before the general ones.
_INTENTS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    ("yesno", re.compile(r"是否|有没有|有无|是不是|^(?:[^,，]*[,，] ?)?(?:does|did|do|is|are|"
                         r"was|were|has|have|had|can|will)\b")),
    ("date", re.compile(r"何时|什么时候|甚么时候|哪一?年|哪一?天|哪一?日|何日|何年|哪个月|几月|"
                        r"几号|什么日期|\bwhen\b|\b(?:what|which) (?:date|year|month|day)\b")),
    ("who", re.compile(r"谁|哪位|\bwho(?:m|se)?\b")),
    ("definition", re.compile(r"什么是|什么意思|指的是|指什么|寓意|含义|定义|如何计算|怎么计算|"
                              r"什么公式|\bdefine|\bstand for\b|\bmean(?:s|ing)?\b|\bcalculate|"
                              r"\bphilosophy\b|\bcounted as\b")),
    ("list", re.compile(r"哪些|哪几|哪[两二三四五六七八九十]|包括什么|\bwhat are\b|"
                        r"\bwhich \w+ (?:are|make up)\b|\b(?:what|which) (?:two|three|four|"
                        r"five|six|seven)\b|\bmembers\b")),
    ("number", re.compile(r"多少|几|多高|多大|多长|百分之|比例|比率|占比|数值|规模|\bhow (?:much|"
                          r"many|large|big|high|long)\b|\b(?:percentage|proportion|share|ratio|"
                          r"rate|revenue|margin|ebitda|loss|profit|borrowings|emissions|"
                          r"consumption|expenses|price|amount|intensity|hours|range)\b")),
)
# Words that say what kind of answer is wanted, not what it is about.
_ASKING = frozenset("什么 甚么 多少 几 哪 哪些 哪个 哪家 哪位 哪天 哪一天 一天 哪年 哪一年 一年 "
                    "时候 什么时候 何时 何日 谁 是不是 有没有 没有 名字 叫 意思 s when who whom "
                    "date day month exactly called name".split())


def _asking(token: str) -> bool:
    return token in _ASKING or "几" in token or "多少" in token or token == "百分之"


def detect_intent(question: str) -> Intent:
    """What kind of answer the question wants, from its wording in any of the three scripts."""
    form = matching_form(question)
    return next((intent for intent, pattern in _INTENTS if pattern.search(form)), "what")


@dataclass(frozen=True)
class Concept:
    """One content word of the question, weighted by rarity, with its translations."""

    token: str  # in matching form
    weight: float
    translations: tuple[tuple[str, float], ...] = ()

    def found_in(self, form: str, words: frozenset[str]) -> float:
        """1.0 when the word itself occurs; a translation's weight (discounted) when only
        that does: a dictionary rendering is weaker evidence than the word itself."""
        if _occurs(self.token, form, words):
            return 1.0
        return CROSS_LINGUAL * max(
            (w for t, w in self.translations if _occurs(t, form, words)), default=0.0)


def _occurs(term: str, form: str, words: frozenset[str]) -> bool:
    return term in form if any(is_cjk(ch) for ch in term) else term in words


_LATIN = re.compile(r"[a-z0-9]+(?:[.][0-9]+)?%?|[a-z0-9]+")


def latin_words(form: str) -> frozenset[str]:
    """The Latin words and numbers of a matching form, stemmed as the keyword index does."""
    return frozenset(stem(w) for w in _LATIN.findall(form))


class _Rarity:
    """Document frequencies within each language's passages, filled as words are asked."""

    def __init__(self, retriever: Retriever) -> None:
        chunks = retriever.index.chunks
        self.keyword = retriever.index.keyword
        self.masks = {lang: np.array([(c.script == "en") == (lang == "en") for c in chunks])
                      for lang in ("en", "zh")}
        self.masks["all"] = np.ones(len(chunks), dtype=bool)
        self.known: dict[str, float] = {}

    def idf(self, token: str) -> float:
        """Rarity among passages of the word's own language (an English word among English
        passages), so the larger Chinese side does not make every English word look rare."""
        if token not in self.known:
            lang = "all" if token.isdigit() else "en" if token.isascii() else "zh"
            mask = self.masks[lang]
            frequency = (self.keyword.scores({token: 1.0}, len(mask), mask) > 0).sum()
            self.known[token] = min(IDF_CAP, math.log((mask.sum() + 1) / (frequency + 0.5)))
        return self.known[token]


_RARITY: weakref.WeakKeyDictionary[KeywordIndex, _Rarity] = weakref.WeakKeyDictionary()


def _idf(retriever: Retriever, token: str) -> float:
    keyword = retriever.index.keyword
    if keyword not in _RARITY:
        _RARITY[keyword] = _Rarity(retriever)
    return _RARITY[keyword].idf(token)


def question_concepts(retriever: Retriever, plan: QueryPlan) -> list[Concept]:
    """The question's content words (plan.tokens) with their other-language renderings,
    from the same lexicon the retriever expands queries with (plan.translated)."""
    lexicon = retriever.lexicon
    words = [t for t in plan.tokens if not _asking(t)]
    english = [t for t in words if t.isascii() and not t.isdigit()]
    phrases = _phrase_terms(retriever, english)
    concepts = []
    for token in words:
        if token.isdigit():
            terms: list[tuple[str, float]] = []
        elif token.isascii():
            terms = [(matching_form(t), w) for t, w in lexicon.expand_english([token])]
            terms += phrases.get(token, [])
        elif len(token) > 1:
            terms = [(stem(t.lower()), w) for t, w in lexicon.expand_chinese([token])]
        else:  # one character ("名", "时") has too many senses to translate, bar numerals
            terms = [(str(_NUMERALS.index(token) + 1), 1.0)] if token in _NUMERALS else []
        terms = [(t, min(w, plan.translated.get(t, w))) for t, w in terms if t]
        concepts.append(Concept(token, _idf(retriever, token), tuple(terms)))
    return concepts


_NUMERALS = "一二三四五六七八九十"


def _is_number(token: str) -> bool:
    return token.isdigit() or token in _NUMERALS


def _phrase_terms(retriever: Retriever, words: list[str]) -> dict[str, list[tuple[str, float]]]:
    """Translations of two-word phrases ("gearing ratio"), given to both of their words."""
    found: dict[str, list[tuple[str, float]]] = {}
    expand = retriever.lexicon.expand_english
    for first, second in zip(words, words[1:], strict=False):
        single = {t for t, _ in expand([first])} | {t for t, _ in expand([second])}
        extra = [(matching_form(t), w) for t, w in expand([first, second]) if t not in single]
        for word in (first, second):
            found.setdefault(word, []).extend(extra)
    return found


# ---- the evidence: how well a sentence or row fits the question ------------------------

_NUMBER = re.compile(r"(?<![a-z\d.])(?<![a-z]-)\d+(?:\.\d+)?")
_UNIT = re.compile(r" ?(?:%|‰|亿|万|千|百|元|人|名|吨|兆瓦|千瓦|小时|天|个|家|项|件|辆|倍|篇|所|路|门|"
                   r"次|位|美元|港元|mwh|kwh|gw|mw|tonnes?|hours?|million|billion|thousand|times|"
                   r"days|employees|people|per ?cent)")
_COUNT = re.compile(r"[一二两三四五六七八九十百千万]+[个项次名家件位辆倍]")
_MONTH = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*")
_FULL_DATE = re.compile(rf"(?:19|20)\d\d ?年 ?\d{{1,2}} ?月|\d{{1,2}} ?月 ?\d{{1,2}} ?日|"
                        rf"\b{_MONTH} (?:\d{{1,2}}, )?(?:19|20)\d\d|\d{{1,2}} {_MONTH} (?:19|20)\d\d")
_DATE_LABEL = re.compile(rf"^[-–•*#\s]*(?:(?:19|20)\d\d\s*年?\s*(?:\d{{1,2}}\s*月|{_MONTH})?|"
                         rf"{_MONTH}\s*(?:19|20)\d\d)[\s*]*$", re.I)
_YEAR = re.compile(r"(?<![\d.])(?:19|20)\d\d(?![\d.])")
_FITS: dict[Intent, tuple[re.Pattern[str], re.Pattern[str] | None, float]] = {
    "who": (re.compile(r"先生|女士|博士|教授|\b(?:mr|ms|mrs|dr|prof)\b"), None, 0.5),
    "yesno": (re.compile(r"未|没有|并无|无|不|否|已|\b(?:no|not|none|nil|never|zero)\b"), None,
              0.5),
    "definition": (re.compile(r"指|即|定义|意为|寓意|取自|\bmeans?\b|\brefer|\bdefined\b|"
                              r"\bstands? for\b|=|÷"), re.compile(r"：|:"), 0.5),
    "list": (re.compile(r"(?:[、，,;；]|和|及|与|\band\b).*(?:[、，,;；]|和|及|与|\band\b)"), None,
             0.5),
    "what": (re.compile(r"[“”「」『』《》\"]|[a-z]{3,}"), None, 0.7),
}


def intent_fit(intent: Intent, form: str, row: bool = False) -> float:
    """0..1: how well a passage in matching form (a table row if `row`) can answer this
    kind of question."""
    if intent == "number":
        return 1.0 if row else _figure_fit(form)
    if intent == "date":
        return 1.0 if _FULL_DATE.search(form) else 0.6 if _YEAR.search(form) else 0.0
    strong, weak, otherwise = _FITS[intent]
    return 1.0 if strong.search(form) else 0.8 if weak and weak.search(form) else otherwise


def _figure_fit(form: str) -> float:
    """1.0 for a figure with a unit, percent or currency, less for bare numbers."""
    best = 0.5 if _COUNT.search(form) else 0.0
    for match in _NUMBER.finditer(form):
        value, unit = match.group(), _UNIT.match(form, match.end())
        if match.start() == 0 and form[match.end():match.end() + 1] == ".":
            continue  # a list item's number ("1. ...")
        if _YEAR.fullmatch(value) and not unit:
            continue
        best = max(best, 1.0 if unit else 0.8 if "." in value or len(value) >= 3 else 0.6)
    return best


@dataclass(frozen=True)
class Candidate:
    """A sentence or table row (with its column header) that may answer the question."""

    hit: Hit
    rank: int  # of its passage, 1-based
    span: tuple[int, int]
    header: tuple[int, int] | None  # a row's column header, or the date line over a list item
    score: float  # for ranking: coverage with the passage around it, fit, retrieval
    coverage: float  # weighted share of the question's words in the quoted text itself
    fit: float  # intent_fit
    missing_number: bool  # a number in the question (a year, "Scope 3") is not there


@dataclass(frozen=True)
class Asked:
    """What a question asks: its matching form, intent and weighted content words."""

    form: str
    intent: Intent
    concepts: list[Concept]


def read_question(retriever: Retriever, question: str, plan: QueryPlan) -> Asked:
    return Asked(matching_form(question), detect_intent(question),
                 question_concepts(retriever, plan))


def rank_candidates(retriever: Retriever, hits: list[Hit], asked: Asked) -> list[Candidate]:
    """Every sentence and row of the passages, best first."""
    top = hits[0].score if hits and hits[0].score > 0 else 1.0
    found = [c for rank, hit in enumerate(hits, start=1)
             for c in _passage_candidates(retriever, hit, rank, asked, top)]
    return sorted(found, key=lambda c: (-c.score, c.rank, c.span))


def _passage_candidates(retriever: Retriever, hit: Hit, rank: int, asked: Asked,
                        top: float) -> list[Candidate]:
    chunk, concepts = hit.chunk, asked.concepts
    document = retriever.index.store.documents[chunk.doc_id]
    around = matching_form(f"{document.meta.title} {' '.join(chunk.section)}\n{chunk.context}"
                           f"\n{chunk.clean}")
    around_words = latin_words(around)
    near = [c.found_in(around, around_words) for c in concepts]
    total = sum(c.weight for c in concepts) or 1.0
    out = []
    for span, header in _units(document, chunk):
        own = document.text[span[0]:span[1]]
        if header:
            own = document.text[header[0]:header[1]] + "\n" + own
        form = matching_form(own)
        if _heading(chunk, own) or sum(ch.isalnum() for ch in form) < 4:
            continue
        words = latin_words(form)
        found = [c.found_in(form, words) for c in concepts]
        local = sum(c.weight * max(f, CONTEXT_SHARE * n)
                    for c, f, n in zip(concepts, found, near, strict=True)) / total
        fit = intent_fit(asked.intent, form, row=header is not None or is_row(own))
        missing = any(_is_number(c.token) and max(f, n) < 0.5
                      for c, f, n in zip(concepts, found, near, strict=True))
        # "2020" asked but only 2021-2023 reported: most likely another fact.
        score = (local * (0.4 + 0.6 * fit) + 0.15 * hit.score / top) * (
            MISSING_NUMBER if missing else 1.0)
        score += PHRASE * _phrase(asked.form, form) - LENGTH * max(0, len(form) - 150) / 300
        coverage = sum(c.weight * f for c, f in zip(concepts, found, strict=True)) / total
        out.append(Candidate(hit, rank, span, header, score, coverage, fit, missing))
    return out


def _phrase(question: str, form: str) -> float:
    """0..1: the longest stretch of the question's wording that the text repeats verbatim."""
    match = SequenceMatcher(None, question, form, autojunk=False).find_longest_match()
    return min(1.0, max(0, match.size - 2) / 8)


def confidence(best: Candidate) -> float:
    """How much of the question the quoted text itself covers; a missing number halves it."""
    return best.coverage * (MISSING_NUMBER_CONFIDENCE if best.missing_number else 1.0)


def _units(document: Document, chunk: Chunk
           ) -> list[tuple[tuple[int, int], tuple[int, int] | None]]:
    """The chunk's sentences and rows: a row comes with its column header's span, and an
    item of a dated list ("2023年6月" over "- launched ...") with its date line."""
    text = document.text
    above = context_lines(text, chunk) if chunk.kind == "table" else []
    out: list[tuple[tuple[int, int], tuple[int, int] | None]] = []
    label: tuple[int, int] | None = None
    since = 0
    for i, span in enumerate(chunk.sentences):
        line = text[span[0]:span[1]]
        if label and i - since > 4:
            label = None  # a date line heads the few items below it, not the whole passage
        if _DATE_LABEL.match(line):
            label, since = span, i
        elif chunk.kind == "table" and is_row(line):
            out.append((span, header_span(text, above + list(chunk.sentences[:i]))))
        else:
            out.append((span, label))
    return out


def _heading(chunk: Chunk, text: str) -> bool:
    return readable(text) in chunk.section


# ---- the reply --------------------------------------------------------------------------

def answer_question(retriever: Retriever, question: str, top_k: int = 5,
                    filters: Filters | None = None, reply_script: ReplyScript = "auto",
                    history: list[str] | None = None, *,
                    abstain_below: float = ABSTAIN_BELOW) -> Answer:
    """Quote the sentence(s) that answer `question`, with citations, or abstain.

    When abstaining, `citations` is empty and `passages` still lists the closest passages.
    """
    started = time.perf_counter()
    query = _with_history(retriever, question, history)
    plan = retriever.plan(query)
    hits = retriever.search(query, max(top_k, SEARCH_DEPTH), filters)
    searched = time.perf_counter()
    asked = read_question(retriever, question, plan)
    ranked = rank_candidates(retriever, hits, asked)
    script = _resolve(reply_script, plan.script)
    sure = confidence(ranked[0]) if ranked else 0.0
    if sure < abstain_below:
        message = NOT_FOUND[script if script in NOT_FOUND else plan.script]
        citations: list[Citation] = []
    else:
        citations = quote(retriever, choose(ranked), script)
        message = "\n".join(readable(c.quote_converted or c.quote) for c in citations)
    done = time.perf_counter()
    return Answer(question, message, bool(citations), script, citations, hits[:top_k],
                  round(sure, 4), {"retrieve": (searched - started) * 1000,
                                         "select": (done - searched) * 1000}, asked.intent)


def _with_history(retriever: Retriever, question: str, history: list[str] | None) -> str:
    """A follow-up with fewer than two content words ("and in 2022?") borrows the topic of
    the previous question."""
    if not history:
        return question
    words = [t for t in retriever.plan(question).tokens if not _asking(t)]
    return question if len(words) >= 2 else f"{history[-1]} {question}"


def _resolve(reply_script: ReplyScript, question_script: str) -> str:
    if reply_script == "auto":
        return question_script if question_script != "en" else "original"
    if reply_script not in ("original", "zh-Hant", "zh-Hans"):
        raise ValueError(f"unknown reply_script {reply_script!r}: expected original, "
                         "zh-Hant, zh-Hans or auto")
    return reply_script


def choose(ranked: list[Candidate]) -> list[Candidate]:
    """The best candidate, and the runner-up when it scores nearly as well."""
    chosen = ranked[:1]
    for other in ranked[1:2]:
        if other.score >= SECOND_SENTENCE * ranked[0].score:
            chosen.append(other)
    return chosen


def quote(retriever: Retriever, chosen: list[Candidate], script: str) -> list[Citation]:
    """Citations for the chosen candidates (each row after its header), numbered from 1."""
    citations: list[Citation] = []
    seen: set[tuple[str, tuple[int, int]]] = set()
    for candidate in chosen:
        chunk = candidate.hit.chunk
        document = retriever.index.store.documents[chunk.doc_id]
        config = conversion(chunk.script, script)
        for span in (candidate.header, candidate.span):
            if span is not None and (chunk.doc_id, span) not in seen:
                seen.add((chunk.doc_id, span))
                citations.append(cite(len(citations) + 1, document, chunk, span, config))
    return citations
