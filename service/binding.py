"""Where a sentence's answer stands: the figure, date or name that the question's subject
words govern in its clause (「獨立董事3位」, not the 「女性董事1位」 before it; 「2030年力爭
實現運營碳中和」, not 2050). Decided once per candidate by service/evidence.py."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from index.script import converter
from service.memo import memo
from service.query import Query, is_unit

_MEASURES = "人名項项家個个次倍噸吨位輛辆件篇台部款座份條条張张所戶户只艘架種种類类词詞"
_AFTER = re.compile(r"\s?(?:%|％|‰|(?:[餘余多]\s?)?(?:[萬万億亿千百]\s?)?(?:人民幣百萬元|"
                    r"人民币百万元|"
                    rf"百萬元|百万元|億元|亿元|萬元|万元|千元|元|人次|[{_MEASURES}]|兆瓦時|兆瓦时|"
                    rf"小時|小时|"
                    r"天|公里|平方米|立方米)|(?:[餘余多]\s?)?[萬万億亿]|"
                    r"(?:million|billion|thousand|times|people|employees|tonnes|MWh|hours|days)\b)")
_BEFORE = re.compile(r"(?:人民幣|人民币|港幣|港币|RMB|HK\$|US\$|\$)\s?$")


@memo
def _simplified(text: str) -> str:
    return converter("t2s").convert(text)


@memo
def _fold(text: str) -> str:
    """Simplified, lower case, and as long as `text`, so positions carry over."""
    folded = converter("t2s").convert(text).lower()
    return folded if len(folded) == len(text) else text.lower()


Terms = dict[str, list[tuple[int, float]]]


def subject_terms(query: Query) -> Terms:
    """The question's subject words and their translations, each with the concepts it
    stands for and their weights, and its years (computed once per query)."""
    return query.kept("_subject_terms", lambda: _subject_terms(query))


def _subject_terms(query: Query) -> Terms:
    top = max((c.weight for c in query.concepts), default=1.0) or 1.0
    terms: Terms = {}
    for index, concept in enumerate(query.concepts):
        if concept.token.isnumeric() or is_unit(concept.token):
            continue
        for i, tokens in enumerate(concept.forms):
            weight = concept.weight / top * (1.0 if i == 0 else 0.85)
            words = [t for t in tokens if (len(t) > 1 or not t.isascii()) and not is_unit(t)]
            if len(words) == 2 and not any(w.isascii() for w in words):
                # a term of two words ("獨立董事") binds whole; one of its words alone
                # ("女性董事") only half as well
                for joined in (words[0] + words[1], words[1] + words[0]):
                    terms.setdefault(joined, []).append((index, weight))
                weight *= 0.5
            for token in words:
                terms.setdefault(token, []).append((index, weight))
    for year in query.years:
        terms.setdefault(str(year), []).append((-1, 1.0))
    return terms


def _anchors(query: Query, form: str, years: bool = True) -> list[list[tuple[int, int, float]]]:
    """Per subject word of the question (and, with `years`, its year): where it, or a
    translation, stands in a folded text, with its weight."""
    places: dict[int, list[tuple[int, int, float]]] = {}
    for term, owners in subject_terms(query).items():
        if not years and owners[0][0] == -1:
            continue
        at = form.find(term)
        while at >= 0:
            for index, weight in owners:
                places.setdefault(index, []).append((at, at + len(term), weight))
            at = form.find(term, at + 1)
    return list(places.values())


# A comma inside a figure ("8,123") cuts nothing, nor does the colon of a comparative
# period: in 「利率為3.23%（2022年：3.36%）」 the 3.36% is 2022's, written in the same clause.
_CLAUSE = re.compile(r"[，；;。！？!?\n]|(?<![年\d])[：:]|,(?!\d)")
# Coordinated parts of a clause: 「中國的4,169項專利資產及海外的3,954項專利資產」 has two,
# and each figure belongs to the words of its own part.
_PART = re.compile(r"以及|及|和|与|與|、|\band\b|\bwhile\b")


def _nearness(span: tuple[int, int], anchors: list[list[tuple[int, int, float]]],
              form: str, before_counts: float = 0.5) -> float:
    """How well a span is bound to the subject words: the weight of those standing in its
    own clause (a figure belongs to the noun of its clause: 「獨立董事3位」, not the
    「女性董事1位」 before it), then how close they stand (after it reads best; before
    it counts `before_counts` as much)."""
    a, b = span
    clause = _clause_of(a, form)
    part = _part_of(a, form, clause)
    bound = close = 0.0
    for places in anchors:
        inside = [w for start, _, w in places if clause[0] <= start < clause[1]]
        bound += max(inside, default=0.0)
        bound += 0.5 * max((w for start, _, w in places if part[0] <= start < part[1]),
                           default=0.0)
        best = 0.0
        for start, end, weight in places:
            gap = a - end if a >= end else (start - b) / before_counts
            best = max(best, weight / (1.0 + max(0, gap) / 4.0))
        close += best
    return bound + 0.3 * close


@dataclass(frozen=True)
class Picked:
    """The answer a sentence states, as it writes it."""

    value: str  # "3,405.8百萬元", "2030 年", "徐立博士"
    currency: str  # a currency word before a figure ("人民幣"), or ""
    bound: float  # 0..1: the share of the question's subject words in its clause


def pick_figure(text: str, query: Query) -> Picked | None:
    """The figure of a sentence (display form) that answers, with the unit words around it
    (and a currency word before it): of all its figures, the one of the kind asked (an
    amount, a percentage, the measure of 「多少輛」) best bound to the subject words."""
    from service.evidence import figures

    form = _fold(text)
    found = figures(form)
    if not found:
        return None
    anchors = _anchors(query, form)
    kinds = [_kind(text, m, query, query.unit) for m in found]
    tiers = [_period_tier(y, query) for y in _figure_marks(form)]
    # The kind asked rules first (a figure of another period falls a rank), then a figure
    # written for the asked period, then one counting what is asked (「257個聯合研究項目」,
    # not the 「52所高校」 before it), then how well the subject words bind it.
    kind, _, _, match = max(zip(kinds, tiers, [_counts(query, form, m) for m in found], found,
                                strict=True),
                            key=lambda p: (p[0] + min(p[1], 0), max(p[1], 0), p[2],
                                           _nearness(p[3].span(), anchors, form)))
    a, b = match.span()
    if a > 0 and text[a - 1] in "-–—" and (a < 2 or not text[a - 2].isalnum()):
        a -= 1  # a negative figure: "-14.8%"
    unit = _AFTER.match(text, b)
    end = unit.end() if unit else b
    before = _BEFORE.search(text[:a])
    # the asked year places a figure (nearness), but binds no subject: a clause holding
    # only the year is not about what was asked
    bound = _bound(match.span(), _anchors(query, form, years=False), form) * (
        1.0 if kind else 0.5)
    return Picked(text[a:end].strip(), before.group().strip() if before else "", bound)


@memo
def _figure_marks(form: str) -> tuple[YearMention | None, ...]:
    """period_marks of the figures of a folded sentence."""
    from service.evidence import figures

    return tuple(period_marks(form, figures(form)))


def _counts(query: Query, form: str, figure: re.Match[str]) -> float:
    """The share of what the question counts ("joint research projects") that a figure's
    own words name: those right after it and its counter (「257個聯合研究項目」), or those
    before it in its clause (「客戶數量已超過2,400家」)."""
    if not query.counted:
        return 0.0
    after = _CLAUSE.split(form[figure.end():figure.end() + 16], maxsplit=1)[0]
    own = form[_clause_of(figure.start(), form)[0]:figure.start()] + " " + after
    concepts = [c for c in query.concepts if c.token in query.counted]
    found = sum(1 for c in concepts if any(all(t in own for t in f) for f in c.forms))
    return found / len(concepts) if concepts else 0.0


def _bound(span: tuple[int, int], anchors: list[list[tuple[int, int, float]]],
           form: str) -> float:
    """The share of the subject words' weight standing in the clause of `span`."""
    total = sum(max(w for _, _, w in places) for places in anchors)
    if not total:
        return 0.0
    clause = _clause_of(span[0], form)
    inside = sum(max((w for start, _, w in places if clause[0] <= start < clause[1]),
                     default=0.0) for places in anchors)
    return inside / total


