"""Citations: exact, checkable pointers from an answer back into the original documents."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from index.display import display
from index.script import converter
from index.types import Chunk, Document, Unit

# Plain OpenCC character/phrase conversion, not the regional variants (s2twp, s2hk):
# those also swap vocabulary, which would put words in a quote that the filing never used.
_CONVERSIONS = {("zh-Hant", "zh-Hans"): "t2s", ("zh-Hans", "zh-Hant"): "s2t"}
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
    # What people read (index/display.py): the quote with wraps joined and markup rendered,
    # in the document's script and in the reply script; the section path in the reply
    # script; the title in the reader's language.
    display: str = ""
    display_converted: str | None = None
    section_converted: str | None = None
    title_display: str = ""
    page_end: int | None = None  # the page the quote ends on, when that is another
    section_page: int | None = None  # the page the contents give for its section


def conversion(document_script: str, reply_script: str) -> str | None:
    """The OpenCC configuration that renders a passage's Chinese in the reply script."""
    return _CONVERSIONS.get((document_script, reply_script))


def convert(text: str, config: str | None) -> str:
    return converter(config).convert(text) if config else text


def cite(n: int, document: Document, chunk: Chunk, span: Span, config: str | None = None,
         reader: str = "", table: bool = False, unit: Unit | None = None) -> Citation:
    """A citation of `document.text[span]`, found in `chunk` (in `unit`, whose section and
    pages it then names), converted with `config`, its title in the language of `reader`
    (the asker's script)."""
    start, end = span
    if not 0 <= start < end <= len(document.text):
        raise ValueError(f"span {start}:{end} is outside {document.doc_id!r} "
                         f"({len(document.text)} characters)")
    quote = document.text[start:end]
    converted = convert(quote, config)
    shown = display(quote, table=table)
    path = " > ".join(unit.section) if unit and unit.section else chunk.section_path
    section = convert(path, config)
    title = document.meta.title_en or document.meta.title if reader == "en" else convert(
        document.meta.title, config)
    page = unit.page if unit and unit.page is not None else page_at(document, chunk, start)
    return Citation(
        n=n, doc_id=document.doc_id, title=document.meta.title, section=path,
        page=page, line_start=line_at(document.text, start),
        line_end=line_at(document.text, end - 1), char_start=start, char_end=end,
        quote=quote, quote_converted=converted if converted != quote else None,
        chunk_id=chunk.chunk_id, display=shown,
        display_converted=convert(shown, config) if converted != quote else None,
        section_converted=section if section != path else None,
        title_display=title, page_end=unit.page_end if unit else None,
        section_page=unit.section_page if unit else None)


def line_at(text: str, offset: int) -> int:
    """The 1-based line of `text` that holds character `offset`."""
    return text.count("\n", 0, offset) + 1


def page_at(document: Document, chunk: Chunk, offset: int) -> int | None:
    if document.page_starts:
        return max(1, bisect.bisect_right(document.page_starts, offset))
    return chunk.page
