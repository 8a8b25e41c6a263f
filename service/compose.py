"""Replies in the asker's language, built from the chosen fact or sentence with small
bilingual tables for units, periods and answer frames: "SenseTime's total revenue in 2023:
RMB 3,405,842 thousand [1]", 「智譜2025年末員工總數：937人 [1]」.

Every figure, date and name a reply states is copied from the quote it cites; `verified`
checks that, and a reply that fails it is not served.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.keyword import stem
from index.normalise import matching_form
from index.script import converter, is_cjk
from index.types import Script
from service.cite import Citation
from service.dates import in_english
from service.query import Period, Query, is_unit

_EN_STOPS = frozenset("of the and for in on at to by a an its their s".split())
# How units read in English; Chinese replies keep the document's words (in their script).
_UNITS_EN = {
    "人民幣千元": ("RMB ", " thousand"), "人民币千元": ("RMB ", " thousand"),
    "人民幣百萬元": ("RMB ", " million"), "人民币百万元": ("RMB ", " million"),
    "人民幣億元": ("RMB ", " hundred million"), "人民幣元": ("RMB ", ""),
    "百萬元": ("RMB ", " million"), "百万元": ("RMB ", " million"), "千元": ("RMB ", " thousand"),
    "億元": ("RMB ", " hundred million"), "亿元": ("RMB ", " hundred million"),
    "港元": ("HK$", ""), "美元": ("US$", ""),
    "兆瓦時": ("", " MWh"), "兆瓦时": ("", " MWh"), "千瓦時": ("", " kWh"), "千瓦时": ("", " kWh"),
    "噸": ("", " tonnes"), "吨": ("", " tonnes"), "噸/人": ("", " tonnes per person"),
    "吨/人": ("", " tonnes per person"), "人": ("", " people"), "名": ("", " people"),
    "人次": ("", " person-times"), "次": ("", " times"), "小時": ("", " hours"),
    "小时": ("", " hours"), "天": ("", " days"), "%": ("", "%"),
}
# Counting words that only classify (「6,799項」, 「22,000個」): an English reply's subject
# already names what is counted, so the figure stands alone.
_COUNTERS = frozenset("項 项 個 个 件 款 家 所 台 篇 座 套 張 张".split())
# The unit words right after a figure in a sentence ("3,405.8百萬元", "937人", "15 項").
_DIGITS = re.compile(r"\d[\d,.]*")

NOT_FOUND = {"en": "The documents do not say.", "zh-Hant": "文件中沒有找到這個問題的答案。",
             "zh-Hans": "文件中没有找到这个问题的答案。"}


def in_script(text: str, script: Script) -> str:
    """Chinese text in the asker's script (English is left alone)."""
    if script == "zh-Hant":
        return converter("s2t").convert(text)
    if script == "zh-Hans":
        return converter("t2s").convert(text)
    return text


def subject(query: Query, evidence: frozenset[str] | None = None) -> str:
    """What the question asks about, in its own words: its weightiest run of content words
    ("total revenue", 「員工總數」), without the company, period or asking words; with
    `evidence` (the cited unit's tokens), only of the words the evidence holds, so a verb
    of the question ("sat", "draw") does not become part of the subject."""
    weights = {c.token: c.weight for c in query.concepts
               if (evidence is None or c.found(evidence) > 0) and not is_unit(c.token)}
    if not weights:
        return ""
    # A follow-up ("what about Zhipu?") names its subject in the turn it inherits from.
    return _subject_in(query.text, query, weights) or _subject_in(query.search_text, query,
                                                                  weights)


def _subject_in(text: str, query: Query, weights: dict[str, float]) -> str:
    if query.language == "en":
        return _english_run(text, weights)
    form = matching_form(text)
    spans = sorted((m.start(), m.end(), weights[c]) for c in weights if not c.isascii()
                   for m in re.finditer(re.escape(c), form))
    if not spans:
        return ""
    clusters: list[tuple[int, int, float]] = []  # (start, end, weight)
    for a, b, w in spans:
        if clusters and a <= clusters[-1][1] + 1:
            start, end, weight = clusters[-1]
            clusters[-1] = (start, max(end, b), weight + w)
        else:
            clusters.append((a, b, w))
    a, b, _ = max(clusters, key=lambda c: c[2])
    original = text if len(form) == len(text) else form
    return in_script(original[int(a):int(b)], query.script).strip("的之")


def _english_run(text: str, concepts: dict[str, float]) -> str:
    # A phrase concept ("depreciation and amortisation") lends its weight to its words, so
    # the run that spells it out outweighs a single heavy word beside it ("charge").
    weights: dict[str, float] = {}
    for token, weight in concepts.items():
        parts = [stem(w) for w in token.split() if w not in _EN_STOPS]
        for part in parts:
            weights[part] = max(weights.get(part, 0.0), weight / len(parts))
    words = list(re.finditer(r"[A-Za-z][A-Za-z&'’-]*", text))
    runs: list[tuple[float, int, int]] = []
    start: int | None = None
    score, last = 0.0, 0
    for i, word in enumerate(words):
        key = stem(re.sub(r"['’]s?$", "", matching_form(word.group())))
        if key in weights:
            if start is None:
                start, score = i, 0.0
            score += weights[key]
            last = i
        elif start is not None and (word.group().lower() not in _EN_STOPS or i - last > 1):
            runs.append((score, start, last))
            start = None
    if start is not None:
        runs.append((score, start, last))
    if not runs:
        return ""
    _, a, b = max(runs)
    return text[words[a].start():words[b].end()]


