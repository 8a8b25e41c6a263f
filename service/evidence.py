"""Evidence: every sentence and table row of the retrieved passages as a candidate answer,
with the features the answer model scores (how much of the question it holds, in its own
words or translated; how close it is in meaning; whether it holds the kind of answer and
the period asked for), all read from the units chunking stored."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from index.display import display
from index.normalise import matching_form
from index.reader import LoadedIndex
from index.tables import NIL
from index.types import YEAR, Cell, Document, Unit
from service.binding import (
    DATE,
    Picked,
    clause_cover,
    period_fits,
    pick_date,
    pick_figure,
    pick_person,
    year_parts,
)
from service.memo import memo
from service.query import (
    COUNTERS,
    QUANTITY_UNIT,
    RATE,
    Concept,
    Measure,
    Query,
    currency_of,
)
from service.retrieve import Hit
from service.vocabulary import Vocabulary, language

# The features, in the order the answer model's weights follow (service/model.py).
FEATURES = ("cover", "cover_passage", "cover_context", "bound", "rarest", "numbers", "dense",
            "dense_gap", "retrieval", "rank", "type_fit", "unit", "period", "row", "label",
            "phrase", "length", "same_language", "company", "part")
_NUMBER = re.compile(r"(?:(?<=rmb)|(?<![a-z\d.]))(?<![a-z]-)\d(?:[\d,]*\d)?(?:\.\d+)?")
_PERCENT = re.compile(r"\d(?:\.\d+)? ?(?:%|％|‰)|百分之|\bper ?cent\b")
_CURRENCY = re.compile(r"人民币|港元|港币|美元|元|rmb|hk\$|us\$|\$|million|billion|百万|亿|万元|"
                       r"千元")
# A defined term's entry (「A類股份」 指 …每股面值0.000000025美元…, "“Group” means …"): its
# figures say what the term is, they report nothing.
_TERM_ENTRY = re.compile(r"^\s*[「“\"][^」”\"]{1,30}[」”\"]\s*(?:指|means\b)")
_TOTAL_WORDS = frozenset("总 总数 总计 合计 总额 总量 人数 数目 数量 total number".split())
_MONEY = re.compile(r"人民币|港元|港币|美元|元|rmb|hk\$|us\$|\$")
_PERSON = re.compile(r"先生|女士|博士|教授|\b(?:mr|ms|mrs|dr|prof)\b")
_ORG = re.compile(r"公司|集团|银行|大学|学院|研究院|委员会|协会|交易所|\b(?:inc|ltd|limited|co|"
                  r"corp|"
                  r"university|bank|group|association|committee)\b")
_LIST = re.compile(r"(?:[、，,;；]|和|及|与|\band\b).*(?:[、，,;；]|和|及|与|\band\b)")
_YESNO = re.compile(r"未|没有|并无|无|不|否|已|均|\b(?:no|not|none|nil|never|zero|all)\b")
# A row that is part of the row above it: 「－行政開支」 under share-based pay, "of which".
_PART_ROW = re.compile(r"^\s*(?:[－\-–—•]|其中|包括|of which|including)", re.I)
# An adjusted (non-IFRS) measure is another measure than the one the standards define: it
# answers only a question that asks for it (「經調整虧損淨額」 is not the net loss asked).
# Matching form: Simplified, lower case.
_ADJUSTED = re.compile(r"经调整|非国际财务报告准则|\badjusted\b|non-(?:ifrs|hkfrs|gaap)")
# A row of the balance a period opens with: 「年初的現金及現金等價物」, "at beginning of year".
# (read on the label as written, either script: no conversion per candidate)
_OPENING = re.compile(r"年初|期初|年度开始|年度開始|(?:at )?(?:the )?beginning of (?:the )?"
                      r"(?:year|period)|opening balance", re.I)
_DEFINITION = re.compile(r"指(?![标数导出示定向])|即|定义|意为|寓意|取自|\bmeans?\b|\brefer|"
                         r"\bdefined\b|\bstands? for\b|=|÷")
# The same units come back question after question: their forms are read once (service/memo).
_shown = memo(display)
_matching = memo(matching_form)


@memo
def _years_written(form: str) -> frozenset[int]:
    return frozenset(int(y) for y in YEAR.findall(form))


@dataclass(frozen=True)
class Candidate:
    """One sentence or table row of a retrieved passage that may answer the question."""

    hit: Hit
    rank: int  # of its passage, 1-based
    unit: Unit
    text: str  # its display form
    matching: str  # its matching form
    cell: Cell | None  # for a row: the figure that answers (the asked period's, else first)
    picked: Picked | None  # for a sentence: the figure, date or person that answers
    years: frozenset[int]  # the years it is about: a row's columns, a sentence's years
    features: tuple[float, ...]
    # the years of `years` it is about only in part: (2021, "H1") for 「2021年上半年」 or a
    # six-month column, (2021, "mid") for 「截至2021年6月30日」
    parts: tuple[tuple[int, str], ...] = ()
    # its unit vector: what it says, comparable across languages (its parallel edition's
    # translation of it lies close)
    meaning: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def doc_id(self) -> str:
        return self.hit.chunk.doc_id

    def feature(self, name: str) -> float:
        return self.features[FEATURES.index(name)]


def candidates(query: Query, hits: list[Hit], index: LoadedIndex, vocabulary: Vocabulary
               ) -> list[Candidate]:
    """Every sentence and row of `hits` (headings and header lines are no answers)."""
    if not hits:
        return []
    documents = index.store.documents
    top = hits[0].score if hits[0].score > 0 else 1.0
    vector = query.vector
    units: list[tuple[int, Hit, Unit, str, _Passage, float, np.ndarray]] = []
    for rank, hit in enumerate(hits, start=1):
        row = index.store.by_id[hit.chunk.chunk_id]
        passage = _passage(query, vocabulary, documents[hit.chunk.doc_id], row)
        first = int(index.unit_offsets[row])
        for i, unit in enumerate(hit.chunk.units):
            if unit.kind not in ("sentence", "row"):
                continue
            text = _shown(documents[hit.chunk.doc_id].text[unit.start:unit.end],
                          unit.kind == "row")
            if not _QUOTABLE.search(text):  # "4.", "(b)": nothing to quote
                continue
            meaning = index.unit_vectors[first + i]
            dense = float(meaning @ vector) if vector is not None else 0.0
            units.append((rank, hit, unit, text, passage, dense, meaning))
    best = max((u[5] for u in units), default=0.0)  # dense_gap: how far below the closest
    out = [_candidate(query, vocabulary, hit, rank, unit, text, passage, dense, best - dense,
                      hit.score / top, meaning)
           for rank, hit, unit, text, passage, dense, meaning in units]
    return _standard_over_adjusted(query, _wholes_over_parts(out))


def _standard_over_adjusted(query: Query, found: list[Candidate]) -> list[Candidate]:
    """An adjusted (non-IFRS) measure is no answer where the measure itself stands as well
    as it (「經調整虧損淨額…分別為」 beside 「虧損淨額分別為」) and the question did not ask for
    the adjusted one: the filing defines the measure; the adjustment is management's."""
    if _ADJUSTED.search(query.matching):
        return found
    adjusted = [bool(_ADJUSTED.search(c.matching)) for c in found]
    plain = max((c.feature("cover") for c, a in zip(found, adjusted, strict=True) if not a),
                default=-1.0)
    return [_with(c, "type_fit", 0.0) if a and c.feature("cover") <= plain else c
            for c, a in zip(found, adjusted, strict=True)]


