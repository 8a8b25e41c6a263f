"""Document -> Chunks: sentence- and table-aware, each an exact span of the original text."""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Literal

from index.layout import BULLET, Layout, Line, analyse, clean_title, is_table_row
from index.normalise import ends_sentence, matching_form, repair_wraps
from index.script import detect_script, is_cjk
from index.sections import section_pages, section_paths
from index.tables import Header, read_header, read_row
from index.types import Chunk, Document, RowFact, Unit, UnitKind

CHUNKER_VERSION = "36"
CAPTION_LINES = 3  # short lines right above a table that may name its period or unit


@dataclass(frozen=True)
class ChunkSettings:
    """Sizes in "units": one per Chinese character, 1.6 per Latin word or number.

    ~320 units is ~320 Chinese characters or ~200 English words: one answerable idea with
    its context, small enough that a quote stays short and that BM25 length
    normalisation does not drown a figure in a long passage.
    """

    target: int = 320
    maximum: int = 480
    minimum: int = 120  # a weak (guessed) heading only cuts a chunk this large
    overlap_max: int = 120  # the carried-over sentence must be at most this large

    def describe(self) -> dict[str, int | str]:
        return {"version": CHUNKER_VERSION, "target": self.target, "maximum": self.maximum,
                "minimum": self.minimum, "overlap_max": self.overlap_max}


@dataclass(frozen=True)
class Piece:
    """A piece a chunk is packed from: a sentence, a table row, a header line or a heading,
    with what chunking knows of it."""

    start: int
    end: int
    clean: str
    kind: UnitKind
    section: tuple[str, ...]
    strong: bool = False  # headings: from the contents or Markdown, so always cut
    row: RowFact | None = None
    header: tuple[int, int] | None = None  # a row's header lines
    opens: bool = False  # a header line above a table's first row: a new table begins
    section_page: int | None = None  # the contents' page of its section

    @property
    def size(self) -> float:
        return text_size(self.clean)


_LATIN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,%'’-]*")


def text_size(text: str) -> float:
    return sum(1 for ch in text if is_cjk(ch)) + 1.6 * len(_LATIN_WORD.findall(text))


_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "inc", "co", "ltd", "corp", "no", "vs",
                  "etc", "e.g", "i.e", "fig", "approx", "st", "jan", "feb", "mar", "apr", "jun",
                  "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "hk", "p", "pp"}
_SENTENCE_END = re.compile(
    r"[。！？；]+[”」』）)]*|[.!?]+[”\"')]*(?=\s+[A-Z0-9“\"(\u4e00-\u9fff])|\n")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans in `text`; English full stops after abbreviations do not end one."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group().startswith("."):
            word = re.search(r"([A-Za-z.]+)$", text[start:match.start()])
            if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1):
                continue
        _add_span(text, start, end, spans)
        start = end
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


def chunk_document(doc: Document, settings: ChunkSettings | None = None) -> list[Chunk]:
    """Cut `doc` into chunks whose `text` is exactly `doc.text[char_start:char_end]`."""
    settings = settings or ChunkSettings()
    layout = analyse(doc.text)
    pieces = _pieces(doc.text, layout, settings)
    packed = _pack(pieces, settings)
    line_starts = [line.start for line in layout.lines]
    seen: Counter[str] = Counter()
    return [_make_chunk(doc, layout, line_starts, ordinal, group, context, seen)
            for ordinal, (group, context) in enumerate(packed)]


# ---- pieces ------------------------------------------------------------------------

def _pieces(text: str, layout: Layout, settings: ChunkSettings) -> list[Piece]:
    sections = section_paths(text, layout)
    listed = section_pages(layout, sections)
    pieces: list[Piece] = []
    lines = layout.lines
    i = 0
    while i < len(lines):
        line = lines[i]
        section = sections[i]
        if line.kind == "heading":
            title = clean_title(text[line.start:line.end])
            pieces.append(Piece(line.start, line.end, title, "heading", section,
                                strong=line.level <= 2 or text[line.start:line.end].lstrip()
                                .startswith("#")))
            i += 1
        elif line.kind in ("table", "text"):
            j = _run_end(lines, i, line.kind)
            run = [ln for ln in lines[i:j] if ln.kind == line.kind]
            if line.kind == "table":
                pieces.extend(_table_pieces(text, run, section, _caption(text, lines, i)))
            else:
                pieces.extend(_sentence_pieces(text, layout, run, section, settings))
            i = j
        else:
            i += 1
    starts = [line.start for line in lines]
    return [replace(p, section_page=listed[bisect.bisect_right(starts, p.start) - 1])
            for p in pieces]


def _caption(text: str, lines: tuple[Line, ...], first: int) -> list[str]:
    """The short text lines right above a table, which often name its period or unit
    ("截至12月31日止年度", "（人民幣千元）")."""
    out: list[str] = []
    back = first - 1
    while back >= 0 and len(out) < CAPTION_LINES and lines[back].kind in ("blank", "text"):
        body = text[lines[back].start:lines[back].end].strip()
        if body and len(body) > 40:
            break
        if body:
            out.insert(0, body)
        back -= 1
    return out
