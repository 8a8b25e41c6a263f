"""Extractive answers: the quoted sentence(s) or table row that answer a question, or an
honest "the documents do not say"."""

from __future__ import annotations

import logging
import math
import re
import time
import weakref
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from index.keyword import KeywordIndex, stem
from index.normalise import matching_form
from index.script import detect_script, is_cjk
from index.types import Script
from service.cite import Citation, cite, conversion, is_row, quotable, readable
from service.llm import GenerationError, LlmClient, generate
from service.retrieve import Filters, Hit, QueryPlan, Retriever

_log = logging.getLogger(__name__)
ReplyScript = Literal["original", "zh-Hant", "zh-Hans", "auto"]
Intent = Literal["number", "year", "date", "who", "definition", "yesno", "list", "what"]

# Abstain when confidence() of the best sentence is below this. Calibrated with
# eval/bench_answer.py on eval/questions.jsonl (205 answerable, 28 unanswerable): at 0.275,
# 84.4% of answerable questions are answered correctly (86.8% if never abstaining), and of
# 19 abstentions 10 are unanswerable questions (recall 36%, precision 53%) and 4 were being
# answered wrongly anyway. It sits mid-plateau: right answers plus right abstentions are
# 181-183 of 233 from 0.25 to 0.325. At 0.40, 64% of unanswerables abstain at 78.5% accuracy.
ABSTAIN_BELOW = 0.275
NOT_FOUND = {
    "zh-Hant": "文件中沒有找到這個問題的答案。",
    "zh-Hans": "文件中没有找到这个问题的答案。",
    "en": "The documents do not say.",
}
SEARCH_DEPTH = 10  # passages mined for sentences (only top_k are returned as `passages`)
IDF_CAP = 4.5  # a word the corpus never uses weighs as much as a rare one, not more
MIN_PASSAGES = 20  # rarity is measured within a language only when it has this many
CROSS_LINGUAL = 0.85  # a dictionary translation is weaker evidence than the word itself
CONTEXT_SHARE = 0.6  # credit for a question word found in the passage but not the sentence
MISSING_NUMBER = 0.7  # "2020" asked, only 2021-2023 reported: most likely another fact
MISSING_NUMBER_CONFIDENCE = 0.5
ROW_LABEL = 0.1  # bonus for a table row whose label the question names without extras
SECOND_SENTENCE = 0.9  # a runner-up within this share of the best score is quoted too
GENERATION_SOURCES = 5  # best quotes a language model may answer from


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str  # the reply text (quoted sentences; or "the documents do not say" message)
    answerable: bool
    reply_script: str  # the script actually used for converted renderings
    citations: list[Citation]  # in the order of the answer text; empty when abstaining
    passages: list[Hit]  # the retrieved passages, best first (shown even when abstaining)
    confidence: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    intent: str = "what"
    mode: Literal["extractive", "generated"] = "extractive"


# ---- the question: what kind of answer it wants, and which words it is about ---------

# Run on the matching form (Simplified, lower case), so one list serves all three scripts;
# the first match wins, so the specific kinds come before the general ones.
_INTENTS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    ("yesno", re.compile(r"是否|有没有|有无|是不是|^(?:[^,，]*[,，] ?)?(?:does|did|do|is|are|"
                         r"was|were|has|have|had|can|will)\b")),
    ("year", re.compile(r"哪一?年|何年|\b(?:what|which) year\b")),
    ("date", re.compile(r"何时|什么时候|甚么时候|哪一?天|哪一?日|何日|哪个月|几月|"
                        r"几号|什么日期|\bwhen\b|\b(?:what|which) (?:date|month|day)\b")),
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
_ASKING = frozenset((
    "什么", "甚么", "多少", "几", "哪", "哪些", "哪个", "哪家", "哪位", "哪天", "哪一天", "一天",
    "哪年", "哪一年", "一年", "时候", "什么时候", "何时", "何日", "谁", "是不是", "有没有", "没有",
    "名字", "叫", "意思", "百分之", "s", "when", "who", "whom", "date", "day", "month", "exactly",
    "called", "name"))
_NUMERALS = "一二三四五六七八九十"


def detect_intent(question: str) -> Intent:
    """What kind of answer the question wants, from its wording in any of the three scripts."""
    form = matching_form(question)
    return next((intent for intent, pattern in _INTENTS if pattern.search(form)), "what")