def _part_of(offset: int, form: str, clause: tuple[int, int]) -> tuple[int, int]:
    """The coordinated part of `clause` that `offset` stands in."""
    cuts = [clause[0], *(m.end() for m in _PART.finditer(form, clause[0], min(clause[1],
            len(form)))), clause[1]]
    return next(((x, y) for x, y in zip(cuts, cuts[1:], strict=False) if x <= offset < y),
                clause)


# A clause that goes on with the one before it (「毛利率由2018年的56.5%增至2019年的56.8%，
# 並進一步增至2020年的70.6%」): it has no subject of its own, so it keeps the previous one's.
_GOES_ON = re.compile(r"\s*(?:并|及|且|而且|再|进一步|其后|随后|and\b|then\b)")


@memo
def _clause_cuts(form: str) -> tuple[int, ...]:
    return (0, *(m.end() for m in _CLAUSE.finditer(form) if not _GOES_ON.match(form, m.end())),
            len(form) + 1)


def _clause_of(offset: int, form: str) -> tuple[int, int]:
    cuts = _clause_cuts(form)  # rising: the clause is the pair of cuts around `offset`
    i = bisect_right(cuts, offset)
    return (cuts[i - 1], cuts[i]) if 0 < i < len(cuts) else (0, len(form))


def clause_cover(text: str, query: Query) -> float:
    """The best share of the subject words' weight one clause of a sentence holds."""
    form = _fold(text)
    anchors = _anchors(query, form, years=False)  # a year is no subject
    # as _bound of each clause mark's clause, its total computed once
    total = sum(max(w for _, _, w in places) for places in anchors)
    if not total:
        return 0.0
    return max(sum(max((w for start, _, w in places if a <= start < b), default=0.0)
                   for places in anchors) / total for a, b in _cover_clauses(form))


