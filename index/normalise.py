"""Derived forms of the original text (wrap repair, matching form), each mapped back to it.

The original text is never changed. Every derived form is a `Mapped`: its text plus, for
each of its characters, the original span it came from, so any match in a derived form
can be cited as an exact slice of the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.script import converter, is_cjk

NORMALISER_VERSION = "1"

_CJK_PUNCT = set("。，、；：？！「」『』（）《》〈〉【】“”‘’…—·．")
_TERMINAL = set("。！？；!?;")


@dataclass(frozen=True)
class Mapped:
    """A derived text; character i came from original[starts[i]:ends[i]]."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def identity(cls, text: str, offset: int = 0) -> Mapped:
        positions = tuple(range(offset, offset + len(text)))
        return cls(text, positions, tuple(p + 1 for p in positions))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering derived characters [start, end)."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad span {start}:{end} for a text of length {len(self.text)}")
        return self.starts[start], max(self.ends[start:end])


class _Builder:
    def __init__(self) -> None:
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, text: str, start: int, end: int) -> None:
        for ch in text:
            self.chars.append(ch)
            self.starts.append(start)
            self.ends.append(end)

    def copy(self, source: Mapped, i: int, j: int) -> None:
        self.chars.extend(source.text[i:j])
        self.starts.extend(source.starts[i:j])
        self.ends.extend(source.ends[i:j])

    def drop_last(self) -> None:
        for seq in (self.chars, self.starts, self.ends):
            seq.pop()

    def build(self) -> Mapped:
        return Mapped("".join(self.chars), tuple(self.starts), tuple(self.ends))


def rewrite(source: Mapped, pattern: re.Pattern[str],
            repl: str | Callable[[re.Match[str]], str]) -> Mapped:
    """`pattern.sub(repl, text)` that keeps the map: replacements inherit the match's span."""
    out = _Builder()
    last = 0
    for match in pattern.finditer(source.text):
        i, j = match.span()
        out.copy(source, last, i)
        new = repl if isinstance(repl, str) else repl(match)
        if new and i < j:
            out.add(new, source.starts[i], max(source.ends[i:j]))
        elif new:
            if i < len(source.text):
                anchor = source.starts[i]
            else:
                anchor = source.ends[-1] if source.ends else 0
            out.add(new, anchor, anchor)
        last = j
    out.copy(source, last, len(source.text))
    return out.build()


def per_char(source: Mapped, fn: Callable[[str], str]) -> Mapped:
    """Apply a character-wise function that may change a character into several."""
    whole = fn(source.text)
    if len(whole) == len(source.text):
        return Mapped(whole, source.starts, source.ends)
    out = _Builder()
    for i, ch in enumerate(source.text):
        out.add(fn(ch), source.starts[i], source.ends[i])
    return out.build()


def convert_chinese(source: Mapped, config: str = "t2s") -> Mapped:
    """OpenCC phrase-level conversion; keeps the map exact where lengths agree."""
    converted = converter(config).convert(source.text)
    if len(converted) == len(source.text):
        return Mapped(converted, source.starts, source.ends)
    # Rare phrase rewrites change length: redo it piecewise so only that piece is blurred.
    out = _Builder()
    for match in re.finditer(r"[^。，、；：？！\n]+|.", source.text, flags=re.S):
        i, j = match.span()
        piece = converter(config).convert(match.group())
        if len(piece) == j - i:
            for k, ch in enumerate(piece):
                out.add(ch, source.starts[i + k], source.ends[i + k])
        else:
            out.add(piece, source.starts[i], max(source.ends[i:j]))
    return out.build()


# ---- wrap repair -------------------------------------------------------------------

def _joins_tight(left: str, right: str) -> bool:
    """No space between two wrapped lines when either side of the break is Chinese."""
    return is_cjk(left) or left in _CJK_PUNCT or is_cjk(right) or right in _CJK_PUNCT


