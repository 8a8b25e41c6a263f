"""Answering: scoring sentences and rows as evidence, then quoting the best or abstaining."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import Literal

from index.normalise import matching_form
from index.script import detect_script, is_cjk
from index.types import Script
from service.cite import Citation, cite, conversion, is_row, quotable, readable
from service.llm import GenerationError, LlmClient, generate
from service.question import (
    YEAR,
    Asked,
    Concept,
    Intent,
    is_number,
    latin_words,
    read_question,
    with_history,
)
from service.retrieve import Filters, Hit, Retriever

_log = logging.getLogger(__name__)
ReplyScript = Literal["original", "zh-Hant", "zh-Hans", "auto"]

# Abstain when confidence() of the best sentence is below this. Calibrated with
# eval/bench_answer.py on eval/questions.jsonl (205 answerable, 28 unanswerable): at 0.275,
# 86.8% of answerable questions are answered correctly (89.3% if never abstaining), and of
# 20 abstentions 11 are unanswerable questions (recall 39%, precision 55%). Even/odd
# question ids: recall 57%/21%, precision 57%/50%. Re-fitting the threshold or the
# MISSING_NUMBER_CONFIDENCE / intent-fit factors on one half did not carry over to the
# other, so they stay. At 0.40, 68% of unanswerables abstain at 81.0% accuracy.
ABSTAIN_BELOW = 0.275
NOT_FOUND = {
    "zh-Hant": "文件中沒有找到這個問題的答案。",
    "zh-Hans": "文件中没有找到这个问题的答案。",
    "en": "The documents do not say.",
}
SEARCH_DEPTH = 10  # passages mined for sentences (only top_k are returned as `passages`)
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
    intent: Intent = "what"
    mode: Literal["extractive", "generated"] = "extractive"


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
        return 1.0 if _FULL_DATE.search(form) else year if YEAR.search(form) else 0.0
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
        if YEAR.fullmatch(value) and not unit:
            continue
        best = max(best, 1.0 if unit else 0.8 if "." in value or len(value) >= 3 else 0.6)
    return best

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
    near = [_found(c, around, around_words, asked) for c in concepts]
    total = sum(c.weight for c in concepts) or 1.0
    out = []
    for span, header in quotable(document, chunk):
        own = document.text[span[0]:span[1]]
        form = matching_form(own if header is None else
                             f"{document.text[header[0]:header[1]]}\n{own}")
        if sum(ch.isalnum() for ch in form) < 4:
            continue  # "4.", "(b)": nothing to quote
        words = latin_words(form)
        found = [_found(c, form, words, asked) for c in concepts]
        pairs = list(zip(concepts, found, near, strict=True))
        local = sum(c.weight * max(f, CONTEXT_SHARE * n) for c, f, n in pairs) / total
        row = is_row(own)
        fit = intent_fit(asked.intent, form, row=row or header is not None)
        missing = any(is_number(c.token) and max(f, n) < 0.5 for c, f, n in pairs)
        score = (local * (0.4 + 0.6 * fit) + 0.15 * hit.score / top) * (
            MISSING_NUMBER if missing else 1.0)
        if row:
            score += ROW_LABEL * _label_share(asked.form, own)
        coverage = sum(c.weight * f for c, f, _ in pairs) / total
        out.append(Candidate(hit, rank, span, header, score, coverage, fit, missing, own))
    return out


def _found(concept: Concept, form: str, words: frozenset[str], asked: Asked) -> float:
    """Concept.found_in, except that a pinned number ("Scope 3") needs its word beside it."""
    pin = asked.pinned.get(concept.token)
    if pin is None:
        return concept.found_in(form, words)
    return 1.0 if pin.search(form) else 0.0


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
    query = with_history(retriever, question, history)
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