def period_phrase(period: Period | None, script: Script) -> str:
    if period is None:
        return ""
    if script == "en":
        return {"": f"in {period.year}", "H1": f"in the first half of {period.year}",
                "end": f"at the end of {period.year}"}[period.part]
    end = {"": "年", "H1": "年上半年", "end": "年末"}[period.part]
    return f"{period.year}{end}"


def period_name(period: Period, script: Script) -> str:
    """A period as a noun: "the first half of 2023", 「2023年上半年」, "2019"."""
    if script == "en":
        return {"": str(period.year), "H1": f"the first half of {period.year}",
                "end": f"the end of {period.year}"}[period.part]
    return f"{period.year}年" + {"": "", "H1": "上半年", "end": "末"}[period.part]


def company_name(name: str, script: Script) -> str:
    return name if script == "en" else in_script(name, script)


def figure_reply(script: Script, company: str, what: str, period: Period | None,
                 value: str, marker: str) -> str:
    """A figure's reply: "SenseTime's total revenue in 2023: RMB 3,405.8 million [1]"."""
    when = period_phrase(period, script)
    if script == "en":
        head = " ".join(p for p in (f"{company}'s" if company else "", what or "the figure",
                                    when) if p)
        return f"{head[0].upper()}{head[1:]}: {value} {marker}"
    head = f"{company}{when}{what}" if what else f"{company}{when}"
    return f"{head or '數值'}：{value} {marker}".replace("數值", in_script("數值", script))


def stated_value(value: str, script: Script) -> str:
    """A date, year or name as a sentence writes it, for the asker: a Chinese date in an
    English reply as English writes it (「2021年12月30日」 -> "30 December 2021"); else the
    text in the asker's script."""
    if script != "en":
        return in_script(value, script)
    return in_english(value)


def value_text(figure: str, unit: str, script: Script) -> str:
    """A figure with its unit, as the asker reads it: "RMB 3,405,842 thousand", "937人"."""
    unit = unit.strip()
    if not unit or figure.endswith(("%", "％")):
        return figure
    if script == "en":
        if unit in _COUNTERS:
            return figure
        before, after = _UNITS_EN.get(unit, ("", f" {unit}"))
        return f"{before}{figure}{after}"
    unit = in_script(unit, script)
    if unit.startswith(("人民幣", "人民币")) and len(unit) > 3:
        return f"{unit[:3]}{figure}{unit[3:]}"
    return f"{figure}{unit}"


def sentence_value(value: str, currency: str, script: Script) -> str:
    """A figure as a sentence writes it, for the asker: 3,405.8百萬元 -> RMB 3,405.8 million."""
    if script != "en":
        return in_script(f"{currency}{value}", script)
    digits = _DIGITS.match(value)
    if not digits:
        return value
    unit = value[digits.end():].strip()
    return value_text(digits.group(), unit or currency, "en") if unit or currency else value


def frame(script: Script, kind: str, source: str, marker: str) -> str:
    """The lead-in of a reply that quotes a sentence: "According to ... [1]:"."""
    if script == "en":
        return f"According to {source} {marker}:"
    return f"據{source}{marker}：" if script == "zh-Hant" else f"据{source}{marker}："


def cited_texts(citations: Sequence[Citation]) -> list[str]:
    """What a reply's figures may come from: the quotes as shown, and the titles of the
    documents they are cited from (a frame names the report: 「據…2023年可持續發展報告」)."""
    return [t for c in citations for t in (c.display, c.display_converted or "", c.title,
                                           c.title_display)]


def verified(reply: str, quotes: Sequence[str]) -> bool:
    """Every figure of the reply (its digits, citation markers aside) stands in a quote."""
    body = re.sub(r"\[\d{1,3}\]", "", reply)
    shown = "\n".join(quotes)
    digits_only = re.sub(r"[,\s]", "", shown)
    for figure in _DIGITS.findall(body):
        figure = figure.rstrip(".,")
        if figure and figure not in shown and re.sub(",", "", figure) not in digits_only:
            return False
    return True


def has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)


def years_range(years: Sequence[int]) -> str:
    """2021–2023 for consecutive years, else 2018, 2020."""
    years = sorted(set(years))
    if len(years) > 2 and years[-1] - years[0] == len(years) - 1:
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(y) for y in years)


_NEGATION = re.compile(r"未|沒有|没有|並無|并无|無|无|不|否|\b(?:no|not|none|nil|never)\b", re.I)


def yes_or_no(text: str, script: Script) -> str:
    """"No." when the sentence denies, else "Yes." (in the asker's language), as a lead."""
    negative = bool(_NEGATION.search(text))
    return {"en": "No. " if negative else "Yes. ", "zh-Hant": "否。" if negative else "是。",
            "zh-Hans": "否。" if negative else "是。"}[script]
