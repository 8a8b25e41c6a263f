"""Answering: hard constraints, then the answer model's choice among the candidates, then a
reply composed in the asker's language with its citations; or an abstention that says what
the documents do not hold."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from index.layout import clean_title
from index.normalise import matching_form
from index.reader import LoadedIndex
from index.types import Script
from service import compose
from service.cite import Citation, cite, conversion
from service.dates import date_key
from service.evidence import Candidate, about, feature_matrix
from service.model import JUDGE_FEATURES, AnswerModel, ranker_matrix
from service.query import AnswerType, Period, Query
from service.retrieve import Hit
from service.vocabulary import Vocabulary

ReplyScript = Literal["original", "zh-Hant", "zh-Hans", "auto"]
NUMERIC = ("number", "amount", "percentage")
# Footnote marks and a trailing unit in a row label: 「員工總數⁶」, "Total Energy (MWh)".
_LABEL_NOISE = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+|\s*[(（][^)）]*[)）]\s*$")
# a column that only counts ("Number", 人數): the figure's unit says as much
_COUNT_COLUMN = re.compile(r"(?i)number|人數|人数|數目|数目|數量|数量")
PERIOD_DEPTH = 5  # candidates that must all be about other periods to say a period is missing
DATED = ("date", "year")
# Unit vectors of a sentence and its translation in the parallel edition lie at least this
# close (multilingual model): measured on the bundled ESG editions, an English sentence's
# closest Chinese unit of the aligned passages reaches it for 44% of them, the second
# closest for none (at 0.6: 52% and 1%, and half-translations of a sentence the other
# edition splits in two come in).
TRANSLATION = 0.65


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str  # the reply: a composed statement, or what the documents do not hold
    answerable: bool
    reply_script: str  # the script converted quotes are given in ("original": none)
    citations: list[Citation]  # in the order of the reply's markers; empty when abstaining
    passages: list[Hit]  # the retrieved passages, best first (shown even when abstaining)
    confidence: float = 0.0  # the judge's probability that the answer is right
    timings_ms: dict[str, float] = field(default_factory=dict)
    answer_type: AnswerType = "what"
    mode: Literal["extractive", "generated"] = "extractive"
    missing: str = ""  # when abstaining: what the documents do not cover (a name, a period)
    inherited: tuple[str, ...] = ()  # what a follow-up took from earlier turns


@dataclass(frozen=True)
class Decision:
    """What the constraints and the model made of the candidates."""

    chosen: Candidate | None
    confidence: float
    missing: str = ""  # why there is no answer, when a constraint says so
    reason: Literal["", "unknown", "period", "weak"] = ""
    reported: tuple[int, ...] = ()  # for a period not reported: the years that are
    ranked: tuple[Candidate, ...] = ()  # the best candidates that meet the constraints
    scores: tuple[float, ...] = ()  # the ranker's logits of `ranked`


def decide(query: Query, found: list[Candidate], model: AnswerModel, vocabulary: Vocabulary,
           allowed: frozenset[str]) -> Decision:
    """The best candidate that meets the question's constraints, and the judge's confidence
    in it; or why none does."""
    unknown = unknown_name(query, vocabulary, allowed)
    if unknown:
        return Decision(None, 0.0, unknown, "unknown")
    named = query.companies & allowed
    pool = [c for c in found if not named or c.doc_id in named]
    if query.answer_type in NUMERIC + DATED:
        pool = [c for c in pool if c.feature("type_fit") > 0]
    if not pool:
        return Decision(None, 0.0, "", "weak")
    scores = model.ranker.logit(ranker_matrix(feature_matrix(pool)))
    order = np.argsort(-scores, kind="stable")
    ranked = [(pool[i], float(scores[i])) for i in order]
    if query.periods and query.answer_type in NUMERIC:  # a date asked is no period named
        fitting = [(c, s) for c, s in ranked if _about_period(c, query, vocabulary)]
        # The asked period is not reported when the best evidence for the question is
        # about other periods only: none of the top candidates is about it.
        if not any(_about_period(c, query, vocabulary) for c, _ in ranked[:PERIOD_DEPTH]):
            # (the asked year itself when only other parts of it are reported: the whole
            # of 2023 where its first half is asked)
            reported = tuple(sorted({y for c, _ in ranked[:PERIOD_DEPTH]
                                     for y in _years_of(c, vocabulary)} - {
                p.year for p in query.periods if p.part != "H1"}))
            if not reported:
                return Decision(None, 0.0, "", "weak")
            return Decision(None, 0.0, _years_text(query.periods), "period", reported)
        ranked = fitting
    chosen, score = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else score - 4.0
    chosen = _in_asked_language(chosen, [c for c, _ in ranked], query, vocabulary)
    judged = model.judge.probability(judge_features(query, chosen, score, runner)[None, :])
    return Decision(chosen, float(judged[0]), ranked=tuple(c for c, _ in ranked[:8]),
                    scores=tuple(s for _, s in ranked[:8]))


def _in_asked_language(chosen: Candidate, ranked: list[Candidate], query: Query,
                       vocabulary: Vocabulary) -> Candidate:
    """The same fact from the parallel edition in the asker's language, when that edition
    states the same figure or date: a Traditional Chinese reader is better served by the
    Chinese report's row than by its English translation."""
    facts = vocabulary.documents[chosen.doc_id]
    value = answer_value(chosen)
    if facts.language == query.language or not facts.parallel:
        return chosen
    twins = [c for c in ranked if c.doc_id == facts.parallel]
    if value:
        return next((c for c in twins if answer_value(c) == value), chosen)
    # A sentence: its translation in the parallel edition, the unit closest in meaning,
    # when it is close enough to be one and the chosen one is in turn its closest (when the
    # translation was not retrieved, a neighbour of it is closest, and not mutually).
    if chosen.meaning is None or not twins:
        return chosen
    similar, closest = _closest(chosen, twins)
    if closest is None or similar < TRANSLATION:
        return chosen
    own = [c for c in ranked if c.doc_id == chosen.doc_id]
    return closest if _closest(closest, own)[1] is chosen else chosen