def _run_end(lines: tuple[Line, ...], i: int, kind: str) -> int:
    """End of a run of `kind` lines; blanks and page furniture inside it do not end it."""
    j = i + 1
    while j < len(lines):
        if lines[j].kind == kind:
            j += 1
            continue
        if lines[j].kind in ("blank", "furniture"):
            k = j
            while k < len(lines) and lines[k].kind in ("blank", "furniture"):
                k += 1
            if k < len(lines) and lines[k].kind == kind:
                j = k
                continue
        break
    return j


def _paragraph_breaks(text: str, layout: Layout, run: list[Line]) -> frozenset[int]:
    """Which lines of a text run start a new paragraph (the rest continue a wrapped one)."""
    breaks = set()
    for index in range(1, len(run)):
        prev, line = run[index - 1], run[index]
        prev_body = text[prev.start:prev.end].strip()
        body = text[line.start:line.end].strip()
        gap = line.number - prev.number > 1
        if BULLET.match(body):
            breaks.add(index)
        elif gap:
            full = layout.wrapped and len(prev_body) >= 0.85 * layout.full_width
            if not full or ends_sentence(prev_body):
                breaks.add(index)
    return frozenset(breaks)


def _sentence_pieces(text: str, layout: Layout, run: list[Line], section: tuple[str, ...],
                    settings: ChunkSettings) -> list[Piece]:
    mapped = repair_wraps(text, [(ln.start, ln.end) for ln in run],
                          _paragraph_breaks(text, layout, run))
    pieces = []
    for start, end in split_sentences(mapped.text):
        for piece_start, piece_end in _split_long(mapped.text, start, end, settings.maximum):
            o_start, o_end = mapped.original_span(piece_start, piece_end)
            pieces.append(Piece(o_start, o_end, mapped.text[piece_start:piece_end], "sentence",
                                section))
    return pieces