def repair_wraps(text: str, lines: Sequence[tuple[int, int]],
                 breaks: frozenset[int] = frozenset()) -> Mapped:
    """Join the given original lines (start, end offsets into `text`) into running text.

    Lines are joined with no space between Chinese characters, one space between Latin
    words, and end-of-line hyphenation undone. A line whose index is in `breaks` starts a
    new paragraph, written as a newline.
    """
    out = _Builder()
    for index, (start, end) in enumerate(lines):
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if not body:
            continue
        body_start = start + lead
        if out.chars:
            prev = out.chars[-1]
            if index in breaks:
                out.add("\n", body_start, body_start)
            elif (prev == "-" and len(out.chars) > 1 and out.chars[-2].isalpha()
                  and body[0].islower()):
                out.drop_last()
            elif prev == "-" and len(out.chars) > 1 and out.chars[-2].isalnum():
                pass  # a real hyphen at the end of a line ("state-Owned", "2022-2023")
            elif not _joins_tight(prev, body[0]):
                out.add(" ", body_start, body_start)
        for k, ch in enumerate(body):
            out.add(ch, body_start + k, body_start + k + 1)
    return out.build()


# ---- the matching form ---------------------------------------------------------------

_MARKUP = re.compile(r"<sup>[^<]{0,8}</sup>|</?[A-Za-z][^<>]{0,200}>|\*\*|__|^#{1,6}\s+",
                     re.M)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACES = re.compile(r"\s+")
_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef])\s+"
    r"|\s+(?=[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef])"
)


class _CharTable(dict[int, str]):
    """A str.translate table filled on demand, so a rule applies character by character
    (the same in the mapped and the fast path) at C speed."""

    def __init__(self, rule: Callable[[str], str]) -> None:
        super().__init__()
        self._rule = rule

    def __missing__(self, code: int) -> str:
        value = self[code] = self._rule(chr(code))
        return value


_NFKC = _CharTable(lambda ch: unicodedata.normalize("NFKC", ch))
_LOWER = _CharTable(str.lower)


def _nfkc(text: str) -> str:
    return text.translate(_NFKC)


def _lower(text: str) -> str:
    return text.translate(_LOWER)


def matching_mapped(source: Mapped) -> Mapped:
    """The search form, mapped: NFKC, markup removed, Simplified, lower case, separators and
    spaces folded. Documents and queries both go through it, so any script meets any."""
    text = rewrite(source, _MARKUP, "")
    text = per_char(text, _nfkc)
    text = convert_chinese(text, "t2s")
    text = per_char(text, _lower)
    text = rewrite(text, _THOUSANDS, "")
    text = rewrite(text, _CJK_GAP, "")
    text = rewrite(text, _SPACES, " ")
    return _strip(text)


def _strip(source: Mapped) -> Mapped:
    i, j = 0, len(source.text)
    while i < j and source.text[i] == " ":
        i += 1
    while j > i and source.text[j - 1] == " ":
        j -= 1
    return Mapped(source.text[i:j], source.starts[i:j], source.ends[i:j])


def matching_form(text: str) -> str:
    """The search form of `text` (see matching_mapped); the same for queries and documents."""
    text = _MARKUP.sub("", text)
    text = _nfkc(text)
    text = _lower(converter("t2s").convert(text))
    text = _THOUSANDS.sub("", text)
    text = _CJK_GAP.sub("", text)
    return _SPACES.sub(" ", text).strip()


# Dot leaders between a table row's label and its figures, as prospectuses print them
# ("研發 . . . . . . 3,593 68.0", "Sales and marketing........ 925"): layout, never a word.
DOT_LEADER = re.compile(r"(?:[ \u3000]*[.．·…]){3,}[ \u3000]*")


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip(" \t”」』）)*")
    return bool(stripped) and stripped[-1] in _TERMINAL | {"."}


def dense_form(text: str) -> str:
    """What the embedding model reads: the matching form without lower-casing or number
    folding (cased word pieces carry meaning for the model), Chinese in Simplified."""
    text = _MARKUP.sub("", text)
    text = converter("t2s").convert(_nfkc(text))
    text = _CJK_GAP.sub("", text)
    return _SPACES.sub(" ", text).strip()