def _closest(to: Candidate, among: list[Candidate]) -> tuple[float, Candidate | None]:
    """The candidate of `among` closest in meaning to `to`, with its cosine."""
    scored = [(float(c.meaning @ to.meaning), c) for c in among
              if c.meaning is not None and to.meaning is not None]
    return max(scored, key=lambda p: p[0]) if scored else (0.0, None)


def answer_value(candidate: Candidate) -> str:
    """The figure or date a candidate answers with, digits only ("" when it has none); a
    date as year-month-day, so 「2024 年 1 月 17 日」 and "January 17, 2024" are one value."""
    text = candidate.cell.text if candidate.cell is not None else (
        candidate.picked.value if candidate.picked is not None else "")
    return date_key(text) or "".join(ch for ch in text if ch.isdigit() or ch == ".")


def judge_features(query: Query, chosen: Candidate, score: float, runner: float) -> np.ndarray:
    values = {"score": score, "margin": score - runner,
              "concepts": min(1.0, len(query.concepts) / 6),
              "cross_lingual": 1.0 - chosen.feature("same_language")}
    values |= {name: chosen.feature(name) for name in JUDGE_FEATURES if name not in values}
    return np.array([values[name] for name in JUDGE_FEATURES], dtype=np.float64)


def _about_period(candidate: Candidate, query: Query, vocabulary: Vocabulary) -> bool:
    """Whether a candidate can be about an asked period: it names one (a first half only
    for a first half), or names no year and its document reports on that year (a row of
    Zhipu's 2025 report without a year column is 2025's, not 2024's)."""
    return about(query, _years_of(candidate, vocabulary), candidate.parts)


def _years_of(candidate: Candidate, vocabulary: Vocabulary) -> frozenset[int]:
    """The years a candidate is about: those it names, else its document's period."""
    if candidate.years:
        return candidate.years
    period = vocabulary.documents[candidate.doc_id].period
    return frozenset({period}) if period else frozenset()


def unknown_name(query: Query, vocabulary: Vocabulary, allowed: frozenset[str]) -> str:
    """A name the question uses that no document the caller may read covers ("Apple",
    "華東電池", or a company whose documents are restricted); "" when all are covered."""
    if query.companies and not query.companies & allowed:
        return _company_as_asked(query, vocabulary)
    for name in query.names:
        if not vocabulary.mentions(matching_form(name), allowed):
            return name
    return ""


def _company_as_asked(query: Query, vocabulary: Vocabulary) -> str:
    for doc_id in sorted(query.companies):
        for alias in vocabulary.documents[doc_id].aliases:
            at = matching_form(query.text).find(alias)
            if at >= 0:
                return query.text[at:at + len(alias)] if len(matching_form(query.text)) == len(
                    query.text) else alias
    return ""


def _years_text(periods: tuple[Period, ...]) -> str:
    return ", ".join(f"{p.year} H1" if p.part == "H1" else str(p.year) for p in periods)


# ---- the reply -----------------------------------------------------------------------------

def reply_script_for(reply_script: str, asked_in: Script) -> str:
    """The script converted renderings are given in: "original" when none."""
    if reply_script == "auto":
        return asked_in if asked_in != "en" else "original"
    if reply_script not in ("original", "zh-Hant", "zh-Hans"):
        raise ValueError(f"unknown reply_script {reply_script!r}: expected original, "
                         "zh-Hant, zh-Hans or auto")
    return reply_script


