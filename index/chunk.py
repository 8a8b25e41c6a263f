"""Document -> Chunks: sentence- and table-aware, each an exact span of the original text."""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from index.layout import BULLET, Layout, Line, analyse, clean_title, is_table_row
from index.normalise import ends_sentence, matching_form, repair_wraps
from index.script import detect_script, is_cjk
from index.sections import section_paths
from index.types import Chunk, Document

CHUNKER_VERSION = "2"  # bump whenever chunks or their ids change, so old indexes are rebuilt


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
class Unit:
    """A piece a chunk is packed from: a sentence, a table row or a heading."""

    start: int
    end: int
    clean: str
    kind: str  # "sentence" | "row" | "header" | "heading"
    section: tuple[str, ...]
    strong: bool = False  # headings: from the contents or Markdown, so always cut

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
    units = _units(doc.text, layout, settings)
    packed = _pack(units, settings)
    line_starts = [line.start for line in layout.lines]
    seen: Counter[str] = Counter()
    return [_make_chunk(doc, layout, line_starts, ordinal, group, context, seen)
            for ordinal, (group, context) in enumerate(packed)]


# ---- units -------------------------------------------------------------------------

def _units(text: str, layout: Layout, settings: ChunkSettings) -> list[Unit]:
    sections = section_paths(text, layout)
    units: list[Unit] = []
    lines = layout.lines
    i = 0
    while i < len(lines):
        line = lines[i]
        section = sections[i]
        if line.kind == "heading":
            title = clean_title(text[line.start:line.end])
            units.append(Unit(line.start, line.end, title, "heading", section,
                              strong=line.level <= 2 or text[line.start:line.end].lstrip()
                              .startswith("#")))
            i += 1
        elif line.kind in ("table", "text"):
            j = _run_end(lines, i, line.kind)
            run = [ln for ln in lines[i:j] if ln.kind == line.kind]
            if line.kind == "table":
                units.extend(_table_units(text, run, section))
            else:
                units.extend(_sentence_units(text, layout, run, section, settings))
            i = j
        else:
            i += 1
    return units


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


def _sentence_units(text: str, layout: Layout, run: list[Line], section: tuple[str, ...],
                    settings: ChunkSettings) -> list[Unit]:
    mapped = repair_wraps(text, [(ln.start, ln.end) for ln in run],
                          _paragraph_breaks(text, layout, run))
    units = []
    for start, end in split_sentences(mapped.text):
        for piece_start, piece_end in _split_long(mapped.text, start, end, settings.maximum):
            o_start, o_end = mapped.original_span(piece_start, piece_end)
            units.append(Unit(o_start, o_end, mapped.text[piece_start:piece_end], "sentence",
                              section))
    return units


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


def _table_units(text: str, run: list[Line], section: tuple[str, ...]) -> list[Unit]:
    units = []
    seen_row = False
    for line in run:
        body = text[line.start:line.end]
        lead = len(body) - len(body.lstrip())
        stripped = body.strip()
        row = is_table_row(stripped) and (seen_row or not _column_labels(stripped))
        seen_row = seen_row or row
        clean = re.sub(r"\s*\t+\s*", " | ", stripped)
        units.append(Unit(line.start + lead, line.start + lead + len(stripped), clean,
                          "row" if seen_row else "header", section))
    return units


_YEAR = re.compile(r"^(FY)?(19|20)\d\d(年|年度)?$")


def _column_labels(line: str) -> bool:
    """A row of years that heads the columns: "指標\t2023\t2022", "2023 2022"."""
    cells = line.split("\t") if "\t" in line else line.split()
    years = [cell.strip() for cell in cells[1:] if cell.strip()]
    return bool(years) and all(_YEAR.match(cell) for cell in years)


# ---- packing -----------------------------------------------------------------------

def _pack(units: list[Unit], settings: ChunkSettings) -> list[tuple[list[Unit], str]]:
    """Group units into chunks; returns each chunk's units and its repeated table header."""
    chunks: list[tuple[list[Unit], str]] = []
    current: list[Unit] = []
    header: list[Unit] = []

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

    for unit in units:
        size = sum(u.size for u in current)
        if unit.kind == "heading":
            # A heading after a table always closes it: the prose below is another section.
            if unit.strong or size >= settings.minimum or (
                    current and current[-1].kind in ("row", "header")):
                flush(carry=False)
            current.append(unit)
            header = []
            continue
        if unit.kind == "header" and current and current[-1].kind in ("row", "sentence"):
            flush(carry=False)
            header = []
        if unit.kind == "header":
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
                units: list[Unit], context: str, seen: Counter[str]) -> Chunk:
    start, end = units[0].start, max(u.end for u in units)
    clean = _join([u.clean for u in units], [u.kind for u in units])
    first_line = bisect.bisect_right(line_starts, start) - 1
    last_line = bisect.bisect_right(line_starts, end - 1) - 1
    page = _page(doc, layout, first_line, last_line, start)
    section = next((u.section for u in units if u.kind != "heading"), units[0].section)
    text = doc.text[start:end]
    # The id hashes the content and how often it occurred before, not its offsets, so an
    # edit elsewhere in the document leaves it alone; the count keeps repeats apart.
    content = f"{context}\0{text}"
    seen[content] += 1
    digest = hashlib.sha1(f"{doc.doc_id}\0{seen[content]}\0{content}".encode())
    kind: Literal["text", "table"] = "table" if any(u.kind == "row" for u in units) else "text"
    return Chunk(
        chunk_id=digest.hexdigest()[:16], doc_id=doc.doc_id, ordinal=ordinal,
        script=detect_script(clean, default=doc.script), section=section, page=page,
        line_start=first_line + 1, line_end=last_line + 1, char_start=start, char_end=end,
        text=text, clean=clean, matching=matching_form(f"{context}\n{clean}"), kind=kind,
        context=context, sentences=tuple((u.start, u.end) for u in units),
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


def _page(doc: Document, layout: Layout, first: int, last: int, start: int) -> int | None:
    if doc.page_starts:
        return bisect.bisect_right(doc.page_starts, start)
    for line in layout.lines[first:last + 1]:
        if line.page is not None:
            return line.page
    return None
