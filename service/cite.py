"""Citations: exact, checkable pointers from an answer back into the original documents."""

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
_LINE = re.compile(r"[^\n]*")
_MARKUP = re.compile(r"<sup>[^<]{0,8}</sup>|</?[A-Za-z][^<>]{0,40}>|\*\*|^#{1,6}\s+", re.M)
_YEAR_CELL = re.compile(r"^(FY)?(19|20)\d\d(年|年度)?$")
_NUMBER = re.compile(r"\d")
_FIGURE_CELL = re.compile(r"^[(（]?[–—+-]?\d[\d,]*(\.\d+)?\s*[%％]?[)）]?$")


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
    """The OpenCC configuration that renders a document's Chinese in the reply script."""
    return _CONVERSIONS.get((document_script, reply_script))


def convert(text: str, config: str | None) -> str:
    return converter(config).convert(text) if config else text


def cite(n: int, document: Document, chunk: Chunk, span: tuple[int, int],
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
    """A quote as people read it: hard wraps joined, table cells split by " | ", markup
    dropped. Only layout changes; every word is the document's."""
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text) if m.end() > m.start()]
    if len(lines) > 1 and "\t" not in text:
        text = repair_wraps(text, lines).text
    text = re.sub(r"[ \u3000]*\t+[ \u3000]*", " | ", text)
    return _MARKUP.sub("", text).strip()


# ---- table headers -------------------------------------------------------------------

def _cells(line: str) -> list[str]:
    parts = line.split("\t") if "\t" in line else line.split()
    return [c.strip() for c in parts if c.strip()]


def is_row(line: str) -> bool:
    """A table line with a figure in a cell of its own (column years aside)."""
    return any(_FIGURE_CELL.match(c) and not _YEAR_CELL.match(c) for c in _cells(line)[1:])


def _years_line(line: str) -> bool:
    cells = _cells(line)
    return bool(cells) and all(_YEAR_CELL.match(c) for c in cells)


def _header_like(line: str) -> bool:
    """Column labels: tab-separated cells without figures, a row of years, or repeated
    unit cells ("人民幣千元 人民幣千元")."""
    cells = _cells(line)
    if _years_line(line):
        return True
    if len(cells) < 2 or is_row(line) or _NUMBER.search(cells[0]):
        return False
    return "\t" in line or len(set(cells)) == 1


def header_span(text: str, lines: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The column header of the row after `lines` (the table lines above it, nearest last):
    the nearest header-like line, with a line of years right above it; None if none."""
    for i in range(len(lines) - 1, -1, -1):
        line = text[lines[i][0]:lines[i][1]]
        if _header_like(line):
            top = i - 1 if i > 0 and _years_line(text[lines[i - 1][0]:lines[i - 1][1]]) else i
            return lines[top][0], lines[i][1]
        if not is_row(line) and len(_cells(line)) > 1:
            return None  # prose or another kind of line: this is not one table
    return None


def context_lines(text: str, chunk: Chunk, reach: int = 4000) -> list[tuple[int, int]]:
    """Where the chunk's repeated table header (`chunk.context`) stands in the document:
    the nearest earlier lines whose cells read the same, as (start, end) spans."""
    if not chunk.context:
        return []
    found: list[tuple[int, int]] = []
    position = chunk.char_start
    for wanted in reversed(chunk.context.split("\n")):
        target = _cells(wanted.replace(" | ", "\t"))
        floor = max(0, chunk.char_start - reach)
        while position > floor:
            start = text.rfind("\n", floor, position - 1) + 1
            end = text.find("\n", start, position)
            end = position if end < 0 else end
            position = start
            if _cells(text[start:end]) == target:
                found.append((start + len(text[start:end]) - len(text[start:end].lstrip()),
                              start + len(text[start:end].rstrip())))
                break
    return sorted(found)
