"""Display forms: what people read of an exact span of the original.

A quote keeps its exact offsets into the original; what a reply, the page or the CLI shows
is this rendering of it: hard wraps joined (table lines kept apart, their cells split by
" | "), superscript notes as superscript digits (`<sup>14</sup>` -> ¹⁴, never "[14]",
which reads as a citation), bold and heading marks removed. Only the layout changes:
every word and figure is the document's.
"""

from __future__ import annotations

import re

from index.normalise import DOT_LEADER, repair_wraps

_SUPERSCRIPT = str.maketrans("0123456789+-()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾")
_SUP = re.compile(r"\s*<sup>\s*([^<]{0,8}?)\s*</sup>")
_SUB = re.compile(r"<sub>\s*([^<]{0,8}?)\s*</sub>")
_SUB_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_TAGS = re.compile(r"</?[A-Za-z][^<>]{0,80}>")
_BOLD = re.compile(r"\*\*|__")
_HEADING_MARK = re.compile(r"^#{1,6}\s+", re.M)
_CELLS = re.compile(r"[ \u3000]*\t+[ \u3000]*")


def render_markup(text: str) -> str:
    """`text` with its markup rendered as plain characters."""
    text = _SUP.sub(lambda m: _superscript(m.group(1)), text)
    text = _SUB.sub(lambda m: m.group(1).translate(_SUB_DIGITS), text)
    text = _TAGS.sub(" ", text)
    text = _BOLD.sub("", text)
    return _HEADING_MARK.sub("", text)


def _superscript(note: str) -> str:
    translated = note.translate(_SUPERSCRIPT)
    # A note that is not digits ("a", "*") stays readable in brackets.
    return translated if all(ch in "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾" for ch in translated) else f"⁽{note}⁾"


def display(text: str, table: bool = False) -> str:
    """An original span as people read it: wraps joined unless it is table lines (`table`,
    or lines that look like rows), cells split by " | ", markup rendered, spaces tidied."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) > 1 and not table and not any("\t" in line for line in lines):
        spans, position = [], 0
        for raw in text.split("\n"):
            spans.append((position, position + len(raw)))
            position += len(raw) + 1
        lines = [repair_wraps(text, spans).text]
    if table:
        lines = [DOT_LEADER.sub(" ", line) for line in lines]
    out = [_CELLS.sub(" | ", render_markup(line)).strip(" |") for line in lines]
    return "\n".join(re.sub(r"[ \u3000]{2,}", " ", line).strip() for line in out if line.strip())
