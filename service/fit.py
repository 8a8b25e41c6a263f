"""Fit: whether a sentence or row holds the kind of answer asked for, and for a number
question, whether its figure is the value of what the question asks about."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.normalise import matching_form
from index.script import is_cjk
from service.question import YEAR, Asked, Concept, Intent, is_number, latin_words

UNBOUND = 0.5  # fit of a figure none of whose clause's words the question asks about
DECAY = 0.5  # credit for a question word one clause before the figure's own (then 0.25, ...)
SHARE_PENALTY = 0.5  # "佔總收入的11.3%" is a share of the revenue, not the revenue asked for
NOT_PERCENT = 0.5  # a figure that is no percentage, for "百分之幾" / "what percentage"

# Not "a2.2" (a KPI code) or "glm-4" (a name); but "rmb3405.8" (an amount).
_NUMBER = re.compile(r"(?:(?<=rmb)|(?<![a-z\d.]))(?<![a-z]-)\d+(?:\.\d+)?")
_UNIT = re.compile(r" ?(?:%|‰|亿|万|千|百|元|人|名|吨|兆瓦|千瓦|小时|天|个|家|项|件|辆|倍|篇|所|"
                   r"路|门|次|位|美元|港元|mwh|kwh|gw|mw|tonnes?|hours?|million|billion|"
                   r"thousand|times|days|employees|people|per ?cent)")
_PERCENT_UNIT = ("%", "‰", "per cent", "percent")
_COUNT = re.compile(r"[一二两三四五六七八九十百千万]+[个项次名家件位辆倍]|\b(?:one|two|three|four|"
                    r"five|six|seven|eight|nine|ten|twice|half|dozen)\b")
_SHARE = re.compile(r"[一二三四五六七八九十百千]+分之[一二三四五六七八九十百千]+|"
                    r"\b(?:a|one|two) (?:half|third|quarter)s?\b|\bthirds\b")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_FULL_DATE = re.compile(rf"(?:19|20)\d\d ?年 ?\d{{1,2}} ?月|\d{{1,2}} ?月 ?\d{{1,2}} ?日|"
                        rf"\b{_MONTH} (?:\d{{1,2}}, )?(?:19|20)\d\d|"
                        rf"\d{{1,2}} {_MONTH} (?:19|20)\d\d")
_DAY_OR_MONTH = re.compile(rf" ?(?:月|日|号|{_MONTH}\b)")  # "6月30日", "31 december"
# The time a question is framed in ("截至2023年末", "by the end of 2023"): its words say
# when, not what, so a figure need not stand beside them.
_WHEN = re.compile(rf"(?:截至|截止|于|到|至)?(?:19|20)\d\d ?(?:财政)?年?度?(?:底|末|初|中|全年)?"
                   rf"(?:\d{{1,2}} ?月(?:\d{{1,2}} ?日)?)?止?(?:年度)?|"
                   rf"(?:(?:by|at|as at|as of|in|during|for|until) )?(?:the )?"
                   rf"(?:(?:end|beginning|start) of )?(?:the )?(?:(?:financial|fiscal) year )?"
                   rf"(?:\d{{1,2}} )?(?:{_MONTH} )?(?:\d{{1,2}},? )?(?:fy)?(?:19|20)\d\d")
_CLAUSE_END = re.compile(r"[,;:；：]")
_SENTENCE_END = re.compile(r"[。!?！？]|\.(?!\d)")
_SHARE_WORDS = re.compile(r"占|比例|比重|份额|\b(?:share|proportion|account(?:s|ed|ing)? for|"
                          r"of (?:the |our |its )?total)\b")
_ASKS_SHARE = re.compile(r"占|比例|比重|份额|百分|%|率|\b(?:share|proportion|percentage|percent|"
                         r"rate|ratio)\b")
_ASKS_PERCENT = re.compile(r"百分|%|占比|比例|\b(?:per ?cent|percentage|proportion)\b")
# intent -> (a sure sign, a weaker sign or None, the fit when neither is there)
_SIGNS: dict[Intent, tuple[re.Pattern[str], re.Pattern[str] | None, float]] = {
    "who": (re.compile(r"先生|女士|博士|教授|\b(?:mr|ms|mrs|dr|prof)\b"), None, 0.5),
    "yesno": (re.compile(r"未|没有|并无|无|不|否|已|\b(?:no|not|none|nil|never|zero)\b"), None,
              0.5),
    # 指 as in "means", not 指标 (indicator), 指数 (index), 指导 (guidance) ...
    "definition": (re.compile(r"指(?![标数导出示定向])|即|定义|意为|寓意|取自|\bmeans?\b|\brefer|"
                              r"\bdefined\b|\bstands? for\b|=|÷"), re.compile(r"：|:"), 0.5),
    "list": (re.compile(r"(?:[、，,;；]|和|及|与|\band\b).*(?:[、，,;；]|和|及|与|\band\b)"), None,
             0.5),
    "what": (re.compile(r"[“”「」『』《》\"]|[a-z]{3,}"), None, 0.7),
}


@dataclass(frozen=True)
class Figure:
    """A figure in a matching form."""

    start: int
    kind: float  # 1.0 with a unit, percent or currency, or a share in words; less when bare
    percent: bool  # a percentage, or a share in words ("三分之二")


def figures(form: str) -> list[Figure]:
    """The figures of a matching form; not years, days, months or list numbers ("1. ...")."""
    found = []
    for match in _NUMBER.finditer(form):
        value, unit = match.group(), _UNIT.match(form, match.end())
        if match.start() == 0 and form[match.end():match.end() + 1] == ".":
            continue  # a list item's number
        if not unit and (YEAR.fullmatch(value) or _DAY_OR_MONTH.match(form, match.end())):
            continue
        kind = 1.0 if unit else 0.8 if "." in value or len(value) >= 3 else 0.6
        percent = unit is not None and unit.group().strip() in _PERCENT_UNIT
        found.append(Figure(match.start(), kind, percent))
    found += [Figure(m.start(), 1.0, True) for m in _SHARE.finditer(form)]
    return found + [Figure(m.start(), 0.5, False) for m in _COUNT.finditer(form)]


def intent_fit(intent: Intent, form: str, row: bool = False) -> float:
    """0..1: how well a text in matching form (a table row if `row`) can answer this kind
    of question: a number question wants a figure, a date question a date, and so on."""
    if intent == "number":
        return 1.0 if row else max((f.kind for f in figures(form)), default=0.0)
    if intent in ("date", "year"):
        year = 1.0 if intent == "year" else 0.6  # "which year" needs no day
        return 1.0 if _FULL_DATE.search(form) else year if YEAR.search(form) else 0.0
    sure, weaker, otherwise = _SIGNS[intent]
    return 1.0 if sure.search(form) else 0.8 if weaker and weaker.search(form) else otherwise


def subject(asked: Asked, title: str) -> list[Concept]:
    """The question's words that say what is asked about: not its years and time frame
    ("截至2023年末"), nor the company the document (`title`, matching form) is about."""
    when = " ".join(m.group() for m in _WHEN.finditer(asked.form))
    when_words, title_words = latin_words(when), latin_words(title)
    return [c for c in asked.concepts if not is_number(c.token)
            and c.found_in(when, when_words) < 1.0 and c.found_in(title, title_words) < 0.5]


def candidate_fit(asked: Asked, form: str, table: bool, about: list[Concept]) -> float:
    """intent_fit of a sentence, or of a table row (`table`); a number question looks at
    each figure: is it a percentage when one is asked, and in a sentence, is it the value
    of the `about` words (subject()) rather than of something else they mention?"""
    if asked.intent != "number":
        return intent_fit(asked.intent, form, row=table)
    if table:
        return NOT_PERCENT if _ASKS_PERCENT.search(asked.form) and "%" not in form else 1.0
    return _figure_fit(form, asked, about)


def _figure_fit(form: str, asked: Asked, about: list[Concept]) -> float:
    """The best figure's kind, scaled from UNBOUND to 1 by how much of the sentence's
    `about` words stand in its clause (a word in an earlier clause of the same sentence
    counts DECAY per clause less: "收入增長至X，增幅達到199.9%")."""
    clauses = _clauses(form)
    held = [_held(form[a:b], asked, about) for a, b, _ in clauses]
    total = sum(c.weight * x for c, x in zip(about, _held(form, asked, about), strict=True))
    share_asked = bool(_ASKS_SHARE.search(asked.form))
    percent_asked = bool(_ASKS_PERCENT.search(asked.form))
    best = 0.0
    for figure in figures(form):
        i = next(i for i, (a, b, _) in enumerate(clauses) if a <= figure.start < b)
        credit = held[i]
        for back in range(1, i + 1):
            if clauses[i - back + 1][2]:
                break  # a new sentence
            credit = [max(x, y * DECAY ** back) for x, y in zip(credit, held[i - back],
                                                                strict=True)]
        bound = sum(c.weight * x for c, x in zip(about, credit, strict=True)) / total \
            if total else float(not about)
        a, b, _ = clauses[i]
        if figure.percent and not share_asked and _SHARE_WORDS.search(form[a:b]):
            bound *= SHARE_PENALTY
        kind = figure.kind * (NOT_PERCENT if percent_asked and not figure.percent else 1.0)
        best = max(best, kind * (UNBOUND + (1 - UNBOUND) * min(1.0, bound)))
    return best


def _clauses(form: str) -> list[tuple[int, int, bool]]:
    """(start, end, opens a sentence) of each clause, split at commas, colons, semicolons
    and sentence ends."""
    cuts = sorted({0, len(form) + 1, *(m.end() for m in _CLAUSE_END.finditer(form)),
                   *(m.end() for m in _SENTENCE_END.finditer(form))})
    return [(a, b, a == 0 or bool(_SENTENCE_END.match(form, a - 1)))
            for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _held(text: str, asked: Asked, about: list[Concept]) -> list[float]:
    words = latin_words(text)
    return [asked.found(c, text, words) for c in about]


def label_share(question: str, row: str) -> float:
    """How much of a row's label the question asks for: "收入" for total revenue, not
    "其他收入" (other income) or "財務收入" (finance income); "管理層", not "非管理層".
    The label is the row's cells before its first figure, less any grouping cell
    ("按性別劃分", "By gender"), and the best of them counts."""
    cells = row.strip().split("\t") if "\t" in row else re.split(
        r" (?=[(（]?[–—+-]?\d)", row.strip(), maxsplit=1)
    asked = latin_words(question)
    best = 0.0
    for cell in cells:
        if re.match(r"[(（]?[–—+-]?\d", cell.strip()):
            break
        label = matching_form(cell)
        if re.match(r"按.*分$|by\b", label):
            continue
        words, chars = latin_words(label), [ch for ch in label if is_cjk(ch)]
        if words or chars:
            share = (len(words & asked) + sum(ch in question for ch in chars)) / (
                len(words) + len(chars))
            best = max(best, share)
    return best