def _wholes_over_parts(found: list[Candidate]) -> list[Candidate]:
    """A part row (「－研發開支 503,596」, the share-based pay within R&D) is no answer where
    the same item stands as a row of its own (「研發開支 (3,465,766)」): that row is the item
    itself; the part is the item within something the question did not ask about."""
    wholes = {_PART_ROW.sub("", c.unit.row.label).strip() for c in found
              if c.unit.row and not _PART_ROW.match(c.unit.row.label)}
    return [_with(c, "type_fit", 0.0) if c.unit.row and _PART_ROW.match(c.unit.row.label)
            and _PART_ROW.sub("", c.unit.row.label).strip() in wholes else c for c in found]


@dataclass(frozen=True)
class _Passage:
    cover: float  # share of the question found in the passage, its section and title
    company: float  # 1 when the passage's document is of a company the question names


def _passage(query: Query, vocabulary: Vocabulary, document: Document, row: int) -> _Passage:
    tokens = set(vocabulary.row_tokens[row]) | vocabulary.tokens(
        f"{document.meta.title} {document.meta.title_en}")
    company = 1.0 if not query.companies or document.doc_id in query.companies else 0.0
    return _Passage(coverage(query.concepts, tokens), company)


def coverage(concepts: tuple[Concept, ...], tokens: frozenset[str] | set[str]) -> float:
    """IDF-weighted share of the concepts found among `tokens` (translations discounted)."""
    total = sum(c.weight for c in concepts)
    return sum([c.weight * c.found(tokens) for c in concepts]) / total if total else 0.0


