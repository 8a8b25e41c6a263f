"""Citations quote exact spans, with their display forms in the reply script."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.script import converter
from index.types import Chunk, Document, DocumentMeta, Script, Unit
from service.cite import cite, conversion, line_at, page_at

FIXTURES: dict[str, tuple[str, Script]] = {
    "zh-hant": ("zh-hant.txt", "zh-Hant"), "zh-hans": ("zh-hans.txt", "zh-Hans"),
    "en": ("en.txt", "en")}


def document(text: str, script: Script = "zh-Hant", page_starts: tuple[int, ...] = (),
             doc_id: str = "doc") -> Document:
    return Document(DocumentMeta(doc_id=doc_id, title=f"{doc_id} title"), f"{doc_id}.txt",
                    text, script, page_starts)


def chunk_over(doc: Document, start: int, end: int, context: str = "",
               page: int | None = None) -> Chunk:
    """A table chunk over doc.text[start:end], one sentence per line."""
    lines, position = [], start
    for raw in doc.text[start:end].split("\n"):
        if raw.strip():
            lines.append((position, position + len(raw.rstrip())))
        position += len(raw) + 1
    return Chunk(chunk_id="c1", doc_id=doc.doc_id, ordinal=0, script=doc.script,
                 section=("A", "B"), page=page, line_start=line_at(doc.text, start),
                 line_end=line_at(doc.text, end - 1), char_start=start, char_end=end,
                 text=doc.text[start:end], clean=doc.text[start:end], matching="",
                 kind="table", context=context,
                 units=tuple(Unit("row", a, b) for a, b in lines))


def fixture_document(fixtures_dir: Path, name: str) -> Document:
    file, script = FIXTURES[name]
    return document((fixtures_dir / file).read_text(encoding="utf-8"), script, doc_id=name)


@given(st.text(alphabet="ab商湯。\n\t ", min_size=1, max_size=80), st.data())
def test_a_citation_quotes_exactly_its_span_and_counts_lines_from_one(text: str,
                                                                       data: st.DataObject
                                                                       ) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    doc = document(text)
    citation = cite(3, doc, chunk_over(doc, 0, len(text)), (start, end))
    assert citation.quote == text[start:end] == doc.text[citation.char_start:citation.char_end]
    assert citation.line_start == text[:start].count("\n") + 1
    assert citation.line_end == text[:end - 1].count("\n") + 1
    assert (citation.n, citation.doc_id, citation.title, citation.section) == (
        3, "doc", "doc title", "A > B")


def test_a_citation_outside_the_document_is_refused() -> None:
    doc = document("短文。")
    with pytest.raises(ValueError, match="outside 'doc'"):
        cite(1, doc, chunk_over(doc, 0, 3), (2, 9))


def test_the_page_comes_from_page_starts_or_else_from_the_chunk() -> None:
    paged = document("p1\np2\np3", page_starts=(0, 3, 6))
    assert page_at(paged, chunk_over(paged, 0, 8), 4) == 2
    plain = document("p1\np2")
    assert page_at(plain, chunk_over(plain, 0, 5, page=7), 3) == 7


@pytest.mark.parametrize(("document_script", "reply_script", "config"), [
    ("zh-Hant", "zh-Hans", "t2s"), ("zh-Hans", "zh-Hant", "s2t"), ("zh-Hant", "zh-Hant", None),
    ("zh-Hant", "original", None), ("en", "zh-Hans", None), ("zh-Hans", "original", None)])
def test_conversion_renders_chinese_in_the_reply_script_only(document_script: str,
                                                             reply_script: str,
                                                             config: str | None) -> None:
    assert conversion(document_script, reply_script) == config


def test_a_converted_quote_is_offered_beside_the_original() -> None:
    doc = document("能源消耗總量為130,242.2兆瓦時。")
    chunk = chunk_over(doc, 0, len(doc.text))
    citation = cite(1, doc, chunk, (0, len(doc.text)), "t2s")
    assert citation.quote == doc.text
    assert citation.quote_converted == "能源消耗总量为130,242.2兆瓦时。"
    assert cite(1, doc, chunk, (0, len(doc.text))).quote_converted is None


def test_converted_citations_match_opencc() -> None:
    doc = document("於2023年12月31日，我們的資本負債比率為 -14.8%。")
    citation = cite(1, doc, chunk_over(doc, 0, len(doc.text)), (0, len(doc.text)),
                    conversion("zh-Hant", "zh-Hans"))
    assert citation.quote_converted == converter("t2s").convert(doc.text)


def test_a_citation_carries_what_people_read_in_the_reply_script() -> None:
    doc = document("員工總體流失比率<sup>7</sup> **28.64%**")
    citation = cite(1, doc, chunk_over(doc, 0, len(doc.text)), (0, len(doc.text)),
                    conversion("zh-Hant", "zh-Hans"), reader="zh-Hans")
    assert citation.quote == doc.text  # the exact original span, markup and all
    assert citation.display == "員工總體流失比率⁷ 28.64%"
    assert citation.display_converted == "员工总体流失比率⁷ 28.64%"
    assert citation.section == "A > B" and citation.title_display == "doc title"