@memo
def _cover_clauses(form: str) -> tuple[tuple[int, int], ...]:
    """The clauses the clause marks of a folded sentence (and its start) open, once each."""
    starts = (0, *(m.end() for m in _CLAUSE.finditer(form)))
    return tuple(dict.fromkeys(_clause_of(x, form) for x in starts))


_YEAR_MENTION = re.compile(r"(?<![\d.])((?:19|20)\d\d)(?![\d.])")
_RESPECTIVELY = re.compile(r"分别|各自|respectively")
# How a year is written (folded form), when it is not the whole year: a first half (a flow
# over six months: 「2021年上半年」, 「截至2020年及2021年6月30日止六個月」, "six months ended
# 30 June 2021") or the mid-year date (「截至2021年6月30日」, "as at 30 June 2021").
_CHAIN = r"(?:19|20)\d\d ?年?(?: ?(?:及|、|和|与|至|and|,) ?(?:19|20)\d\d ?年?)*"
_HALF_AFTER = re.compile(r"((?:19|20)\d\d) ?年? ?(?:上半年|前六个月|上半财年)|截至 ?(" + _CHAIN +
                         r") ?0?6 ?月 ?30 ?日止(?:六|6) ?个月")
_HALF_BEFORE = re.compile(r"(?:first half of|\bh1|six months ended (?:30 june,? )?)"
                          r" ?((?:19|20)\d\d(?:(?:,? and |, )(?:19|20)\d\d)*)")
_MID = re.compile(r"((?:19|20)\d\d) ?年 ?0?6 ?月 ?30 ?日|30 june,? ((?:19|20)\d\d)|"
                  r"june 30,? ((?:19|20)\d\d)")


