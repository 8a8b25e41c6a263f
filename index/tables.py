"""Flattened table rows read as facts, once, at chunking: a row's label, its figures, the
column (period) of each figure and the unit, from the row and the header lines above it.

PDF extraction flattens a table to one line per row, cells split by tabs or spaces, with
the column labels scattered over the lines above ("2023年 2022年", "金額 佔總收入百分比",
"（人民幣千元，除非為百分比）"). Reading them here, where the lines are at hand, means the
answer side never re-guesses which figure of "收入 3,405,842 100.0 3,808,510 100.0 –10.6%"
is the 2023 revenue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.normalise import DOT_LEADER
from index.script import is_cjk
from index.types import Cell, RowFact

_FIGURE = re.compile(r"^[(（]?[–—+-]?\d[\d,]*(?:\.\d+)?\s*[%％‰]?[)）]?$")
# a dash, or in a tabbed row a slash ("Average training hours per employee\t\t/\t12.6"):
# nothing to report in that column
NIL = re.compile(r"^[–—/-]$")
_YEAR = re.compile(r"(?<![\d.])(?:FY)?((?:19|20)\d\d)(?![\d.])")
_MARKUP = re.compile(r"<sup>[^<]{0,8}</sup>|<[^>]{1,40}>|\*\*")
# Units as filings print them, longest first; matched in header lines and a row's label.
UNIT_WORDS = (
    "人民幣百萬元", "人民币百万元", "人民幣千元", "人民币千元", "人民幣億元", "人民幣萬元",
    "人民幣元", "港幣百萬元", "港元", "美元", "百萬元", "千元", "萬元", "億元", "RMB'000",
    "RMB million", "RMB’000", "US$'000", "HK$'000", "兆瓦時", "千瓦時", "MWh", "kWh", "GJ",
    "噸二氧化碳當量", "tCO2e", "tCO₂e", "tCO ₂ e", "噸/人", "tonnes/person", "噸", "tonnes",
    "kg", "千克", "立方米", "m³", "小時", "hours", "人次", "人", "名", "家", "項", "個", "次",
    "件", "篇", "位", "台", "款", "%")
_HEADCOUNT = re.compile(r"人數|人数|headcount|number of (?:employees|staff|people)", re.I)
_UNIT_HEADER = re.compile(r"^(?:單位|单位|unit)s?$", re.I)
_PARENS = re.compile(r"\s*[(（]([^()（）]{1,30})[)）]\s*$")
_CHANGE = re.compile(r"同比|變動|变动|增減|增减|change", re.I)
# A table of first halves (an interim report's 「截至6月30日止六個月」 over "2024年 2023年"),
# unless its header also names whole years (a prospectus's 「截至12月31日止年度」 beside it).
_HALF = re.compile(r"六個月|六个月|上半年|six months|first half|\bH1\b|interim", re.I)
_WHOLE = re.compile(r"止年度|年度|全年|year ended|full year|for the year", re.I)


@dataclass(frozen=True)
class Header:
    """What a table's header lines say about its columns."""

    periods: tuple[tuple[str, int], ...]  # column labels naming a year, in order: ("2023年", 2023)
    unit: str  # a unit the header states for every row ("人民幣千元"), or ""
    unit_column: bool  # the table has a column of units ("單位")
    change_column: bool  # the last figure column is a year-on-year change
    notes_column: bool = False  # a column of note numbers before the figures ("附註")
    # The labels of the last header line's figure columns, when they name no period
    # ("員工結構 | 員工流失率"), right-aligned with a row's figures.
    columns: tuple[str, ...] = ()
    half: bool = False  # every year column is a first half