def _asking(token: str) -> bool:
    return token in _ASKING or "几" in token or "多少" in token


def _is_number(token: str) -> bool:
    """A year or a small number the answer must repeat ("2020", "Scope 3"); not "000"."""
    return (token.isdigit() and not token.startswith("0")) or token in _NUMERALS


@dataclass(frozen=True)
class Concept:
    """One content word of the question, weighted by rarity, with its translations."""

    token: str  # in matching form
    weight: float
    translations: tuple[tuple[str, float], ...] = ()

    def found_in(self, form: str, words: frozenset[str]) -> float:
        """1.0 when the word itself occurs in a matching form, else the best weight of a
        translation that does (discounted), else 0."""
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
    """Inverse document frequency within the passages of each word's own language: an
    English word among English passages, so the larger Chinese side does not make every
    English word look rare. Filled as words are asked; requests may share it, since a race
    only computes a word twice."""

    def __init__(self, retriever: Retriever) -> None:
        chunks = retriever.index.chunks
        self.keyword = retriever.index.keyword
        english = np.array([c.script == "en" for c in chunks], dtype=bool)
        self.masks = {"en": english, "zh": ~english, "all": np.ones(len(chunks), dtype=bool)}
        self.known: dict[str, float] = {}

    def idf(self, token: str) -> float:
        if token not in self.known:
            mask = self.masks["all" if token.isdigit() else "en" if token.isascii() else "zh"]
            if mask.sum() < MIN_PASSAGES:  # (almost) no passages in that language
                mask = self.masks["all"]
            frequency = (self.keyword.scores({token: 1.0}, len(mask), mask) > 0).sum()
            self.known[token] = min(IDF_CAP, math.log((mask.sum() + 1) / (frequency + 0.5)))
        return self.known[token]


_RARITY: weakref.WeakKeyDictionary[KeywordIndex, _Rarity] = weakref.WeakKeyDictionary()


def question_concepts(retriever: Retriever, plan: QueryPlan) -> list[Concept]:
    """The question's content words (plan.tokens) with their other-language renderings from
    the lexicon the retriever expands queries with, weighted as in plan.translated."""
    rarity = _RARITY.get(retriever.index.keyword) or _RARITY.setdefault(
        retriever.index.keyword, _Rarity(retriever))
    lexicon = retriever.lexicon
    words = [t for t in plan.tokens if not _asking(t)]
    phrases = _phrase_terms(retriever, [t for t in words if t.isascii() and not t.isdigit()])
    concepts = []
    for token in words:
        terms: list[tuple[str, float]] = []
        if token.isascii() and not token.isdigit():
            terms = [(matching_form(t), w) for t, w in lexicon.expand_english([token])]
            terms += phrases.get(token, [])
        elif len(token) > 1 and not token.isascii():
            terms = [(stem(t.lower()), w) for t, w in lexicon.expand_chinese([token])]
        elif token in _NUMERALS:  # other single characters ("名", "时") have too many senses
            terms = [(str(_NUMERALS.index(token) + 1), 1.0)]
        terms = [(t, min(w, plan.translated.get(t, w))) for t, w in terms if t]
        concepts.append(Concept(token, rarity.idf(token), tuple(terms)))
    return concepts


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


# ---- the evidence: how well a sentence or row answers the question ---------------------

_NUMBER = re.compile(r"(?<![a-z\d.])(?<![a-z]-)\d+(?:\.\d+)?")  # not "a2.2", "glm-4"
_UNIT = re.compile(r" ?(?:%|‰|亿|万|千|百|元|人|名|吨|兆瓦|千瓦|小时|天|个|家|项|件|辆|倍|篇|所|"
                   r"路|门|次|位|美元|港元|mwh|kwh|gw|mw|tonnes?|hours?|million|billion|"
                   r"thousand|times|days|employees|people|per ?cent)")
_COUNT = re.compile(r"[一二两三四五六七八九十百千万]+[个项次名家件位辆倍]|\b(?:one|two|three|four|"
                    r"five|six|seven|eight|nine|ten|twice|half|dozen)\b")
