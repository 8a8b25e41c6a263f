"""Reading a document's layout line by line: furniture, contents, headings, tables, pages."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from index.normalise import DOT_LEADER, ends_sentence
from index.script import converter, is_cjk

LineKind = Literal["blank", "furniture", "toc", "heading", "table", "text"]

_PAGE_MARKER = re.compile(r"^[–—-]\s*(\d{1,4})\s*[–—-]$")
_BARE_NUMBER = re.compile(r"^\d{1,3}$")
_TOC_DASH = re.compile(r"^-\s*(\d{1,3})\s+(.+)$")
_TOC_TAB = re.compile(r"^(.+?)\t+(\d{1,3})$")
_SECTION_NUMBER = re.compile(r"^\d{1,2}(\.\d{1,2})+\s*")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\s+\S")
_DOTTED_NOTE = re.compile(r"^(\d{1,2})\.\s*(\S.*)$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+)$")
_NUMERIC_CELL = re.compile(r"^[(（]?[–—+-]?\d[\d,]*(\.\d+)?%?[)）]?$")
BULLET = re.compile(r"^(•|·|-\s|\*\s|◊|(\(|（)[0-9a-zA-Z一二三四五六七八九十ivx]{1,4}(\)|）)"
                    r"|\d{1,2}[.、](?![\d.])\s?)")
_MARKUP = re.compile(r"\*\*|<[^>]{1,40}>|^#+\s*")
GUESSED = 3  # the level of a heading found by its shape alone
# Page-opening lines that open no chapter: a numbered note ("7 所得稅抵免") or a table's
# column labels ("人民幣千元 人民幣千元").
_NOT_CHAPTER = re.compile(r"^\d|人民幣|人民币|千元|百萬|百万|RMB|HK\$|%")
PAGE_SPAN_LINES = 60  # a page marker only vouches for this many lines above it
_PAGE_START = re.compile(r"^ (?! )\S")  # a page's first line, as PDF extraction writes it


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    start: int
    end: int  # exclusive, without the newline
    kind: LineKind
    level: int = 0  # heading level, 1 = chapter
    page: int | None = None
    toc_page: int | None = None  # for a heading the contents list: the page they give


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
    title = _MARKUP.sub("", title).strip().lstrip("◊▶►■□●◆◇★☆▪").strip()
    # a title framed by dashes as an ornament: "— ESG 及戰略委員會的主要職責 —"
    title = re.sub(r"^[—–]+\s*(.+?)\s*[—–]+$", r"\1", title)
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
    stripped = DOT_LEADER.sub(" ", line).strip()
    if "\t" in stripped and len([c for c in stripped.split("\t") if c.strip()]) >= 2:
        return True
    if len(stripped) > 160 or "。" in stripped:
        return False
    cells = stripped.split()
    numeric = sum(1 for cell in cells if _NUMERIC_CELL.match(cell))
    return numeric >= 2 and numeric >= len(cells) / 3


def _heading_like(body: str) -> bool:
    # 40 characters hold a long Chinese title; an English one runs to ten words
    if not 2 <= len(body) <= (40 if any(is_cjk(ch) for ch in body) else 90) \
            or ends_sentence(body) or body[-1] in "，,、：:":
        return False
    # a definition ("「董事」 指 本公司董事") or a row that lost its figures' line
    if re.search(r"\s指\s|[–—-]\s?\(?[\d,]+\)?$", body):
        return False
    if _FIGURE_WITH_UNIT.search(body):
        return False  # a key figure called out ("員工總體流失人數 **445**人"), not a title
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


_FIGURE_WITH_UNIT = re.compile(
    r"\d[\d,]*(?:\.\d+)?\**\s*(?:%|％|人次|人|件|個|个|次|小時|小时|萬元|万元|百萬|百万|億|亿|元"
    r"|噸|吨|千瓦時|千瓦时|兆瓦時|兆瓦时|tonnes?\b|MWh\b|kWh\b|hours?\b|employees\b|people\b)",
    re.I)

Contents = dict[str, tuple[int, int]]  # title key -> (heading level, page)


def _toc_entries(text: str, spans: list[tuple[int, int]]) -> tuple[set[int], Contents]:
    """Lines of the table of contents, and each listed title with its level and page.

    Entries are "- 24 Title" or "Title<TAB>24". A short line between them opens a group:
    a bare label ("01", "專題") makes the group's first entry its chapter (level 1) and the
    rest its sections; a label with a title ("## 01 綠色運營") is the chapter itself, and
    its entries are all sections. A "目錄 / CONTENTS" title belongs to the contents too.
    """
    toc_lines: set[int] = set()
    titles: Contents = {}
    grouped = False
    first_in_group = False
    chapter: str | None = None  # a titled group label waiting for its first entry's page
    flat: list[tuple[str, int, int]] = []  # entries outside any group: (key, page, block)
    block = 0
    for index, (start, end) in enumerate(spans[:200]):
        body = text[start:end].strip()
        dash = _TOC_DASH.match(body)
        tab = _TOC_TAB.match(body)
        if not body:
            block += 1
        if dash or tab:
            title = clean_title(dash.group(2) if dash else tab.group(1))  # type: ignore[union-attr]
            page = int(dash.group(1) if dash else tab.group(2))  # type: ignore[union-attr]
            if chapter is not None:
                titles.setdefault(_key(chapter), (1, page))
                chapter = None
            bold = "**" in body
            level = 1 if (bold or (grouped and first_in_group)) else 2 if grouped else 1
            if _LABEL.match(_key(title)):
                level = 1  # back matter (an appendix, an index) is a chapter of its own
            titles.setdefault(_key(title), (level, page))
            if not grouped and not bold:
                flat.append((_key(title), page, block))
            toc_lines.add(index)
            first_in_group = False
        elif body and _CONTENTS_TITLE.search(body) and len(body) <= 30:
            toc_lines.add(index)
        elif body and toc_lines and index - max(toc_lines) < 4 and len(body) <= 12 \
                and _next_is_entry(text, spans, index):
            grouped = True  # a chapter marker such as "01", "專題" or "## 01 綠色運營"
            label = re.sub(r"^#+\s*|^\d{1,2}\s*", "", clean_title(body))
            label = re.sub(r"^\d{1,2}\s*", "", label)
            titled = bool(label) and not re.fullmatch(r"專題|专题|topic", label, re.I)
            chapter = label if titled else None
            first_in_group = not titled
            toc_lines.add(index)
    _nest_flat_entries(flat, titles)
    return (toc_lines, titles) if len(toc_lines) >= 5 else (set(), {})


def _next_is_entry(text: str, spans: list[tuple[int, int]], index: int) -> bool:
    """A group label is followed by its entries (the body's first heading is not)."""
    for start, end in spans[index + 1:index + 4]:
        body = text[start:end].strip()
        if body:
            return bool(_TOC_DASH.match(body) or _TOC_TAB.match(body))
    return False


def _nest_flat_entries(flat: list[tuple[str, int, int]], titles: Contents) -> None:
    """In a run of contents entries without group labels, an entry that shares its page
    with the next one is a chapter whose first section starts on its first page
    ("關於智譜 03 / 公司概況 03 / 企業文化 03"); the entries after it in the same block are its
    sections. Entries on pages of their own are chapters ("關於本報告 01")."""
    opened = -1  # the block whose chapter is open
    for i, (key, page, block) in enumerate(flat):
        if titles.get(key, (0, 0))[0] != 1:
            continue
        following = flat[i + 1] if i + 1 < len(flat) else None
        if block == opened:
            titles[key] = (2, page)
        elif following is not None and following[2] == block and following[1] == page:
            opened = block


_CONTENTS_TITLE = re.compile(r"目錄|目录|\bcontents\b", re.I)


def _key(title: str) -> str:
    """A title as compared with the contents: section numbers ("1.5"), chapter labels
    ("專題："), spaces and case dropped, in Simplified (a body heading may be printed in
    the other script: 「人力关键绩效」)."""
    title = _SECTION_NUMBER.sub("", title)
    title = re.sub(r"^(?:專題|专题|topic)\s*[:：]\s*", "", title, flags=re.I)
    # width-folded too: 「索引 2：」 in the body is 「索引 2:」 in the contents
    return converter("t2s").convert(unicodedata.normalize("NFKC", re.sub(r"\s+", "", title))
                                    ).lower()


# The chapters a filing's genre prescribes, standing in for the contents a document does
# not print: HKEX results announcements, annual reports and listing documents open their
# chapters with these titles (compared by _key, so either script; English as the English
# editions print them).
GENRE_CHAPTERS = frozenset(_key(t) for t in """
主要摘要 財務摘要 摘要 主席報告 主席報告書 主席致辭 業務回顧及展望 業務回顧 業務展望
管理層討論與分析 管理層討論及分析 綜合收益表 綜合損益表 綜合全面收益表 綜合損益及其他全面收益表
綜合財務狀況表 綜合權益變動表 綜合現金流量表 財務報表附註 綜合財務報表附註 其他資料 企業管治
企業管治報告 董事會報告 董事及高級管理層 釋義 概要 風險因素 行業概覽 監管概覽
歷史、重組及公司架構 歷史及發展 業務 合約安排 與控股股東的關係 關連交易 主要股東 股本 財務資料
未來計劃及所得款項用途 基石投資者 包銷 全球發售的架構 會計師報告 未經審核備考財務資料
法定及一般資料 末期股息 股東週年大會 暫停辦理股份過戶登記手續 購買、出售或贖回本公司的上市證券
審核委員會 刊發全年業績及年度報告
""".split()) | frozenset(_key(t) for t in (
    "Financial Highlights", "Business Review and Outlook", "Business Review",
    "Management Discussion and Analysis", "Management's Discussion and Analysis",
    "Consolidated Statement of Profit or Loss", "Consolidated Income Statement",
    "Consolidated Statement of Comprehensive Income",
    "Consolidated Statement of Financial Position", "Consolidated Statement of Cash Flows",
    "Notes to the Financial Statements", "Notes to the Consolidated Financial Statements",
    "Other Information", "Corporate Governance", "Corporate Governance Report",
    "Report of the Directors", "Directors and Senior Management", "Definitions", "Summary",
    "Risk Factors", "Industry Overview", "Regulatory Overview", "Business",
    "Financial Information", "Future Plans and Use of Proceeds"))


def listed(contents: Contents, key: str) -> tuple[int, int] | None:
    """The contents entry of a body heading: the same title, or one that holds the other
    (the contents and the body word titles a little differently)."""
    if key in contents:
        return contents[key]
    # one holds the other, and is most of it ("專題：日日生新…" and "日日生新…"), not a
    # phrase of it ("Climate Change" in "Responding to Climate Change")
    close = [k for k in contents if len(key) >= 4 and len(k) >= 4 and (key in k or k in key)
             and min(len(k), len(key)) >= 0.6 * max(len(k), len(key))]
    if close:
        return contents[max(close, key=len)]
    # an appendix or index is named by its label, whatever its title says after it
    # (「附錄二：指標索引」 listed, 「附錄二：《香港聯合交易所ESG指引》 指標索引」 printed)
    label = _LABEL.match(key)
    same = [k for k in contents if label and _LABEL.match(k)
            and _LABEL.match(k).group(0) == label.group(0)]  # type: ignore[union-attr]
    return contents[same[0]] if len(same) == 1 else None


_LABEL = re.compile(r"^(?:附录|appendix|annex|索引|index)[一二三四五六七八九十\divx]+[:：]", re.I)


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
    toc_pages: list[int | None] = []
    markers: dict[int, int] = {}
    starts = {i for i, (a, b) in enumerate(spans) if _PAGE_START.match(text[a:b])}
    opening: list[int] = []  # guessed headings that open a page
    for index, body in enumerate(bodies):
        kind, level, toc_page = _classify(index, body, bodies, toc_lines, headers,
                                          index in starts)
        if kind == "furniture" and (m := _PAGE_MARKER.match(body)):
            markers[index] = int(m.group(1))
        if kind == "heading" and level == GUESSED and index in starts and not toc_lines \
                and not _NOT_CHAPTER.search(body):
            opening.append(index)
        kinds.append(kind)
        levels.append(level)
        toc_pages.append(toc_page)
    if not toc_lines:
        _genre_chapters(bodies, kinds, levels, starts, opening)
    _align_contents(bodies, kinds, levels, toc_pages, toc_lines, toc_titles)
    _demote_table_headers(kinds, levels, bodies)
    _demote_lists(kinds, levels, bodies)
    lengths = sorted(len(b) for b, k in zip(bodies, kinds, strict=True) if k == "text")
    full = lengths[int(len(lengths) * 0.75)] if lengths else 0
    pages = _pages(len(spans), markers, sorted(starts))
    lines = tuple(Line(i + 1, s, e, kinds[i], levels[i], pages[i],
                       toc_pages[i] if kinds[i] == "heading" else None)
                  for i, (s, e) in enumerate(spans))
    return Layout(lines=lines, wrapped=0 < full <= 70, full_width=full)


def _genre_chapters(bodies: list[str], kinds: list[LineKind], levels: list[int],
                    starts: set[int], opening: list[int]) -> None:
    """Chapters of a document without contents: the lines that print a title its genre
    prescribes (GENRE_CHAPTERS) and stand apart (after a blank line or opening a page,
    however the line after them runs on: " 管理層討論與分析" is followed by its text).
    Where it prints none of them, a heading that opens a page opens a chapter, as filings
    start chapters on a new page; where it does, those are its chapters, and a page-opening
    heading (" 智能汽車") is a section like any other."""
    chapters = [i for i, body in enumerate(bodies) if kinds[i] in ("heading", "text")
                and (i == 0 or not bodies[i - 1] or i in starts)
                and _key(clean_title(body)) in GENRE_CHAPTERS]
    if len(chapters) < 2:
        for i in opening:
            levels[i] = 1
        return
    for i in chapters:
        kinds[i], levels[i] = "heading", 1
    # Below such chapters a numbered heading is a section ("5 按性質劃分的開支", the notes
    # to the financial statements) and its decimals go deeper ("2.1 編製基準").
    notes: list[tuple[int, int]] = []  # (line, number) of the notes' numbered headings
    for i, body in enumerate(bodies):
        number = _NUMBERED.match(body.strip())
        if kinds[i] == "heading" and number and i not in chapters:
            levels[i] = min(2 + number.group(1).count("."), 4)
            if "." not in number.group(1):
                notes.append((i, int(number.group(1))))
    # A note numbered like a list item ("1. 一般資料", the others "2 編製基準…") is a note
    # when the next note carries the next number; a list item is no heading-shaped line
    # followed by note N+1.
    for i, body in enumerate(bodies):
        dotted = _DOTTED_NOTE.match(body.strip())
        if not dotted or kinds[i] != "text" or not _heading_like(dotted.group(2)) \
                or not (i == 0 or not bodies[i - 1]):
            continue
        following = next((n for line, n in notes if line > i), None)
        if following == int(dotted.group(1)) + 1:
            kinds[i], levels[i] = "heading", 2


def _classify(index: int, body: str, bodies: list[str], toc_lines: set[int],
              headers: set[str], page_start: bool) -> tuple[LineKind, int, int | None]:
    """A line's kind and heading level, as its shape says (the contents come later, in
    _align_contents); a page's first line stands apart from the one before it, as after a
    blank line."""
    if not body:
        return "blank", 0, None
    if index in toc_lines:
        return "toc", 0, None
    if _PAGE_MARKER.match(body) or _BARE_NUMBER.match(body) or body in headers:
        return "furniture", 0, None
    if md := _MD_HEADING.match(body):
        return "heading", len(md.group(1)), None
    if is_table_row(body):
        return "table", 0, None
    standalone = (index == 0 or not bodies[index - 1] or page_start) and (
        index + 1 >= len(bodies) or not bodies[index + 1])
    if standalone and _heading_like(clean_title(body)):
        if _SECTION_NUMBER.match(body):
            return "heading", min(body.split()[0].count("."), 2) + 1, None
        return "heading", 3, None
    return "text", 0, None


def _align_contents(bodies: list[str], kinds: list[LineKind], levels: list[int],
                    toc_pages: list[int | None], toc_lines: set[int], contents: Contents
                    ) -> None:
    """Headings take the level and page of the contents entry they print, in page order:
    from the last entry back, each takes the last line with its title before the line the
    next entry took. So a chapter's overview, which names its sections first, and an early
    mention of a chapter do not open them (the contents may also print their entries in two
    columns, out of order: their pages are in order). A heading no entry takes keeps its
    own level (its Markdown marks, its numbering), below the listed ones."""
    entries = sorted(contents.items(), key=lambda item: item[1][1])
    candidates = [i for i, body in enumerate(bodies) if i not in toc_lines
                  and kinds[i] in ("heading", "text") and 0 < len(body) <= 90]
    keys = {i: _key(clean_title(bodies[i])) for i in candidates}
    # A line printing the entry's own title takes it; only an entry no such line prints is
    # then looked for as a title holding it or held by it, between the lines its
    # neighbours took ("可持續供應鏈", a sub-heading, must not take 「2.4 強化可持續供應鏈」).
    taken: dict[int, int] = {}  # entry's index in `entries` -> line
    for exact in (True, False):
        for n in range(len(entries) - 1, -1, -1):
            if n in taken:
                continue
            key, (level, page) = entries[n]
            limit = next((taken[m] for m in range(n + 1, len(entries)) if m in taken),
                         len(bodies))
            floor = next((taken[m] for m in range(n - 1, -1, -1) if m in taken), -1)
            found = next((i for i in reversed(candidates) if floor < i < limit and keys[i]
                          and (keys[i] == key if exact
                               else listed({key: (level, page)}, keys[i]))), None)
            if found is not None:
                taken[n] = found
    for n, found in taken.items():
        _, (level, page) = entries[n]
        kinds[found], levels[found], toc_pages[found] = "heading", level, page


def _demote_table_headers(kinds: list[LineKind], levels: list[int], bodies: list[str]) -> None:
    """Short lines just above a table are its column headers, not section headings."""
    for index, kind in enumerate(kinds):
        if kind != "table" or (index > 0 and kinds[index - 1] == "table"):
            continue
        seen = 0
        back = index - 1
        while back >= 0 and seen < 10 and kinds[back] in ("blank", "heading", "text"):
            if kinds[back] != "blank":
                # a sentence, or the lead-in that introduces the table (「下表載列…明細：」),
                # is prose: it and the lines above it are no column labels
                if len(bodies[back]) > 40 or ends_sentence(bodies[back]) or bodies[
                        back].endswith(("：", ":")):
                    break
                if kinds[back] == "heading" and (levels[back] != 3 or _after_heading(back, kinds)
                                                 or _MD_HEADING.match(bodies[back])):
                    break  # a real section title, not a column label
                kinds[back] = "table"
                seen += 1
            back -= 1


def _demote_lists(kinds: list[LineKind], levels: list[int], bodies: list[str]) -> None:
    """Three or more shape-guessed headings in a row, with nothing but blank lines between
    them, are a list printed one item per line (a committee's duties, awards, photo
    captions, KPI call-outs), not sections: a section has text of its own. The heading
    above such a list, when it is shaped like the items, goes with them: a lost heading
    leaves its text in the section before, where a list item taken for one would misplace
    everything after it."""
    run: list[int] = []
    for index in [*range(len(kinds)), len(kinds)]:
        if index < len(kinds) and kinds[index] == "blank":
            continue
        guessed = index < len(kinds) and kinds[index] == "heading" and levels[index] == GUESSED \
            and not _MD_HEADING.match(bodies[index])
        if guessed:
            run.append(index)
            continue
        if len(run) >= 3:
            for item in run:
                kinds[item], levels[item] = "text", 0
        run = []


def _after_heading(index: int, kinds: list[LineKind]) -> bool:
    back = index - 1
    while back >= 0 and kinds[back] == "blank":
        back -= 1
    return back >= 0 and kinds[back] == "heading"


def _pages(count: int, markers: dict[int, int], starts: list[int]) -> list[int | None]:
    """The printed page of every line, from the page markers that close pages ("— 243 —")
    and the lines that open them.

    PDF extraction begins each page's first line with a single space (" 業務回顧及展望");
    where the markers confirm it (between two markers stand one fewer such lines than
    pages, the marker itself being a break), every line gets its page. Where they do not
    (a table's lines start with a space too), a marker vouches only for the lines just above
    it (PAGE_SPAN_LINES).
    """
    pages: list[int | None] = [None] * count
    marks = sorted(markers.items())
    if not marks:
        return pages
    consistent = [sum(1 for s in starts if a < s < b) == pb - pa - 1
                  for (a, pa), (b, pb) in zip(marks, marks[1:], strict=False)]
    if not any(consistent):  # the convention does not hold here: the old, cautious rule
        previous = -1
        for index, page in marks:
            for line in range(max(previous + 1, index - PAGE_SPAN_LINES), index):
                pages[line] = page
            previous = index
        return pages
    first, first_page = marks[0]
    before = [s for s in starts if s < first]
    _number(pages, 0, first, first_page - len(before), before)
    for ((a, pa), (b, pb)), good in zip(zip(marks, marks[1:], strict=False), consistent,
                                        strict=True):
        inside = [s for s in starts if a < s < b]
        if good:
            _number(pages, a + 1, b, pa + 1, inside)
        else:  # sure only right after a marker (the next page) and just above one
            for line in range(a + 1, inside[0] if inside else b):
                pages[line] = pa + 1
            for line in range(max(a + 1, b - PAGE_SPAN_LINES), b):
                pages[line] = pb
    last, last_page = marks[-1]
    _number(pages, last + 1, count, last_page + 1, [s for s in starts if s > last])
    for index, page in marks:
        pages[index] = page
    return pages


def _number(pages: list[int | None], start: int, end: int, page: int, breaks: list[int]
            ) -> None:
    """Lines start..end-1 from `page` on, the next page beginning at each of `breaks`."""
    for line in range(start, end):
        if breaks and line == breaks[0]:
            breaks = breaks[1:]
            page += 1
        pages[line] = page