def _candidate(query: Query, vocabulary: Vocabulary, hit: Hit, rank: int, unit: Unit,
               text: str, passage: _Passage, dense: float, dense_gap: float,
               retrieval: float, meaning: np.ndarray | None = None) -> Candidate:
    form = _matching(text)
    tokens = frozenset(unit.tokens)
    columns = column_shares(query, unit, vocabulary)
    cell = _answer_cell(unit, query, columns)
    picked = None if unit.kind == "row" else _pick(text, query)
    shift = _opening(unit)
    # (a year whose column holds a dash or slash is one the row reports nothing for)
    years = frozenset(c.year - shift for c in unit.row.cells if c.year and not NIL.match(
        c.text)) if unit.row else (
        _years_written(form))
    parts = _row_parts(unit) if unit.row else year_parts(form)
    around = tokens | _context_tokens(vocabulary, hit, unit)
    label = label_share(query, unit, vocabulary) if unit.row else 0.0
    # What a row states is its label and the column of its answer figure: 「女性 | 11.8%」
    # under 員工流失率 says the women's turnover rate, the same label under 受訓員工百分比
    # another fact; the other columns' labels are only context.
    stated = tokens | vocabulary.tokens(cell.column) if cell is not None and cell.column else (
        tokens)
    features = {
        "cover": coverage(query.concepts, stated),
        "cover_passage": passage.cover,
        "cover_context": coverage(query.concepts, around),
        "rarest": rarest_found(query, around),
        "numbers": numbers_found(query, around),
        "bound": label if unit.row else picked.bound if picked else clause_cover(text, query),
        "dense": dense,
        "dense_gap": dense_gap,
        "retrieval": retrieval,
        "rank": 1.0 / rank,
        "type_fit": type_fit(query, form, unit, cell, picked),
        "unit": unit_fit(query, form, unit),
        "period": period_fit(query, years, parts),
        "row": float(unit.kind == "row"),
        "label": label,
        "phrase": _phrase_share(query, form),
        "length": math.log1p(len(text)) / 6.0,
        "same_language": float(language(hit.chunk.script) == query.language),
        "company": passage.company,
        "part": float(bool(unit.row and _PART_ROW.match(unit.row.label))),
    }
    return Candidate(hit, rank, unit, text, form, cell, picked, years,
                     tuple(features[name] for name in FEATURES), parts, meaning)


def _opening(unit: Unit) -> int:
    """1 for a row of the balance a period opens with (年初的現金 in a year's column is the
    balance at the end of the year before), else 0: the years to take from its columns'."""
    return 1 if unit.row and _OPENING.search(unit.row.label) else 0


def _row_parts(unit: Unit) -> tuple[tuple[int, str], ...]:
    assert unit.row is not None
    years = {c.year for c in unit.row.cells if c.year and not NIL.match(c.text)}
    return tuple(sorted((y, "H1") for y in years
                        if all(c.half for c in unit.row.cells if c.year == y)))


def _pick(text: str, query: Query) -> Picked | None:
    if query.answer_type in ("number", "amount", "percentage"):
        return pick_figure(text, query)
    if query.answer_type in ("date", "year"):
        return pick_date(text, query)
    if query.answer_type == "person":
        return pick_person(text, query)
    return None


def rarest_found(query: Query, tokens: frozenset[str]) -> float:
    """Whether the question's most telling word (the rarest) is in the candidate or
    around it: a near miss ("滿意度得分", "PUE", "B shares") is usually the one word the
    documents lack."""
    rarest = query.kept("_rarest", lambda: max(
        [c for c in query.concepts if not c.token.isnumeric()], key=lambda c: c.weight,
        default=None))
    return 1.0 if rarest is None else rarest.found(tokens)


