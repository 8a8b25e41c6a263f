"""Citations: exact, checkable pointers from an answer back into the original documents,
and the quotable pieces of a passage (sentences, and table rows with their header)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from index.normalise import repair_wraps
from index.script import converter
from index.types import Chunk, Document

# Plain OpenCC character/phrase conversion, not the regional variants (s2twp, s2hk):
# those also swap vocabulary, which would put words in a quote that the filing never used.
_CONVERSIONS = {("zh-Hant", "zh-Hans"): "t2s", ("zh-Hans", "zh-Hant"): "s2t"}
_MARKUP = re.compile(r"<sup>[^<]{0,8}</sup>|</?[A-Za-z][^<>]{0,40}>|\*\*|^#{1,6}\s+", re.M)
_YEAR_CELL = re.compile(r"^(FY)?(19|20)\d\d(年|年度)?$")
_FIGURE_CELL = re.compile(r"^[(（]?[–—+-]?\d[\d,]*(\.\d+)?\s*[%％]?[)）]?$")
_DIGIT = re.compile(r"\d")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
# A line that only dates the items below it: "2023 June", "- 2025 年 7 月**", "2023年6月".
_DATE_LABEL = re.compile(rf"^[-–•*#\s]*(?:(?:19|20)\d\d\s*年?\s*(?:\d{{1,2}}\s*月|{_MONTH})?|"
                         rf"{_MONTH}\s*(?:19|20)\d\d)[\s*]*$", re.I)
_PERIOD = re.compile(rf"\d{{1,2}}\s*月\s*\d{{1,2}}\s*日|止年度|止六個月|止六个月|\b(?:year|period|"
                     rf"six months) ended\b|\bas (?:at|of)\b|\d{{1,2}} {_MONTH}\b", re.I)
LABEL_REACH = 4  # a date line heads this many items below it, not the whole passage

Span = tuple[int, int]


@dataclass(frozen=True)
class Citation:
    """One quoted span: `quote == document.text[char_start:char_end]`, always."""

    n: int  # 1-based marker number, as in "[1]"
    doc_id: str
    title: str
    section: str  # "A > B" section path
    page: int | None
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    quote: str  # exactly the original span
    quote_converted: str | None = None  # the quote rendered in the reply script, if it differs
    chunk_id: str = ""


def conversion(document_script: str, reply_script: str) -> str | None:
    """The OpenCC configuration that renders a passage's Chinese in the reply script."""
    return _CONVERSIONS.get((document_script, reply_script))


def convert(text: str, config: str | None) -> str:
    return converter(config).convert(text) if config else text


def cite(n: int, document: Document, chunk: Chunk, span: Span,
         config: str | None = None) -> Citation:
    """A citation of `document.text[span]`, found in `chunk`, converted with `config`."""
    start, end = span
    if not 0 <= start < end <= len(document.text):
        raise ValueError(f"span {start}:{end} is outside {document.doc_id!r} "
                         f"({len(document.text)} characters)")
    quote = document.text[start:end]
    converted = convert(quote, config)
    return Citation(
        n=n, doc_id=document.doc_id, title=document.meta.title, section=chunk.section_path,
        page=page_at(document, chunk, start), line_start=line_at(document.text, start),
        line_end=line_at(document.text, end - 1), char_start=start, char_end=end,
        quote=quote, quote_converted=converted if converted != quote else None,
        chunk_id=chunk.chunk_id)


def line_at(text: str, offset: int) -> int:
    """The 1-based line of `text` that holds character `offset`."""
    return text.count("\n", 0, offset) + 1


def page_at(document: Document, chunk: Chunk, offset: int) -> int | None:
    if document.page_starts:
        return max(1, bisect.bisect_right(document.page_starts, offset))
    return chunk.page


