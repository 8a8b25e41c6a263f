"""Section paths: which headings each line of a document sits under."""

from __future__ import annotations

import re

from index.layout import Layout, Line, clean_title

MAX_DEPTH = 5
GUESSED_LEVEL = 3  # layout's level for a heading found by its shape alone
_SERIES = re.compile(r"^(?:步驟|步骤|階段|阶段|第[一二三四五六七八九十\d]+(?:步|階段|阶段))"
                     r"|^(?:step|phase|stage)\s*\d", re.I)


def section_pages(layout: Layout, paths: list[tuple[str, ...]]) -> list[int | None]:
    """For every line, the page the contents give for the innermost of its sections they
    list (a report without page markers still tells where its sections start)."""
    listed: dict[tuple[str, ...], int] = {}
    out: list[int | None] = []
    current: int | None = None
    for line, path in zip(layout.lines, paths, strict=True):
        if line.kind == "heading" and line.toc_page is not None:
            listed[path] = line.toc_page
        current = next((listed[path[:n]] for n in range(len(path), 0, -1) if path[:n] in listed),
                       None)
        out.append(current)
    return out


def section_paths(text: str, layout: Layout) -> list[tuple[str, ...]]:
    """The section path in force at every line, e.g. ("責任治理 護航可信 AI", "保障信息安全").

    Headings from the contents, Markdown or section numbers nest by their level. A
    heading guessed from its shape sits one level below them. A document without any
    such structure is read from its guessed headings alone: a heading that opens a run
    of headings starts a new top section, the next one in the run is its child, and a
    lone heading replaces the previous child.
    """
    lines = layout.lines
    structured = any(ln.kind == "heading" and ln.level != GUESSED_LEVEL for ln in lines)
    shift = _unlisted_shift(text, lines)
    stack: list[tuple[int, str, bool]] = []  # (level, title, guessed from its shape)
    paths: list[tuple[str, ...]] = []
    previous: Line | None = None  # the last non-blank line
    previous_level = 0
    for index, line in enumerate(lines):
        if line.kind == "heading":
            level = line.level
            guessed = level == GUESSED_LEVEL and not text[line.start:line.end].startswith("#")
            if line.toc_page is None and not guessed:
                level += shift
            if guessed and not structured:
                level = _unstructured_level(lines, index, previous, previous_level, stack)
            elif guessed:
                # One level below the structural headings in force, "###" ones included.
                level = max([level] + [lv + 1 for lv, _, weak in stack if not weak])
            title = clean_title(text[line.start:line.end])
            if guessed and _SERIES.match(title) and stack and stack[-1][2]:
                # steps of a procedure ("步驟一：…", "Step 2: …") are the parts of the
                # heading that introduces them, not its siblings
                opener = next((lv for lv, t, weak in reversed(stack)
                               if weak and not _SERIES.match(t)), None)
                if opener is not None:
                    level = opener + 1
            while stack and stack[-1][0] >= level:
                stack.pop()
            if len(stack) >= MAX_DEPTH and not guessed:
                stack.pop()  # the deepest gives way; the outer levels are never lost
            if len(stack) < MAX_DEPTH:  # a guessed heading deeper is no real section
                stack.append((level, title, guessed))
            previous_level = level
        if line.kind != "blank":
            previous = line
        paths.append(tuple(title for _, title, _ in stack))
    return paths


def _unlisted_shift(text: str, lines: tuple[Line, ...]) -> int:
    """How far below its own marks an unlisted heading sits in a document with contents.

    The contents decide the levels of the headings they list; the headings they do not
    list are the document's finer structure, ordered among themselves by their own marks
    ("##" above "###"). Where a document marks both alike (004 prints its listed sections
    and their sub-sections all as "##"), an unlisted "##" would close the listed section it
    stands in, so the unlisted marks shift down until the shallowest sits just below the
    deepest listed level.
    """
    listed = [ln.level for ln in lines if ln.kind == "heading" and ln.toc_page is not None]
    if not listed:
        return 0
    first = next(ln.number for ln in lines if ln.kind == "heading" and ln.toc_page is not None)
    own = [ln.level for ln in lines if ln.kind == "heading" and ln.toc_page is None
           and ln.number > first and text[ln.start:ln.end].lstrip().startswith("#")]
    return max(0, max(listed) + 1 - min(own)) if own else 0


def _unstructured_level(lines: tuple[Line, ...], index: int, previous: Line | None,
                        previous_level: int, stack: list[tuple[int, str, bool]]) -> int:
    after_heading = previous is not None and previous.kind == "heading"
    if after_heading and previous_level == GUESSED_LEVEL:
        return GUESSED_LEVEL + 1
    if not after_heading and _next_is_heading(lines, index):
        return GUESSED_LEVEL
    return GUESSED_LEVEL + 1 if any(entry[0] == GUESSED_LEVEL for entry in stack) else GUESSED_LEVEL


def _next_is_heading(lines: tuple[Line, ...], index: int) -> bool:
    for line in lines[index + 1:]:
        if line.kind != "blank":
            return line.kind == "heading"
    return False