def numbers_found(query: Query, tokens: frozenset[str]) -> float:
    """The share of the question's small numbers ("Scope 3", "GLM-5", "30歲") the candidate
    or its surroundings repeat; 1 when it has none."""
    # (Chinese numerals are numbers too: the 三 of 範圍三 is the "3" of "Scope 3")
    numbers = query.kept("_small_numbers", lambda: [
        c for c in query.concepts if c.token.isnumeric() and len(c.token) < 4])
    if not numbers:
        return 1.0
    return sum(c.found(tokens) for c in numbers) / len(numbers)


def _context_tokens(vocabulary: Vocabulary, hit: Hit, unit: Unit) -> frozenset[str]:
    """What stands around a unit and says what it is about: its section path, and for a
    row its group label and the table's header and caption lines (a "總計" row under
    「借款」)."""
    around = vocabulary.tokens(" ".join(hit.chunk.section))
    if unit.row is not None:
        around = around | vocabulary.tokens(hit.chunk.context) | vocabulary.tokens(
            " ".join([unit.row.group, *(c.column for c in unit.row.cells)]))
    return around


_UNIT_NAMES = (("吨", "tonne", "t"), ("兆瓦时", "mwh"), ("千瓦时", "kwh"), ("人民币千元", "rmb'000",
               "thousand"), ("人民币百万元", "百万元", "rmb million", "million"), ("%", "百分",
               "percent", "比例", "比率"), ("人", "名", "people", "employees", "persons"),
               ("小时", "hours"), ("千克", "kg"), ("立方米", "m³", "cubic"))


def unit_fit(query: Query, form: str, unit: Unit) -> float:
    """1 when the question names a unit ("in tonnes", 多少兆瓦時) the candidate states,
    0 when it states another, 0.5 when the question names none."""
    asked = query.kept("_unit_groups", lambda: [
        group for group in _UNIT_NAMES if any(name in query.matching for name in group)])
    if not asked:
        return 0.5
    stated = _matching(unit.row.unit) + " " + form if unit.row else form
    return 1.0 if any(name in stated for group in asked for name in group) else 0.0


def _with(candidate: Candidate, name: str, value: float) -> Candidate:
    features = list(candidate.features)
    features[FEATURES.index(name)] = value
    return replace(candidate, features=tuple(features))


def column_shares(query: Query, unit: Unit, vocabulary: Vocabulary) -> dict[str, float]:
    """For each labelled column of a row, the share of the question its label holds (as
    `coverage`): asked for 流失率, 員工流失率 holds much of it and 受訓員工百分比 (trained
    employees) only the common word 員工."""
    if unit.row is None:
        return {}
    return {c.column: coverage(query.concepts, vocabulary.tokens(c.column))
            for c in unit.row.cells if c.column}


def _answer_cell(unit: Unit, query: Query, columns: dict[str, float]) -> Cell | None:
    """A row's figure for the asked period; without one, the latest period's; else the
    first figure."""
    if unit.row is None or not unit.row.cells:
        return None
    changes = [c for c in unit.row.cells if c.period == "change"]
    if query.change and query.answer_type == "percentage" and changes:
        return changes[0]
    # a dash reports nothing in its column: it is never the figure
    cells = [c for c in unit.row.cells if c.period != "change" and not NIL.match(c.text)]
    if not cells:
        return None
    best = max((columns.get(c.column, 0.0) for c in cells), default=0.0)
    named = [c for c in cells if best > 0 and columns.get(c.column, 0.0) == best]
    cells = named or cells  # the column the question names best: 員工流失率, Number
    if query.answer_type == "percentage":  # a year's share column, when it has one
        shares = [c for c in cells if c.text.endswith(("%", "％")) or c.period.endswith("+")]
        cells = shares or cells
    else:
        cells = [c for c in cells if not c.period.endswith("+")] or cells
    shift = _opening(unit)
    asked = [c for c in cells if c.year and c.year - shift in query.years]
    if asked:
        return asked[0]
    dated = [c for c in cells if c.year]
    return max(dated, key=lambda c: c.year or 0) if dated else (cells or unit.row.cells)[0]