def readable(text: str) -> str:
    """A quote as people read it: hard wraps joined (table lines kept apart, their cells
    split by " | "), markup dropped. Only the layout changes; every word is the document's."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) > 1 and not any(_table_line(line) for line in lines):
        spans, position = [], 0
        for raw in text.split("\n"):
            spans.append((position, position + len(raw)))
            position += len(raw) + 1
        lines = [repair_wraps(text, spans).text]
    joined = "\n".join(re.sub(r"[ \u3000]*\t+[ \u3000]*", " | ", line) for line in lines)
    return _MARKUP.sub("", joined).strip()


def _table_line(line: str) -> bool:
    return "\t" in line or is_row(line) or _header_like(line) or bool(_DATE_LABEL.match(line))


# ---- what can be quoted ----------------------------------------------------------------

def quotable(document: Document, chunk: Chunk) -> list[tuple[Span, Span | None]]:
    """The chunk's sentences and rows, each with what must be quoted along with it: a row's
    column header, or the date line over an item of a dated list."""
    text = document.text
    above = context_lines(text, chunk) if chunk.kind == "table" else []
    out: list[tuple[Span, Span | None]] = []
    label, since = _label_before(text, chunk.char_start), 0
    for i, span in enumerate(chunk.sentences):
        line = text[span[0]:span[1]]
        if label and i - since > LABEL_REACH:
            label = None
        if _DATE_LABEL.match(line):
            label, since = span, i
        elif readable(line) in chunk.section:
            continue  # a heading names the topic, it does not answer anything
        elif chunk.kind == "table" and is_row(line):
            out.append((span, header_span(text, above + list(chunk.sentences[:i]))))
        else:
            out.append((span, label))
    return out


def _label_before(text: str, start: int) -> Span | None:
    """The date line right above `start`, when a chunk begins with a dated item."""
    end = text.rfind("\n", 0, start)
    while end > 0 and not text[text.rfind("\n", 0, end) + 1:end].strip():
        end = text.rfind("\n", 0, end)  # skip blank lines
    if end <= 0:
        return None
    line_start = text.rfind("\n", 0, end) + 1
    line = text[line_start:end]
    if not _DATE_LABEL.match(line):
        return None
    lead = len(line) - len(line.lstrip())
    return line_start + lead, line_start + len(line.rstrip())


def _cells(line: str) -> list[str]:
    parts = line.split("\t") if "\t" in line else line.split()
    return [c.strip() for c in parts if c.strip()]


def is_row(line: str) -> bool:
    """A table line with a figure in a cell of its own (column years aside); without tabs,
    figures must be a third of the cells, so prose ("As of 30 June 2021, ...") is no row."""
    cells = _cells(line)
    figures = sum(1 for c in cells[1:] if _FIGURE_CELL.match(c) and not _YEAR_CELL.match(c))
    return figures > 0 and ("\t" in line or (figures >= len(cells) / 3 and "。" not in line))


def _years_line(line: str) -> bool:
    """Column years, after a row label or not: "2023年 2022年", "Item FY2023 FY2022"."""
    cells = _cells(line)
    labels = cells[1:] if len(cells) > 2 and not _YEAR_CELL.match(cells[0]) else cells
    return bool(labels) and all(_YEAR_CELL.match(c) for c in labels)


def _header_like(line: str) -> bool:
    """Column labels: tab-separated cells without figures, a row of years, or repeated
    unit cells ("人民幣千元 人民幣千元", "Unit RMB'000 RMB'000")."""
    cells = _cells(line)
    if _years_line(line):
        return True
    if len(cells) < 2 or is_row(line) or _DIGIT.search(cells[0]):
        return False
    return "\t" in line or len(set(cells)) == 1 or (len(cells) > 2 and len(set(cells[1:])) == 1)


def header_span(text: str, lines: list[Span]) -> Span | None:
    """The column header of the row after `lines` (the table lines above it, nearest last):
    the nearest header-like line, with a line of years and then the period the columns
    cover ("截至12月31日止年度", "Year ended 31 December") right above it; None if none."""
    for i in range(len(lines) - 1, -1, -1):
        line = text[lines[i][0]:lines[i][1]]
        if _header_like(line):
            top = i - 1 if i > 0 and _years_line(text[lines[i - 1][0]:lines[i - 1][1]]) else i
            if top > 0 and _period_line(text[lines[top - 1][0]:lines[top - 1][1]]):
                top -= 1
            return lines[top][0], lines[i][1]
        if not is_row(line) and len(_cells(line)) > 1 and "\t" not in line:
            return None  # prose: the table ended above this row
    return None


def _period_line(line: str) -> bool:
    return len(line.strip()) <= 40 and not is_row(line) and bool(_PERIOD.search(line))


def context_lines(text: str, chunk: Chunk, reach: int = 4000) -> list[Span]:
    """Where the chunk's repeated table header (`chunk.context`) stands in the document:
    the nearest earlier lines whose cells read the same, as (start, end) spans."""
    if not chunk.context:
        return []
    found: list[Span] = []
    end = chunk.char_start
    floor = max(0, chunk.char_start - reach)
    for wanted in reversed(chunk.context.split("\n")):
        target = _cells(wanted.replace(" | ", "\t"))
        while end > floor:
            start = text.rfind("\n", floor, end - 1) + 1
            line_end = text.find("\n", start, end)
            line = text[start:end if line_end < 0 else line_end]
            end = start
            if _cells(line) == target:
                lead = len(line) - len(line.lstrip())
                found.append((start + lead, start + len(line.rstrip())))
                break
    return sorted(found)