def _split_long(text: str, start: int, end: int, maximum: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than `maximum` at commas, or hard when it has none."""
    if text_size(text[start:end]) <= maximum:
        return [(start, end)]
    pieces = []
    piece_start = start
    last_comma = None
    pos = start
    while pos < end:
        if text[pos] in "，,、：:":
            last_comma = pos + 1
        if text_size(text[piece_start:pos + 1]) > maximum:
            cut = last_comma if last_comma and last_comma > piece_start else pos
            pieces.append((piece_start, cut))
            piece_start, last_comma = cut, None
        pos += 1
    pieces.append((piece_start, end))
    return [(s, e) for s, e in pieces if text[s:e].strip()]


def _table_pieces(text: str, run: list[Line], section: tuple[str, ...],
                  caption: list[str]) -> list[Piece]:
    """A table's header lines and rows; each row read as a fact (index/tables.py) under
    the header lines above it (with the caption), a group label row heading those below."""
    pieces: list[Piece] = []
    seen_row = seen_row_ever = False
    row_group = ""
    header_lines: list[Line] = []
    header: Header = read_header(caption)
    group = ""
    for line in run:
        body = text[line.start:line.end]
        lead = len(body) - len(body.lstrip())
        stripped = body.strip()
        start, end = line.start + lead, line.start + lead + len(stripped)
        row = is_table_row(stripped) and (seen_row or not _column_labels(stripped))
        fact = read_row(stripped, start, header, group, " ".join(caption)) if row else None
        if fact is not None and "\t" in body:
            first = body.split("\t")[0].strip()
            if first and fact.label.startswith(first) and fact.label != first:
                row_group = first  # "按年齡劃分\t30歲以下\t...": heads the rows after it
                fact = replace(fact, dimension=first)
            elif not first and row_group:  # "\t30至50歲\t...": under the one above
                fact = replace(fact, label=f"{row_group} {fact.label}", dimension=row_group)
        clean = re.sub(r"\s*\t+\s*", " | ", stripped)
        if fact is None:
            if seen_row and "\t" in body and not re.search(r"\d", stripped) and not (
                    _names_columns(body)):
                group = clean_title(stripped)  # "Energy Consumption\t\t\t": heads the rows below
            else:
                if seen_row:  # a new header part-way: a new sub-table, keeping its periods
                    header_lines, seen_row = [], False
                header_lines.append(line)
                header = _merged(header, read_header(
                    caption + [text[h.start:h.end] for h in header_lines]))
            pieces.append(Piece(start, end, clean, "header", section, opens=not seen_row_ever))
            continue
        seen_row = seen_row_ever = True
        span = (header_lines[0].start, header_lines[-1].end) if header_lines else None
        pieces.append(Piece(start, end, clean, "row", section, row=fact, header=span))
    return pieces


def _merged(previous: Header, new: Header) -> Header:
    """A later header line that names no period (a repeated "人民幣千元 人民幣千元") keeps
    the periods read so far."""
    if new.periods or not previous.periods:
        return new
    return Header(previous.periods, new.unit or previous.unit, new.unit_column,
                  previous.change_column, new.notes_column or previous.notes_column,
                  new.columns or previous.columns, previous.half)


_YEAR = re.compile(r"^(FY)?(19|20)\d\d(年|年度)?$")


def _names_columns(line: str) -> bool:
    """A figure-less line labelling two or more columns ("Talent training\t\tPercentage of
    trained employees ³\tAverage training hours per employee ⁴"): the header of a sub-table
    under the rows above, not a group label heading them (its superscript note marks are
    no digits to `\\d`)."""
    return len([c for c in line.split("\t")[1:] if c.strip()]) >= 2


def _column_labels(line: str) -> bool:
    """A row of years that heads the columns: "指標\t2023\t2022", "2023 2022"."""
    cells = line.split("\t") if "\t" in line else line.split()
    years = [cell.strip() for cell in cells[1:] if cell.strip()]
    return bool(years) and all(_YEAR.match(cell) for cell in years)


# ---- packing -----------------------------------------------------------------------

def _pack(pieces: list[Piece], settings: ChunkSettings) -> list[tuple[list[Piece], str]]:
    """Group pieces into chunks; returns each chunk's pieces and its repeated table header."""
    chunks: list[tuple[list[Piece], str]] = []
    current: list[Piece] = []
    header: list[Piece] = []

    def flush(carry: bool) -> None:
        nonlocal current
        if any(u.kind != "heading" for u in current):
            context = ""
            if current[0].kind == "row" and header:
                context = "\n".join(u.clean for u in header)
            chunks.append((current, context))
            last = current[-1]
            keep = carry and last.kind == "sentence" and last.size <= settings.overlap_max
            current = [last] if keep else []

    for unit in pieces:
        size = sum(u.size for u in current)
        if unit.kind == "heading":
            # A heading after a table always closes it: the prose below is another section.
            if unit.strong or size >= settings.minimum or (
                    current and current[-1].kind in ("row", "header")):
                flush(carry=False)
            current.append(unit)
            header = []
            continue
        if unit.opens and current and current[-1].kind in ("row", "sentence"):
            flush(carry=False)
            header = []
        if unit.opens:
            header.append(unit)
        elif unit.kind == "sentence" and current and current[-1].kind in ("row", "header"):
            flush(carry=False)
            header = []
        if size + unit.size > settings.target and any(u.kind != "heading" for u in current):
            flush(carry=unit.kind == "sentence")
        current.append(unit)
    flush(carry=False)
    return chunks


def _make_chunk(doc: Document, layout: Layout, line_starts: list[int], ordinal: int,
                pieces: list[Piece], context: str, seen: Counter[str]) -> Chunk:
    start, end = pieces[0].start, max(u.end for u in pieces)
    clean = _join([u.clean for u in pieces], [u.kind for u in pieces])
    first_line = bisect.bisect_right(line_starts, start) - 1
    last_line = bisect.bisect_right(line_starts, end - 1) - 1
    section = next((u.section for u in pieces if u.kind != "heading"), pieces[0].section)
    text = doc.text[start:end]
    # The id hashes the content and how often it occurred before, not its offsets, so an
    # edit elsewhere in the document leaves it alone; the count keeps repeats apart.
    content = f"{context}\0{text}"
    seen[content] += 1
    digest = hashlib.sha1(f"{doc.doc_id}\0{seen[content]}\0{content}".encode())
    kind: Literal["text", "table"] = "table" if any(u.kind == "row" for u in pieces) else "text"
    units = tuple(_unit(doc, layout, line_starts, u) for u in pieces)
    return Chunk(
        chunk_id=digest.hexdigest()[:16], doc_id=doc.doc_id, ordinal=ordinal,
        script=detect_script(clean, default=doc.script), section=section,
        page=units[0].page, line_start=first_line + 1, line_end=last_line + 1,
        char_start=start, char_end=end, text=text, clean=clean,
        matching=matching_form(f"{context}\n{clean}"), kind=kind, context=context, units=units,
    )


def _join(parts: list[str], kinds: list[str]) -> str:
    out = ""
    for index, part in enumerate(parts):
        if index:
            tight = kinds[index] == "sentence" == kinds[index - 1] and (
                is_cjk(out[-1]) or not out[-1].isascii() or is_cjk(part[0]))
            out += "" if tight else ("\n" if kinds[index] != "sentence" or
                                     kinds[index - 1] != "sentence" else " ")
        out += part
    return out


def _unit(doc: Document, layout: Layout, line_starts: list[int], piece: Piece) -> Unit:
    page = _page_at(doc, layout, line_starts, piece.start)
    end = _page_at(doc, layout, line_starts, piece.end - 1)
    return Unit(kind=piece.kind, start=piece.start, end=piece.end, page=page,
                header=piece.header, row=piece.row,
                page_end=end if end is not None and end != page else None,
                section=piece.section, section_page=piece.section_page)


def _page_at(doc: Document, layout: Layout, line_starts: list[int], offset: int) -> int | None:
    """The page `offset` is on: from the PDF's pages, else from the text's page markers."""
    if doc.page_starts:
        return bisect.bisect_right(doc.page_starts, offset)
    return layout.lines[bisect.bisect_right(line_starts, offset) - 1].page