@dataclass(frozen=True)
class YearMention:
    start: int
    year: int
    part: str  # "": the year, "H1": its first half, "mid": 30 June of it


@memo
def year_mentions(form: str) -> tuple[YearMention, ...]:
    """Every year a folded text writes, in order, with the part of it it means."""
    parts: dict[int, str] = {}
    for pattern, part in ((_HALF_AFTER, "H1"), (_HALF_BEFORE, "H1"), (_MID, "mid")):
        for match in pattern.finditer(form):
            a, b = match.span(next(i for i, g in enumerate(match.groups(), 1) if g))
            for year in _YEAR_MENTION.finditer(form, a, b):
                parts.setdefault(year.start(), part)
    return tuple(YearMention(m.start(), int(m.group(1)), parts.get(m.start(), ""))
                 for m in _YEAR_MENTION.finditer(form))


@memo
def year_parts(form: str) -> tuple[tuple[int, str], ...]:
    """The years a folded text writes only as a part of them, with that part: "H1" when
    every mention is of six months (「2021年上半年」: none of its figures is the whole
    year's), "mid" when one is of 30 June; years it also writes plainly are left out."""
    mentions = year_mentions(form)
    plain = {m.year for m in mentions if not m.part}
    parts: dict[int, str] = {}
    for m in mentions:
        if m.year not in plain and parts.get(m.year) != "mid":
            parts[m.year] = m.part
    return tuple(sorted(parts.items()))


def period_marks(form: str, found: Sequence[re.Match[str]]) -> list[YearMention | None]:
    """The year each figure of a folded sentence is written for, where the sentence says:
    in 「2018年、2019年及2020年虧損淨額分別為A、B及C」 (or "... respectively") the n-th
    figure is the n-th year's; otherwise the year written nearest before a figure in its
    clause (「由2022年的3,228.6百萬元增加至2023年的4,473.1百萬元」); else None."""
    mentions = year_mentions(form)
    markers = list(_RESPECTIVELY.finditer(form))
    if markers:
        marker = markers[0]
        chinese = marker.group() != "respectively"
        end = marker.start() if chinese else len(form)
        # the years listed for the figures stand together: no figure between them and the
        # marker (in 「截至2023年…人民幣9,423.5百萬元…，而截至2022年…的結餘分別為A及B」 the
        # figures are 2022's, of two items, not 2023's and 2022's)
        listed = [m for m in found if not chinese or m.start() > marker.start()]
        first = listed[0].start() if listed else end
        listed_years = list({(m.year, m.part): m for m in mentions if m.start < end and not any(
            m.start < f.start() < first for f in found)}.values())
        # each 分別 pairs the years with its own figures, up to the next one: 「…毛利分別為
        # A、B、C及D，對應的毛利率分別為a、b、c及d」
        bounds = [mk.start() for mk in markers] if chinese else [end]
        groups = [[m for m in listed if a < m.start() < b]
                  for a, b in zip(bounds, [*bounds[1:], len(form) + 1], strict=True)] \
            if chinese else [listed]
        by_place = {m.start(): y for group in groups if len(group) == len(listed_years)
                    for m, y in zip(group, listed_years, strict=True)}
        if len(listed_years) > 1 and by_place:
            return [by_place.get(m.start()) for m in found]
    marks: list[YearMention | None] = []
    for m in found:
        clause = _clause_of(m.start(), form)
        before = [y for y in mentions if clause[0] <= y.start < m.start()]
        marks.append(before[-1] if before else None)
    return marks


def period_fits(year: int, part: str, query: Query) -> bool:
    """Whether a year written as `part` is about one of the periods asked: a first half
    only answers a first half, and the whole year only the whole year (or its end)."""
    for period in query.periods:
        if period.year != year:
            continue
        if (period.part == "H1") == (part in ("H1", "mid")) or part == "mid" and not period.part:
            return True
    return False