def split_cells(line: str) -> list[tuple[int, int]]:
    """(start, end) of each non-empty cell of a flattened row: tab-separated where it has
    tabs, else runs of spaces, except inside the label (the cells before the first figure
    are one label, "Total revenue 3,405,842" is two cells)."""
    pieces = [(m.start(), m.end()) for m in re.finditer(r"[^\t]+", line)] if "\t" in line else [
        (m.start(), m.end()) for m in re.finditer(r"\S+", line)]
    pieces = [(a + len(line[a:b]) - len(line[a:b].lstrip()), b - len(line[a:b]) +
               len(line[a:b].rstrip())) for a, b in pieces if line[a:b].strip()]
    if "\t" in line or not pieces:
        return pieces
    first = next((i for i, (a, b) in enumerate(pieces) if _is_figure(line[a:b], False)),
                 len(pieces))
    if first <= 1:
        return pieces
    return [(pieces[0][0], pieces[first - 1][1]), *pieces[first:]]


def _is_figure(cell: str, tabbed: bool = True) -> bool:
    cell = cell.strip()
    # (a slash between words of a line cut at spaces is a word: "Revenue / Income")
    return bool(_FIGURE.match(cell) or NIL.match(cell) and (tabbed or cell != "/"))


def read_header(lines: Sequence[str]) -> Header:
    """The periods, unit and special columns named by a table's header lines (and the
    caption lines just above it), in reading order."""
    periods: list[tuple[str, int]] = []
    unit, unit_column, change, notes = "", False, False, False
    columns: tuple[str, ...] = ()
    for line in lines:
        clean = _MARKUP.sub("", line).strip()
        cells = [c.strip() for c in (clean.split("\t") if "\t" in clean else clean.split())]
        if any(_UNIT_HEADER.match(c) for c in cells):
            unit_column = True
        if any(re.fullmatch(r"附註|附注|notes?", c, re.I) for c in cells):
            notes = True
        if _CHANGE.search(clean):
            change = True
        if len(clean) > 60 and "\t" not in clean:
            continue  # a sentence above the table, not a column label (a tabbed line is cells)
        if "\t" in clean:
            labels = [c for c in clean.split("\t")[1:] if c.strip()]
            if len(labels) >= 2 and not any(_YEAR.search(c) for c in labels):
                columns = tuple(re.sub(r"\s*[¹²³⁴⁵⁶⁷⁸⁹⁰]+$|\s+\d$", "", c.strip())
                                for c in labels)
        # Column labels stand two or more to a line ("2023年 2022年"), or alone when short
        # ("2023"); a lone longer line names the period of the whole table
        # ("截至2023年12月31日止年度"), not a column.
        labels = cells if len(cells) > 1 else [c for c in cells if len(c) <= 8]
        for cell in labels:
            match = _YEAR.search(cell)
            if match and len(cell) <= 16 and not any(p[0] == cell for p in periods):
                periods.append((cell, int(match.group(1))))
    # Header lines break anywhere ("人民幣" / "百萬元"): units are read from them joined.
    joined = "".join(_MARKUP.sub("", line).strip() for line in lines if len(line.strip()) <= 60)
    unit = _unit_in(joined, header=True) or next(
        (u for u in (_unit_in(line, header=True) for line in lines) if u), "")
    # a header that says it counts people (「員工人數及流失情況」, "headcount") states its
    # figures in 人 where it names no other unit (a rate column keeps its own %)
    unit = unit or ("人" if _HEADCOUNT.search(joined) else "")
    text = " ".join(_MARKUP.sub("", line) for line in lines if len(line.strip()) <= 60)
    half = bool(_HALF.search(text)) and not _WHOLE.search(text)
    return Header(tuple(periods), unit, unit_column, change, notes, columns, half)


def _unit_in(text: str, header: bool = False) -> str:
    """A unit word in a header line's parentheses ("（人民幣千元，除非為百分比）"), or a
    header line that is only units ("人民幣千元 人民幣千元"); "" if none."""
    bracketed = re.findall(r"[(（]([^()（）]{1,40})[)）]", text)
    candidates = bracketed or ([text] if header and len(text) <= 40 else [])
    for candidate in candidates:
        for word in UNIT_WORDS:
            # a one-character unit (人, 名, %) only as a whole cell: 人 is no unit in 人民幣
            whole = candidate.strip() == word or word in candidate.split()
            if whole or (len(word) > 1 and word in candidate):
                return word
    return ""


_AMOUNT = re.compile(r"\d,\d{3}|\.\d|^\(")  # 3,465,766 / (0.20) / 15.91