def period_fit(query: Query, years: frozenset[int], parts: tuple[tuple[int, str], ...] = ()
               ) -> float:
    """1 when the candidate is about an asked period, 0 when it is about other periods
    only (other years, or the first half of a year asked whole), 0.5 when the question asks
    no period or the candidate names none."""
    if not query.periods or not years:
        return 0.5
    return 1.0 if about(query, years, parts) else 0.0


def about(query: Query, years: frozenset[int] | set[int],
          parts: tuple[tuple[int, str], ...] = ()) -> bool:
    """Whether `years` (some only in part) hold a period the question asks."""
    part = dict(parts)
    return any(period_fits(y, part.get(y, ""), query) for y in years)


_QUOTABLE = re.compile(r"(?:[^\W_].*?){4}", re.S)  # four letters, digits or characters
_DIGIT = "一二三四五六七八九"
_CHINESE_COUNT = re.compile(rf"(?<![{_DIGIT}两十百千万亿])(?:[二两三四五六七八九]|十[{_DIGIT}]?|"
                            rf"[二三四五六七八九]十[{_DIGIT}]?)(?=[{COUNTERS}])(?!个月)")
# A designation, not a quantity: a standard's number ("ISO 28000") or a code (「股份代號：
# 0020（港幣櫃台）及80020」, "stock code 0020", "No. 3"), the codes of a list included.
_DESIGNATION = re.compile(r"(?:\b(?:iso|iec|gb|gb/t|ohsas|sa|iso/iec|en|astm)[ -]?|(?:代号|代码|"
                          r"编号|编码|\bcode|\bno\.)\s?[:：]?\s?(?:\d+\s?(?:\([^()]{0,8}\))?\s?"
                          r"(?:及|和|、|,|and)\s?)*)$")


@memo
def figures(form: str) -> tuple[re.Match[str], ...]:
    """Figures of a matching form that are no years, days or list numbers."""
    out = []
    for match in _NUMBER.finditer(form):
        value = match.group()
        if YEAR.fullmatch(value) or re.match(r" ?(?:月|日|号)", form[match.end():]):
            continue
        if match.start() == 0 and form[match.end():match.end() + 1] == ".":
            continue
        if _DESIGNATION.search(form, max(0, match.start() - 24), match.start()):
            continue  # "ISO 28000", "GB/T 19001": a standard's number
        out.append(match)
    # Counts written in Chinese numerals (「共進行四次」, 「三項」) are figures too, when a
    # counter follows; a lone 一 (一家總部位於…) and an ordinal (第三次) are not, nor a
    # span of months (六個月)
    out += [m for m in _CHINESE_COUNT.finditer(form) if form[max(0, m.start() - 1)] != "第"]
    return tuple(sorted(out, key=lambda m: m.start()))


_PEOPLE = frozenset("人名位")


def stated_measure(text: str) -> tuple[Measure, str]:
    """What a figure with its unit words (matching form: "25.0%", "937人", "人民币3,405.8
    百万元", "4,531 人") measures, and its counter word when it is a count (its currency
    when it is money)."""
    # a rate measures what its numerator does: 「千瓦時 / 萬元」 is energy, not money
    text = text.split("/")[0].strip()
    if re.search(r"[%％‰]|百分|\bper ?cent\b", text):
        return "percent", ""
    if _MONEY.search(text):
        return "money", currency_of(text)  # its currency, where it says
    if QUANTITY_UNIT.search(text):
        return "quantity", ""
    counter = re.search(rf"(人次|[{COUNTERS}])$|\b(people|employees|persons|times)$", text)
    return ("count", counter.group()) if counter else ("", "")


def measure_fits(query: Query, stated: tuple[Measure, str]) -> bool:
    """Whether a figure of the `stated` measure can answer: a count is no share and no sum
    of money, a share no count; 「多少名」 is not answered by 「52所」."""
    asked, (kind, counter) = query.measure, stated
    if not asked or not kind:
        return True
    if asked != kind:
        return asked == "money" and kind == "percent" and query.change
    if kind == "money" and query.currency and counter and counter != query.currency:
        return False  # 人民幣 where HK$ is asked
    if kind == "count" and query.unit and counter and query.unit != counter:
        return query.unit in _PEOPLE and counter in _PEOPLE
    return True


def _figure_text(unit: Unit, cell: Cell | None, picked: Picked | None) -> str:
    if cell is not None and unit.row is not None:
        return _matching(f"{cell.text} {unit.row.unit}")
    return _matching(f"{picked.currency}{picked.value}") if picked else ""


