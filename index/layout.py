"""Reading a document's layout line by line: furniture, contents, headings, tables, pages."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from index.normalise import ends_sentence
from index.script import is_cjk

LineKind = Literal["blank", "furniture", "toc", "heading", "table", "text"]

_PAGE_MARKER = re.compile(r"^[–—-]\s*(\d{1,4})\s*[–—-]$")
_BARE_NUMBER = re.compile(r"^\d{1,3}$")
_TOC_DASH = re.compile(r"^-\s*(\d{1,3})\s+(.+)$")
_TOC_TAB = re.compile(r"^(.+?)\t+(\d{1,3})$")
_SECTION_NUMBER = re.compile(r"^\d{1,2}(\.\d{1,2})+\s*")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+)$")
_NUMERIC_CELL = re.compile(r"^[(（]?[–—+-]?\d[\d,]*(\.\d+)?%?[)）]?$")
BULLET = re.compile(r"^(•|·|-\s|\*\s|◊|(\(|（)[0-9a-zA-Z一二三四五六七八九十ivx]{1,4}(\)|）)"
                    r"|\d{1,2}[.、](?![\d.])\s?)")
_MARKUP = re.compile(r"\*\*|<[^>]{1,40}>|^#+\s*")
PAGE_SPAN_LINES = 60  # a page marker only vouches for this many lines above it


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    start: int
    end: int  # exclusive, without the newline
    kind: LineKind
    level: int = 0  # heading level, 1 = chapter
    page: int | None = None


@dataclass(frozen=True)
class Layout:
    lines: tuple[Line, ...]
    wrapped: bool  # hard-wrapped paragraphs (PDF extraction at a fixed width)
    full_width: int  # typical length of a full wrapped line

    def title(self, text: str, line: Line) -> str:
        return clean_title(text[line.start:line.end])


def clean_title(raw: str) -> str:
    """A heading as people write it: markup, footnote marks and stray symbols removed."""
    title = re.sub(r"<sup>[^<]*</sup>", "", raw)
    title = _MARKUP.sub("", title).strip().lstrip("◊").strip()
    return re.sub(r"\s+", " ", title)


def _split_lines(text: str) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for raw in text.split("\n"):
        spans.append((pos, pos + len(raw)))
        pos += len(raw) + 1
    return spans


def is_table_row(line: str) -> bool:
    """A flattened table row: tab-separated cells, or a label followed by 2+ figures."""
    stripped = line.strip()
    if "\t" in stripped and len([c for c in stripped.split("\t") if c.strip()]) >= 2:
        return True
    if len(stripped) > 160 or "。" in stripped:
        return False
    cells = stripped.split()
    numeric = sum(1 for cell in cells if _NUMERIC_CELL.match(cell))
    return numeric >= 2 and numeric >= len(cells) / 3


def _heading_like(body: str) -> bool:
    if not 2 <= len(body) <= 40 or ends_sentence(body) or body[-1] in "，,、：:":
        return False
    if BULLET.match(body) or body.startswith(("(", "（", "<", "http", "[", "o ", "—", "–")) \
            or "@" in body:
        return False
    visible = [ch for ch in body if not ch.isspace()]
    digits = sum(1 for ch in visible if ch.isdigit())
    if digits / len(visible) > 0.3:
        return False
    han = sum(1 for ch in visible if is_cjk(ch))
    if han:
        return han >= 2
    words = body.split()
    return len(words) <= 10 and body[0].isupper()


def _toc_entries(text: str, spans: list[tuple[int, int]]) -> tuple[set[int], dict[str, int]]:
    """Lines of the table of contents, and each listed title with its heading level."""
    toc_lines: set[int] = set()
    titles: dict[str, int] = {}
    grouped = False
    first_in_group = False
    for index, (start, end) in enumerate(spans[:200]):
        body = text[start:end].strip()
        dash = _TOC_DASH.match(body)
        tab = _TOC_TAB.match(body)
        if dash or tab:
            title = clean_title(dash.group(2) if dash else tab.group(1))  # type: ignore[union-attr]
            bold = "**" in body
            level = 1 if (bold or (grouped and first_in_group)) else 2 if grouped else 1
            titles.setdefault(_key(title), level)
            toc_lines.add(index)
            first_in_group = False
        elif body and toc_lines and index - max(toc_lines) < 4 and len(body) <= 12:
            grouped, first_in_group = True, True  # a chapter marker such as "01" or "專題"
            toc_lines.add(index)
    return (toc_lines, titles) if len(toc_lines) >= 5 else (set(), {})


def _key(title: str) -> str:
    """A title as compared with the contents: section numbers such as "1.5" dropped."""
    return re.sub(r"\s+", "", _SECTION_NUMBER.sub("", title)).lower()


def _running_headers(text: str, spans: list[tuple[int, int]]) -> set[str]:
    counts = Counter(text[s:e].strip() for s, e in spans)
    return {
        body for body, n in counts.items()
        if n >= 4 and body and len(body) <= 80
        and ("\\" in body or re.fullmatch(r"(\S[\s\u3000]+){1,4}\S", body))
    }


def analyse(text: str) -> Layout:
    """Classify every line of `text` and attach heading levels and page numbers."""
    spans = _split_lines(text)
    toc_lines, toc_titles = _toc_entries(text, spans)
    headers = _running_headers(text, spans)
    bodies = [text[s:e].strip() for s, e in spans]
    kinds: list[LineKind] = []
    levels: list[int] = []
    markers: dict[int, int] = {}
    for index, body in enumerate(bodies):
        kind, level = _classify(index, body, bodies, toc_lines, toc_titles, headers)
        if kind == "furniture" and (m := _PAGE_MARKER.match(body)):
            markers[index] = int(m.group(1))
        kinds.append(kind)
        levels.append(level)
    _demote_table_headers(kinds, levels, bodies)
    lengths = sorted(len(b) for b, k in zip(bodies, kinds, strict=True) if k == "text")
    full = lengths[int(len(lengths) * 0.75)] if lengths else 0
    pages = _pages(len(spans), markers)
    lines = tuple(
        Line(i + 1, s, e, kinds[i], levels[i], pages[i]) for i, (s, e) in enumerate(spans)
    )
    return Layout(lines=lines, wrapped=0 < full <= 70, full_width=full)


def _classify(index: int, body: str, bodies: list[str], toc_lines: set[int],
              toc_titles: dict[str, int], headers: set[str]) -> tuple[LineKind, int]:
    if not body:
        return "blank", 0
    if index in toc_lines:
        return "toc", 0
    if _PAGE_MARKER.match(body) or _BARE_NUMBER.match(body) or body in headers:
        return "furniture", 0
    if md := _MD_HEADING.match(body):
        return "heading", len(md.group(1))
    if is_table_row(body):
        return "table", 0
    standalone = (index == 0 or not bodies[index - 1]) and (
        index + 1 >= len(bodies) or not bodies[index + 1])
    if standalone and _heading_like(clean_title(body)):
        level = toc_titles.get(_key(clean_title(body)))
        if not level and _SECTION_NUMBER.match(body):
            level = min(body.split()[0].count("."), 2) + 1
        return "heading", level if level else 3
    return "text", 0


def _demote_table_headers(kinds: list[LineKind], levels: list[int], bodies: list[str]) -> None:
    """Short lines just above a table are its column headers, not section headings."""
    for index, kind in enumerate(kinds):
        if kind != "table" or (index > 0 and kinds[index - 1] == "table"):
            continue
        seen = 0
        back = index - 1
        while back >= 0 and seen < 10 and kinds[back] in ("blank", "heading", "text"):
            if kinds[back] != "blank":
                if len(bodies[back]) > 40 or ends_sentence(bodies[back]):
                    break
                if kinds[back] == "heading" and (levels[back] != 3 or _after_heading(back, kinds)
                                                 or _MD_HEADING.match(bodies[back])):
                    break  # a real section title, not a column label
                kinds[back] = "table"
                seen += 1
            back -= 1


def _after_heading(index: int, kinds: list[LineKind]) -> bool:
    back = index - 1
    while back >= 0 and kinds[back] == "blank":
        back -= 1
    return back >= 0 and kinds[back] == "heading"


def _pages(count: int, markers: dict[int, int]) -> list[int | None]:
    pages: list[int | None] = [None] * count
    previous = -1
    for index in sorted(markers):
        for line in range(max(previous + 1, index - PAGE_SPAN_LINES), index):
            pages[line] = markers[index]
        previous = index
    return pages