def read_row(line: str, offset: int, header: Header, group: str, caption: str = ""
             ) -> RowFact | None:
    """The fact a flattened row states: its label, figures with their periods, and unit;
    None for a line without a figure (a group label such as "Energy Consumption")."""
    cells = split_cells(line)
    figures = [i for i, (a, b) in enumerate(cells) if _is_figure(line[a:b], "\t" in line)]
    note = None
    texts = [line[slice(*cells[i])].strip() for i in figures]
    # The note a row refers to ("研發開支 5 (3,465,766) ...") is no figure: under a 附註
    # header, or wherever a bare one- or two-digit number comes before two or more amounts
    # written as such (the statement's header may stand in an earlier passage).
    if figures and len(figures) > 1 and re.fullmatch(r"\d{1,2}", texts[0]) and (
            header.notes_column or len(figures) > 2 and all(_AMOUNT.search(t) for t in texts[1:])):
        note = figures.pop(0)
    if not figures:
        return None
    if figures[0] == 0:
        # A line of amounts alone under rows of them is their sum (「8,261,995 9,889,758」
        # under 人民幣信貸 and 美元信貸): a total row; a lone figure or a line of bare numbers
        # (a chart's axis) is none.
        if len(figures) < 2 or not all(_AMOUNT.search(t) for t in texts):
            return None
        # It totals what its group or the table's caption names (「本集團有下列未提取銀行
        # 信貸：」), so that is its label, with the total word.
        total = "合計" if any(is_cjk(ch) for ch in group + header.unit) else "Total"
        values = [cells[i] for i in figures]
        whole = _MARKUP.sub("", group or caption).strip()
        return RowFact(label=f"{whole} {total}".strip(), group=group, unit=header.unit,
                       cells=_cells(line, offset, values, header))
    label_cells = [c for i, c in enumerate(cells[:figures[0]]) if i != note]
    unit = ""
    if len(label_cells) > 1 and (header.unit_column or _unit_in(
            line[label_cells[-1][0]:label_cells[-1][1]], header=True)):
        a, b = label_cells[-1]
        unit = _MARKUP.sub("", line[a:b]).strip()
        label_cells = label_cells[:-1]
    label = " ".join(_MARKUP.sub("", DOT_LEADER.sub(" ", line[a:b])).strip()
                     for a, b in label_cells).strip()
    in_label = _PARENS.search(label)
    if in_label and _unit_in(f"({in_label.group(1)})"):
        unit = unit or in_label.group(1).strip()
    unit = unit or header.unit
    values = [cells[i] for i in figures]
    return RowFact(label=label, group=group, unit=unit, cells=_cells(line, offset, values, header))


def _cells(line: str, offset: int, values: list[tuple[int, int]], header: Header
           ) -> tuple[Cell, ...]:
    columns = _columns(len(values), header)
    names = header.columns[-len(values):] if len(header.columns) >= len(values) else ()
    return tuple(Cell(line[a:b].strip(), offset + a, offset + b, label_, year,
                      names[i] if names else "", header.half and year is not None)
                 for i, ((a, b), (label_, year)) in enumerate(zip(values, columns, strict=True)))


def _columns(count: int, header: Header) -> list[tuple[str, int | None]]:
    """Which column each of a row's `count` figures stands in: the header's periods one to
    one, or in blocks (amount and share of each year, then the change), else unknown."""
    periods = list(header.periods)
    unknown: list[tuple[str, int | None]] = [("", None)] * count
    p = len(periods)
    if p == 0:
        return unknown
    if count == p:
        return [(label, year) for label, year in periods]
    extra = 1 if header.change_column and (count - 1) % p == 0 else 0
    block = (count - extra) // p if (count - extra) % p == 0 else 0
    if block < 1:
        return unknown
    out = unknown[:]
    for i, (label, year) in enumerate(periods):
        # The first figure of a year's block is its amount; the others (its share of the
        # total) are that year's too, under the block's label with a "+" mark.
        out[i * block] = (label, year)
        for j in range(1, block):
            out[i * block + j] = (f"{label}+", year)
    if extra:
        out[-1] = ("change", None)
    return out