def compose_reply(query: Query, chosen: Candidate, index: LoadedIndex, vocabulary: Vocabulary,
                  quote_script: str) -> tuple[str, list[Citation]]:
    """The reply for the chosen candidate and its citations (a row's header first)."""
    document = index.store.documents[chosen.doc_id]
    config = conversion(chosen.hit.chunk.script, quote_script)
    spans = [s for s in (chosen.unit.header, (chosen.unit.start, chosen.unit.end)) if s]
    citations = [cite(n, document, chosen.hit.chunk, span, config, query.script,
                      table=chosen.unit.kind == "row", unit=chosen.unit)
                 for n, span in enumerate(spans, start=1)]
    marker = "".join(f"[{c.n}]" for c in citations)
    script = query.script
    company = _company_for(query, vocabulary, chosen.doc_id)
    # The question's words for what it asks, where the cited unit holds them; else the
    # row's own label in the asker's language; else, for evidence in another language
    # (whose words a dictionary translation may miss), the question's words unchecked.
    what = compose.subject(query, frozenset(chosen.unit.tokens)) or _label_as_subject(
        chosen, script) or (compose.subject(query) if chosen.feature("same_language") == 0
                            else "")
    shown = compose.cited_texts(citations)
    reply = ""
    if query.answer_type in NUMERIC and chosen.cell is not None and chosen.unit.row:
        period = Period(chosen.cell.year) if chosen.cell.year else None
        if period and query.periods and query.periods[0].year == period.year:
            period = query.periods[0]
        value = compose.value_text(chosen.cell.text, chosen.unit.row.unit, script)
        reply = compose.figure_reply(script, company, what, period, value, marker)
    elif chosen.picked is not None and query.answer_type in NUMERIC:
        period = query.periods[0] if query.periods and chosen.years & query.years else None
        value = compose.sentence_value(chosen.picked.value, chosen.picked.currency, script)
        reply = compose.figure_reply(script, company, what, period, value, marker)
    elif chosen.picked is not None:  # a date, a year or a person, as the sentence writes it
        reply = compose.figure_reply(script, company, what, None,
                                     compose.stated_value(chosen.picked.value, script), marker)
    if not reply or not compose.verified(reply, shown):
        reply = _sentence_reply(query, chosen, document.meta.title, document.meta.title_en,
                                marker)
    return reply, citations


def _label_as_subject(chosen: Candidate, script: Script) -> str:
    """A row's label names what its figure is ("Total Energy Consumption"), when the
    question's own words for it are not in the row and the label is in the asker's
    language."""
    row = chosen.unit.row
    if row is None or not row.label or row.label.isascii() != (script == "en"):
        return ""
    # the row's own words, not the breakdown it stands in ("Female", not "By gender
    # Female"), with its figure's column when that says what the figure is ("Female,
    # Turnover rate"; 「女性 員工流失率」)
    label = _LABEL_NOISE.sub("", clean_title(row.own_label)).strip() or row.label
    column = chosen.cell.column if chosen.cell is not None else ""
    if column and column.isascii() == label.isascii() and column.lower() not in label.lower() \
            and not _COUNT_COLUMN.fullmatch(column.strip()):
        label = f"{label}, {column.lower()}" if script == "en" else f"{label} {column}"
    return label if script == "en" else compose.in_script(label, script)


def _sentence_reply(query: Query, chosen: Candidate, title: str, title_en: str,
                    marker: str) -> str:
    """A reply that quotes the one sentence (or row) chosen, cleanly, with a frame."""
    script = query.script
    source = title_en or title if script == "en" else compose.in_script(title, script)
    text = compose.in_script(chosen.text, script) if script != "en" else chosen.text
    lead = compose.yes_or_no(chosen.text, script) if query.answer_type == "yesno" else ""
    return f"{lead}{compose.frame(script, query.answer_type, source, marker)} {text}".strip()


def _company_for(query: Query, vocabulary: Vocabulary, doc_id: str) -> str:
    """The company as the asker names it: their own word for it, else the document's."""
    asked = _company_as_asked(query, vocabulary)
    if asked:
        return compose.company_name(asked, query.script)
    names = vocabulary.documents[doc_id].names
    wanted = [n for n in names if n.isascii() == (query.script == "en")]
    return compose.company_name((wanted or list(names) or [""])[0], query.script)


def abstention(query: Query, decision: Decision) -> str:
    """What the documents do not hold, in the asker's language."""
    script = query.script
    if decision.reason == "unknown":
        return {"en": f"The documents do not cover {decision.missing}.",
                "zh-Hant": f"文件未涵蓋{decision.missing}。",
                "zh-Hans": f"文件未涵盖{decision.missing}。"}[script]
    if decision.reason == "period":
        years = compose.years_range(decision.reported)
        asked = (", " if script == "en" else "、").join(
            compose.period_name(p, script) for p in query.periods)
        if script == "en":
            return f"The documents report {years}, not {asked}."
        return compose.in_script(f"文件報告的是{years}年的數據，沒有{asked}的。", script)
    what, period = compose.subject(query), _years_text(query.periods)
    if what and script == "en":
        return f"The documents do not say ({what}{', ' + period if period else ''})."
    if what:
        when = f"{period}年" if period else ""
        return compose.in_script(f"文件中沒有關於{when}「{what}」的資料。", script)
    return compose.NOT_FOUND[script]


def missing_of(query: Query, decision: Decision) -> str:
    """What an abstention says is missing: the unknown name or unreported period, else the
    asked period and subject the evidence did not answer ("2019 員工人數")."""
    if decision.missing:
        return decision.missing
    return " ".join(x for x in (_years_text(query.periods), compose.subject(query)) if x)