_SHARE = re.compile(r"[一二三四五六七八九十百千]+分之[一二三四五六七八九十百千]+|"
                    r"\b(?:a|one|two) (?:half|third|quarter)s?\b|\bthirds\b")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_FULL_DATE = re.compile(rf"(?:19|20)\d\d ?年 ?\d{{1,2}} ?月|\d{{1,2}} ?月 ?\d{{1,2}} ?日|"
                        rf"\b{_MONTH} (?:\d{{1,2}}, )?(?:19|20)\d\d|"
                        rf"\d{{1,2}} {_MONTH} (?:19|20)\d\d")
_YEAR = re.compile(r"(?<![\d.])(?:19|20)\d\d(?![\d.])")
# intent -> (a sure sign, a weaker sign or None, the fit when neither is there)
_SIGNS: dict[Intent, tuple[re.Pattern[str], re.Pattern[str] | None, float]] = {
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
    """0..1: how well a text in matching form (a table row if `row`) can answer this kind
    of question: a number question wants a figure, a date question a date, and so on."""
    if intent == "number":
        return 1.0 if row else _figure_fit(form)
    if intent in ("date", "year"):
        year = 1.0 if intent == "year" else 0.6  # "which year" needs no day
        return 1.0 if _FULL_DATE.search(form) else year if _YEAR.search(form) else 0.0
    sure, weaker, otherwise = _SIGNS[intent]
    return 1.0 if sure.search(form) else 0.8 if weaker and weaker.search(form) else otherwise


def _figure_fit(form: str) -> float:
    """1.0 for a figure with a unit, percent or currency, or a share in words ("三分之二");
    less for bare numbers and counts in words."""
    best = 1.0 if _SHARE.search(form) else 0.5 if _COUNT.search(form) else 0.0
    for match in _NUMBER.finditer(form):
        value, unit = match.group(), _UNIT.match(form, match.end())
        if match.start() == 0 and form[match.end():match.end() + 1] == ".":
            continue  # a list item's number ("1. ...")
        if _YEAR.fullmatch(value) and not unit:
            continue
        best = max(best, 1.0 if unit else 0.8 if "." in value or len(value) >= 3 else 0.6)
    return best


@dataclass(frozen=True)
class Asked:
    """A question as the scorer reads it: matching form, intent, weighted content words."""

    form: str
    intent: Intent
    concepts: list[Concept]


@dataclass(frozen=True)
class Candidate:
    """A sentence or table row that may answer the question."""

    hit: Hit
    rank: int  # of its passage, 1-based
    span: tuple[int, int]
    header: tuple[int, int] | None  # a row's column header, or the date line over an item
    score: float  # for ranking: coverage (passage context included), fit, retrieval
    coverage: float  # weighted share of the question's words in the quoted text itself
    fit: float  # intent_fit
    missing_number: bool  # a number of the question (a year, "Scope 3") is not there
    text: str = ""  # the quoted text (without its header)


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
    for span, header in quotable(document, chunk):
        own = document.text[span[0]:span[1]]
        form = matching_form(own if header is None else
                             f"{document.text[header[0]:header[1]]}\n{own}")
        if sum(ch.isalnum() for ch in form) < 4:
            continue  # "4.", "(b)": nothing to quote
        words = latin_words(form)
        found = [c.found_in(form, words) for c in concepts]
        pairs = list(zip(concepts, found, near, strict=True))
        local = sum(c.weight * max(f, CONTEXT_SHARE * n) for c, f, n in pairs) / total
        row = is_row(own)
        fit = intent_fit(asked.intent, form, row=row or header is not None)
        missing = any(_is_number(c.token) and max(f, n) < 0.5 for c, f, n in pairs)
        score = (local * (0.4 + 0.6 * fit) + 0.15 * hit.score / top) * (
            MISSING_NUMBER if missing else 1.0)
        if row:
            score += ROW_LABEL * _label_share(asked.form, own)
        coverage = sum(c.weight * f for c, f, _ in pairs) / total
        out.append(Candidate(hit, rank, span, header, score, coverage, fit, missing, own))
    return out


def _label_share(question: str, row: str) -> float:
    """How much of a row's label the question asks for: "收入" for total revenue, not
    "其他收入" (other income) or "財務收入" (finance income)."""
    label = matching_form(re.split(r"\t| (?=[(（]?[–—+-]?\d)", row.strip(), maxsplit=1)[0])
    words = latin_words(label)
    if words:
        return len(words & latin_words(question)) / len(words)
    chars = [ch for ch in label if is_cjk(ch)]
    return sum(ch in question for ch in chars) / len(chars) if chars else 0.0


def confidence(best: Candidate) -> float:
    """How much of the question the quoted text itself covers; a missing number halves it."""
    return best.coverage * (MISSING_NUMBER_CONFIDENCE if best.missing_number else 1.0)


# ---- the reply --------------------------------------------------------------------------

def answer_question(retriever: Retriever, question: str, top_k: int = 5,
                    filters: Filters | None = None, reply_script: ReplyScript = "auto",
                    history: list[str] | None = None, *,
                    abstain_below: float = ABSTAIN_BELOW,
                    generator: LlmClient | None = None) -> Answer:
    """Quote the sentence(s) or table row that answer `question`, with citations; or abstain.

    Abstaining gives `answerable=False`, a "the documents do not say" message in the
    question's language, no citations, and still the closest `passages`. With a
    `generator`, a language model words the answer from the best quotes instead, citing
    them as [n]; if it fails, the extractive answer stands.
    """
    started = time.perf_counter()
    query = _with_history(retriever, question, history)
    asked_in = detect_script(question, default=detect_script(query, default="zh-Hans"))
    script = _resolve(reply_script, asked_in)
    plan = retriever.plan(query)
    hits = retriever.search(query, max(top_k, SEARCH_DEPTH), filters)
    searched = time.perf_counter()
    ranked = rank_candidates(retriever, hits, asked := read_question(retriever, query, plan))
    sure = confidence(ranked[0]) if ranked else 0.0
    citations = quote(retriever, choose(ranked), script) if sure >= abstain_below else []
    if citations:
        text = "\n".join(readable(c.quote_converted or c.quote) for c in citations)
    else:
        text = NOT_FOUND.get(script) or NOT_FOUND[asked_in]
    timings = {"retrieve": (searched - started) * 1000,
               "select": (time.perf_counter() - searched) * 1000}
    answer = Answer(question, text, bool(citations), script, citations, hits[:top_k],
                    round(sure, 4), timings, asked.intent)
    if generator is None or not citations:
        return answer  # never let a model answer what the documents do not say
    return _generated(retriever, answer, ranked, generator, asked_in)


def _generated(retriever: Retriever, answer: Answer, ranked: list[Candidate],
               generator: LlmClient, asked_in: Script) -> Answer:
    started = time.perf_counter()
    sources = [quote(retriever, [c], answer.reply_script) for c in ranked[:GENERATION_SOURCES]]
    language = answer.reply_script if answer.reply_script != "original" else asked_in
    try:
        text, citations = generate(generator, answer.question, sources, language)
    except GenerationError as error:
        _log.warning("generation failed, answering extractively: %s", error)
        return answer
    timings = {**answer.timings_ms, "generate": (time.perf_counter() - started) * 1000}
    return replace(answer, answer=text, citations=citations, timings_ms=timings,
                   mode="generated")


def _resolve(reply_script: str, asked_in: Script) -> str:
    """The script converted renderings are given in: "original" when none."""
    if reply_script == "auto":
        return asked_in if asked_in != "en" else "original"
    if reply_script not in ("original", "zh-Hant", "zh-Hans"):
        raise ValueError(f"unknown reply_script {reply_script!r}: expected original, "
                         "zh-Hant, zh-Hans or auto")
    return reply_script


def _with_history(retriever: Retriever, question: str, history: list[str] | None) -> str:
    """A follow-up with fewer than two content words ("And in 2022?", "那2022年呢？")
    borrows the previous question, whose years give way to the follow-up's own."""
    if not history:
        return question
    words = [t for t in retriever.plan(question).tokens
             if not _asking(t) and not t.isdigit() and (t.isascii() or len(t) > 1)]
    if len(words) >= 2:
        return question
    previous = history[-1]
    if _YEAR.search(question):
        previous = _YEAR.sub("", previous)
    return f"{previous} {question}"


def choose(ranked: list[Candidate]) -> list[Candidate]:
    """The best candidate, and the runner-up when it scores nearly as well (and does not
    repeat it: the same row often stands in two statements)."""
    best = ranked[:1]
    others = [c for c in ranked[1:] if c.text != ranked[0].text][:1]
    return best + [c for c in others if c.score >= SECOND_SENTENCE * ranked[0].score]


def quote(retriever: Retriever, chosen: list[Candidate], script: str) -> list[Citation]:
    """Citations for the chosen candidates, each header before its row, numbered from 1."""
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