def _period_tier(mark: YearMention | None, query: Query) -> int:
    """1 when a figure is written for an asked period, -1 for another, else 0."""
    if not query.years or mark is None:
        return 0
    return 1 if period_fits(mark.year, mark.part, query) else -1


def _kind(text: str, match: re.Match[str], query: Query, measure: str) -> int:
    """2: the kind of figure asked for; 1: neutral; 0: another kind."""
    a, b = match.span()
    unit = _AFTER.match(text, b)
    unit_text = _simplified(unit.group().strip()) if unit else ""
    percent = unit_text in ("%", "％", "‰")
    if query.answer_type == "percentage":
        return 2 if percent else 0
    if query.answer_type == "amount":
        money = bool(_BEFORE.search(text[:a])) or unit_text.endswith("元") or unit_text in (
            "million", "billion", "thousand")
        return 2 if money else (0 if percent else 1)
    if measure:
        return 2 if _simplified(measure).lower() in unit_text.lower() else (
            0 if percent else 1)
    return 0 if percent else 1


# A date as filings write it, in either script or case (display or matching form):
# 「2023年12月30日」, 「12月30日」, "30 December 2021", "December 30, 2021", "Dec 2021".
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
DATE = re.compile(rf"(?:19|20)\d\d ?年 ?\d{{1,2}} ?月(?: ?\d{{1,2}} ?日)?|"
                  rf"\d{{1,2}} ?月 ?\d{{1,2}} ?日|"
                  rf"(?:\b\d{{1,2}} )?\b{_MONTH}(?: \d{{1,2}},?)? (?:19|20)\d\d", re.I)
_YEAR_TEXT = re.compile(r"(?<![\d.])(?:19|20)\d\d(?![\d.])(?: ?年)?")
_PERSON_TEXT = re.compile(r"([\u4e00-\u9fff]{2,3})(?:先生|女士|博士|教授)|(?:Mr|Ms|Mrs|Dr|Prof)\.? "
                          r"([A-Z][a-z]+(?: [A-Z][a-z]+){0,2})")
_PERIOD_END = re.compile(r"\s?止")
_ENDED = re.compile(r"\bended\s+$")
_TITLES = frozenset("先生 女士 博士 教授 董事 主席".split())


def pick_date(text: str, query: Query) -> Picked | None:
    """The date (for a year question, the year) a sentence states that the subject words
    bind best, as it writes it."""
    pattern = DATE if query.answer_type == "date" else _YEAR_TEXT
    found = list(pattern.finditer(text)) or list(_YEAR_TEXT.finditer(text))
    # The end of a reporting period (「截至2023年12月31日止年度」, "year ended 31 December
    # 2023") says which period, not when something happened.
    found = [m for m in found if not _PERIOD_END.match(text, m.end())
             and not _ENDED.search(text, 0, m.start())] or found
    if not found:
        return None
    form = _fold(text)
    anchors = _anchors(query, form, years=False)  # the year asked about is not the date
    # a date comes before its event as often as after it: 「2030年力爭實現碳中和」
    best = max(found, key=lambda m: _nearness(m.span(), anchors, form, 1.0))
    return Picked(best.group().strip(), "", _bound(best.span(), anchors, form))


def pick_person(text: str, query: Query) -> Picked | None:
    """A person a sentence names with a title (徐立博士, 季衛東教授, Dr Xu Li), as it
    writes them: a name jieba tags as one, right before the title."""
    words = _tagged(text)
    for i, (word, flag) in enumerate(words[:-1]):
        if flag.startswith("nr") and 2 <= len(word) <= 4 and words[i + 1][0] in _TITLES:
            return Picked(word + words[i + 1][0], "", clause_cover(text, query))
    found = _PERSON_TEXT.search(text)
    if found and found.group(2):
        return Picked(found.group().strip(), "", clause_cover(text, query))
    return None


@memo
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    """jieba's words of a sentence with their part-of-speech tags."""
    import jieba.posseg

    return tuple((w.word, w.flag) for w in jieba.posseg.lcut(text, HMM=False))


