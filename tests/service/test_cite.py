"""Citations quote exact spans; quotable pieces keep table rows with their column header."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.chunk import chunk_document
from index.script import converter
from index.types import Chunk, Document, DocumentMeta, Script
from service.cite import (
    cite,
    context_lines,
    conversion,
    header_span,
    is_row,
    line_at,
    page_at,
    quotable,
    readable,
)

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
                 kind="table", context=context, sentences=tuple(lines))


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


@pytest.mark.parametrize(("text", "shown"), [
    ("截至2021年6月30日，我們已累計開發超過22,000個商業\n化人工智能模型。",
     "截至2021年6月30日，我們已累計開發超過22,000個商業化人工智能模型。"),
    ("As of 30 June 2021, we had\ndeveloped more than 22,000 models.",
     "As of 30 June 2021, we had developed more than 22,000 models."),
    ("指標\t2023\t2022\n能源消耗總量 (兆瓦時)\t130,242.2\t54,265.7",
     "指標 | 2023 | 2022\n能源消耗總量 (兆瓦時) | 130,242.2 | 54,265.7"),
    ("2023年 2022年\n\n人民幣千元 人民幣千元", "2023年 2022年\n人民幣千元 人民幣千元"),
    ("員工總體流失比率<sup>7</sup> **28.64%**", "員工總體流失比率 28.64%"),
])
def test_readable_joins_wraps_but_keeps_table_lines_apart(text: str, shown: str) -> None:
    assert readable(text) == shown


@pytest.mark.parametrize(("line", "row"), [
    ("收入 3,405,842 3,808,510", True), ("Revenue\t3,405,842\t3,808,510", True),
    ("減值撥備 (4,191.4) (2,578.5)", True), ("其他國家地區\t24", True),
    ("2023年 2022年", False), ("指標\t2023\t2022\t2021", False),
    ("A2.2\t總耗水量及密度\t5.3 優化資源使用", False), ("能源消耗", False)])
def test_a_row_is_a_line_with_a_figure_in_a_cell_of_its_own(line: str, row: bool) -> None:
    assert is_row(line) is row


@pytest.mark.parametrize(("name", "row", "header"), [
    ("zh-hant", "收入 3,405,842 3,808,510",
     "截至12月31日止年度\n2023年 2022年\n人民幣千元 人民幣千元"),
    ("zh-hans", "收入 3,405,842 3,808,510",
     "截至12月31日止年度\n2023年 2022年\n人民币千元 人民币千元"),
    ("en", "Revenue 3,405,842 3,808,510",
     "Year ended 31 December\nItem FY2023 FY2022\nUnit RMB'000 RMB'000"),
])
def test_quotable_keeps_a_table_row_with_its_column_header_and_period(fixtures_dir: Path, name: str,
                                                           row: str, header: str) -> None:
    doc = fixture_document(fixtures_dir, name)
    pieces = [(doc.text[s:e], h) for chunk in chunk_document(doc)
              for (s, e), h in quotable(doc, chunk)]
    found = [h for text, h in pieces if text == row]
    assert len(found) == 1 and found[0] is not None
    assert doc.text[found[0][0]:found[0][1]] == header


# As in the Zhipu report: a dated list the layout reads as a table, cut into two chunks.
MILESTONES = ("## 發展歷程\n\n- 2024 年 8 月**  \n"
              "● 中國第一個對齊文本 / 圖像的多模型模型 VideoCall\n- 2024 年 10 月**  \n"
              "● 發佈全球首個手機智能體 AutoGLM\n- 2025 年 7 月**  \n"
              "● 發佈面向推理、代碼與智能體的開源 SOTA 模型 GLM-4.5\n")


@pytest.mark.parametrize("cut", ["", "● 中國第一個"])
def test_quotable_dates_each_item_of_a_dated_list_and_skips_headings(cut: str) -> None:
    doc = document(MILESTONES)
    start = MILESTONES.index(cut) if cut else 0
    chunks = ([chunk_over(doc, start, len(MILESTONES))] if cut else chunk_document(doc))
    pieces = {doc.text[s:e]: (doc.text[h[0]:h[1]] if h else None)
              for chunk in chunks for (s, e), h in quotable(doc, chunk)}
    assert pieces["● 發佈面向推理、代碼與智能體的開源 SOTA 模型 GLM-4.5"] == "- 2025 年 7 月**"
    assert pieces["● 中國第一個對齊文本 / 圖像的多模型模型 VideoCall"] == "- 2024 年 8 月**"
    assert not any("發展歷程" in p or p.startswith("- 20") for p in pieces)


def test_header_span_stops_at_the_nearest_header_above_the_row() -> None:
    text = "5.5 環境關鍵績效\n指標\t2023\t2022\n能源消耗\n能源消耗總量\t130,242.2\t54,265.7"
    lines, position = [], 0
    for raw in text.split("\n"):
        lines.append((position, position + len(raw)))
        position += len(raw) + 1
    span = header_span(text, lines[:3])
    assert span is not None and text[span[0]:span[1]] == "指標\t2023\t2022"
    assert header_span(text, lines[:1]) is None


def test_context_lines_find_a_repeated_header_in_the_document() -> None:
    row = "廢水排放總量 (噸)\t168,485.3\t99,514.2"
    text = f"指標\t2023\t2022\n水消耗總量 (噸)\t187,205.9\t110,571.3\n{row}"
    doc = document(text)
    start = text.index("廢水")
    chunk = chunk_over(doc, start, len(text), context="指標 | 2023 | 2022")
    spans = context_lines(text, chunk)
    assert [text[s:e] for s, e in spans] == ["指標\t2023\t2022"]
    assert [text[s:e] for (s, e), _ in quotable(doc, chunk)] == [row]
    assert quotable(doc, chunk)[0][1] == spans[0]


def test_converted_citations_match_opencc() -> None:
    doc = document("於2023年12月31日，我們的資本負債比率為 -14.8%。")
    citation = cite(1, doc, chunk_over(doc, 0, len(doc.text)), (0, len(doc.text)),
                    conversion("zh-Hant", "zh-Hans"))
    assert citation.quote_converted == converter("t2s").convert(doc.text)