def type_fit(query: Query, form: str, unit: Unit, cell: Cell | None,
             picked: Picked | None = None) -> float:
    """0..1: whether a candidate (matching form) holds the kind of answer asked for; 0 for
    a figure of another measure than the one asked, or no rate where a rate is asked. A
    sentence holds a figure only where binding picked one: a year or a footnote mark
    (「2025 年員工人均受訓時數⁹」) is no answer to "how many"."""
    kind = query.answer_type
    row_unit = _matching(unit.row.unit) if unit.row else ""
    if kind in ("number", "amount", "percentage"):
        if cell is None and unit.kind != "row" and (picked is None or _TERM_ENTRY.match(form)):
            return 0.0
        if not measure_fits(query, stated_measure(_figure_text(unit, cell, picked))):
            return 0.0
        if query.rate and not RATE.search(f"{form} {row_unit}"):
            return 0.0  # an intensity is asked, a total is stated
        if cell is not None and _PART_ROW.match(unit.row.label if unit.row else "") and all(
                c.found(frozenset(unit.tokens)) for c in query.concepts):
            return 0.0  # 「－銷售開支」 is a share of something the question does not name
        if cell is not None:
            value = cell.text
            if kind == "percentage":
                return 1.0 if "%" in value or row_unit == "%" else 0.4
            if kind == "amount":
                return 1.0 if _CURRENCY.search(row_unit) or _CURRENCY.search(form) else 0.7
            return 1.0
        found = figures(form)
        if not found:
            return 0.0
        if kind == "percentage":
            return 1.0 if _PERCENT.search(form) else 0.3
        if kind == "amount":
            return 1.0 if _CURRENCY.search(form) else 0.6
        return 1.0
    if kind in ("date", "year"):
        if DATE.search(form):
            return 1.0
        return (1.0 if kind == "year" else 0.6) if YEAR.search(form) else 0.0
    signs = {"person": _PERSON, "organisation": _ORG, "list": _LIST, "yesno": _YESNO,
             "definition": _DEFINITION}
    if kind in signs:
        return 1.0 if signs[kind].search(form) else 0.5
    return 0.7


def label_share(query: Query, unit: Unit, vocabulary: Vocabulary) -> float:
    """How much of a row's label the question asks for: "收入" for total revenue, not
    "其他收入" (other income); the share of the label's tokens the question's concepts
    hold, in any language."""
    assert unit.row is not None
    # the label alone: the group row above it ("按年齡劃分") says where, not what
    # and without note references ("收入 3(a)、4(b)"): digits and one- or two-letter marks
    def usable(text: str) -> list[str]:
        return [t for t in vocabulary.tokens(text)
                if not t.replace(".", "").replace(",", "").isdigit()
                and not (t.isascii() and len(t) < 3)]

    def asked(token: str) -> bool:
        return any(token in f for c in query.concepts for f in c.forms)

    row = unit.row
    label_tokens = usable(row.label)
    if row.own_label != row.label:
        # A row of a breakdown ("By gender Female", 「按性別劃分的員工流失比率 男性員工流失比率」)
        # is measured by its own words when the question names what sets it apart (women,
        # 男性): the breakdown's name then says where it stands, not what it is. A question
        # naming none of that asks for the whole, and the breakdown's words count against it.
        own = usable(row.own_label)
        apart = set(own) - set(usable(row.dimension))
        if any(asked(t) for t in apart):
            label_tokens = own
    if not label_tokens:
        return 0.0
    # A label's "total" words (員工總數, 收入總額, "Total …") say what a question about the
    # thing asks by default: they neither count for nor against it.
    label_tokens = [t for t in label_tokens if t not in _TOTAL_WORDS] or label_tokens
    return sum(1 for t in label_tokens if asked(t)) / len(label_tokens)


def _phrase_share(query: Query, form: str) -> float:
    total = sum(p.weight for p in query.phrases)
    return sum(p.weight for p in query.phrases if p.found_in(form)) / total \
        if total else 0.0


def feature_matrix(found: list[Candidate]) -> np.ndarray:
    return np.array([c.features for c in found], dtype=np.float64).reshape(len(found),
                                                                            len(FEATURES))
