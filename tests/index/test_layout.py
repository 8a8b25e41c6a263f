"""Reading layout: page furniture, page numbers, table headers, headings and section paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.chunk import chunk_document
from index.corpus import read_manifest
from index.layout import analyse, clean_title, is_table_row
from index.load import load_document
from index.sections import section_paths
from index.types import SCRIPTS, Document, Script

MARKER = re.compile(r"^— (\d+) —$")
HEADINGS: dict[Script, tuple[str, str, str]] = {
    "zh-Hant": ("人工智能基礎設施", "財務概要", "風險因素"),
    "zh-Hans": ("人工智能基础设施", "财务概要", "风险因素"),
    "en": ("AI Infrastructure", "Financial Summary", "Risk Factors"),
}
RUNNING_HEADER: dict[Script, str] = {
    "zh-Hant": "業 \u3000 務", "zh-Hans": "业 \u3000 务", "en": "Project Wing \\ Business \\ M05"}


def fixture_text(fixtures_dir: Path, script: Script) -> str:
    return (fixtures_dir / f"{script.lower()}.txt").read_text(encoding="utf-8")


def line_text(text: str, number: int) -> str:
    return text.split("\n")[number - 1].strip()


def marker_page(text: str, number: int) -> int | None:
    """The page number a "— 12 —" marker on line `number` gives, if it is one."""
    found = MARKER.match(line_text(text, number))
    return int(found.group(1)) if found else None


@pytest.mark.parametrize("script", SCRIPTS)
def test_page_markers_are_furniture_and_number_the_lines_above(fixtures_dir: Path,
                                                               script: Script) -> None:
    text = fixture_text(fixtures_dir, script)
    layout = analyse(text)
    markers = {ln.number: page for ln in layout.lines
               if (page := marker_page(text, ln.number)) is not None}
    assert list(markers.values()) == [12, 13, 14, 15]
    assert all(layout.lines[number - 1].kind == "furniture" for number in markers)
    previous = 0
    for number, page in markers.items():
        assert {ln.page for ln in layout.lines[previous:number - 1]} == {page}
        previous = number


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_running_header_on_every_page_is_furniture(fixtures_dir: Path,
                                                     script: Script) -> None:
    text = fixture_text(fixtures_dir, script)
    headers = [ln for ln in analyse(text).lines
               if line_text(text, ln.number) == RUNNING_HEADER[script]]
    assert len(headers) == 4
    assert {ln.kind for ln in headers} == {"furniture"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_standalone_short_lines_are_headings(fixtures_dir: Path, script: Script) -> None:
    text = fixture_text(fixtures_dir, script)
    headings = [line_text(text, ln.number) for ln in analyse(text).lines if ln.kind == "heading"]
    assert tuple(headings) == HEADINGS[script]


@pytest.mark.parametrize("script", SCRIPTS)
def test_column_labels_above_a_table_belong_to_the_table(fixtures_dir: Path,
                                                         script: Script) -> None:
    text = fixture_text(fixtures_dir, script)
    table = [line_text(text, ln.number) for ln in analyse(text).lines if ln.kind == "table"]
    assert len(table) == 6
    assert not is_table_row(table[0])  # "截至12月31日止年度" / "Year ended 31 December"
    assert all(is_table_row(row) for row in table[3:])


@pytest.mark.parametrize("row, is_row", [
    ("收入 3,405,842 3,808,510", True),
    ("毛利 1,500,787 44.1 2,542,267 66.8 –41.0%", True),
    ("年度虧損 (6,494,670) (190.7) (6,092,990) (160.0) 6.6%", True),
    ("能源消耗總量 (兆瓦時)\t130,242.2\t54,265.7", True),
    ("2023年 2022年", False),
    ("截至2023年12月31日，收入為3,405,842千元及3,808,510千元。", False),
    ("Revenue fell 10.6% to RMB3.4 billion in 2023 from RMB3.8 billion in 2022.", False),
])
def test_table_rows_are_told_from_prose(row: str, is_row: bool) -> None:
    assert is_table_row(row) is is_row


def test_the_prospectus_has_fourteen_page_markers(corpus_dir: Path) -> None:
    text = (corpus_dir / "001_95d982d9160ab8c4.txt").read_text(encoding="utf-8")
    layout = analyse(text)
    markers = {page: ln.number for ln in layout.lines
               if (page := marker_page(text, ln.number)) is not None}
    assert len(markers) == 14
    assert all(layout.lines[number - 1].kind == "furniture" for number in markers.values())
    assert layout.lines[markers[243] - 2].page == 243  # the line just above "— 243 —"
    assert markers[222] < markers[243] < markers[326]
    headers = [ln for ln in layout.lines if line_text(text, ln.number) == "業 \u3000 務"]
    assert len(headers) == 14
    assert {ln.kind for ln in headers} == {"furniture"}


@pytest.mark.parametrize("raw, title", [
    ("## 應對氣候變化<sup>1</sup>", "應對氣候變化"),
    ("**提升大模型能力及優化訓練基礎設施**", "提升大模型能力及優化訓練基礎設施"),
    ("◊ 保障信息安全", "保障信息安全"),
    ("#   Responsible   Governance ", "Responsible Governance"),
    ("#### — ESG 及戰略委員會的主要職責 —", "ESG 及戰略委員會的主要職責"),
    ("▶ 信息安全管控", "信息安全管控"),
])
def test_clean_title_drops_markup_and_stray_symbols(raw: str, title: str) -> None:
    assert clean_title(raw) == title


# ---- section paths in the corpus -----------------------------------------------------

@pytest.fixture(scope="module")
def zhipu(corpus_dir: Path) -> Document:
    """The Zhipu ESG report, whose headings are Markdown."""
    source = next(s for s in read_manifest(corpus_dir / "manifest.toml")
                  if s.meta.doc_id == "zhipu-esg-2025-zh-hant")
    return load_document(source.path, source.meta)


def test_the_esg_report_files_information_security_under_its_chapter(corpus_dir: Path) -> None:
    source = next(s for s in read_manifest(corpus_dir / "manifest.toml")
                  if s.path.name.startswith("000_"))
    chunks = [c for c in chunk_document(load_document(source.path, source.meta))
              if "信息安全管理體系" in c.clean]
    assert chunks
    for chunk in chunks:
        assert chunk.section[0] == "責任治理 護航可信 AI"
        assert any("保障信息安全" in title for title in chunk.section), chunk.section
        assert chunk.section_path.startswith("責任治理 護航可信 AI > ")
    certified = next(c for c in chunks if "ISO 27001 信息安全管理體系認證" in c.clean)
    assert certified.section[-1] == "信息安全管理體系"


FLAT_CONTENTS = """目錄 CONTENTS

關於本報告\t01
關於智譜\t03
公司概況\t03
企業文化\t04

附錄一：關鍵績效\t39
附錄二：指標索引\t43



## 關於本報告

本報告是本公司的第一份報告。

# 關於智譜

## 公司概況

智譜成立於2019年。

## 企業文化

我們堅持開放。

## 附錄一：關鍵績效

員工總數 937人。

## 附錄二：指標索引

指標索引如下。
"""


def test_a_flat_contents_nests_the_entries_that_share_a_chapters_first_page() -> None:
    text = FLAT_CONTENTS
    paths = dict(zip(text.split("\n"), section_paths(text, analyse(text)), strict=True))
    assert paths["智譜成立於2019年。"] == ("關於智譜", "公司概況")
    assert paths["我們堅持開放。"] == ("關於智譜", "企業文化")
    assert paths["本報告是本公司的第一份報告。"] == ("關於本報告",)
    # entries on pages of their own are chapters, whatever the body's Markdown marks say
    assert paths["指標索引如下。"] == ("附錄二：指標索引",)


@pytest.mark.parametrize("phrase, section", [
    ("智譜成立於 2019 年", ("關於智譜", "公司概況")),
    # the contents list 可持續發展管理 as a chapter of its own (eval/locations.jsonl, loc-087)
    ("智譜的 ESG 相關事宜由公司董事會最終負責", ("可持續發展管理", "ESG 管治架構")),
    ("監督本公司的業務運營",
     ("可持續發展管理", "ESG 管治架構", "ESG 及戰略委員會的主要職責")),
])
def test_zhipu_chunks_sit_under_their_markdown_headings(zhipu: Document, phrase: str,
                                                       section: tuple[str, ...]) -> None:
    chunk = next(c for c in chunk_document(zhipu) if phrase in c.clean)
    assert chunk.section[:len(section)] == section


def test_guessed_headings_without_structure_nest_one_level() -> None:
    text = "公司概況\n\n發展歷程\n\n智譜成立於2019年。\n\n企業文化\n\n我們堅持開放。\n"
    paths = section_paths(text, analyse(text))
    assert paths[4] == ("公司概況", "發展歷程")
    assert paths[8] == ("公司概況", "企業文化")


GENRE = ("主要摘要\n\n財務概要\n\n收入下降。\n\n 業務回顧及展望\n本年度業務穩健。\n\n"
         " 智能汽車\n\n出貨量增長。\n 管理層討論與分析\n收入減少10.6%。\n\n資本負債比率\n\n"
         "比率為-14.8%。\n\n 財務報表附註\n\n5 按性質劃分的開支\n\n開支如下。\n\n2.1 編製基準\n\n"
         "本報告按準則編製。\n")


def test_a_filing_without_contents_opens_the_chapters_its_genre_prescribes() -> None:
    paths = dict(zip(GENRE.split("\n"), section_paths(GENRE, analyse(GENRE)), strict=True))
    assert paths["收入下降。"] == ("主要摘要", "財務概要")
    # a page-opening heading is a section of the chapter open, not a chapter of its own
    assert paths["出貨量增長。"] == ("業務回顧及展望", "智能汽車")
    # the chapter title is read even with its text running on right after it
    assert paths["收入減少10.6%。"] == ("管理層討論與分析",)
    assert paths["比率為-14.8%。"] == ("管理層討論與分析", "資本負債比率")
    # numbered notes are sections of their chapter, their decimals a level deeper
    assert paths["開支如下。"] == ("財務報表附註", "5 按性質劃分的開支")
    assert paths["本報告按準則編製。"][:2] == ("財務報表附註", "5 按性質劃分的開支")


def test_without_genre_chapters_a_page_opening_heading_opens_a_chapter() -> None:
    text = "概況\n\n公司成立於2014年。\n 研究與開發\n\n我們投入研發。\n"
    paths = dict(zip(text.split("\n"), section_paths(text, analyse(text)), strict=True))
    assert paths["我們投入研發。"] == ("研究與開發",)


# A contents listing a chapter and two sections, all printed in the body as "##", with
# unlisted "##" and "###" headings inside them, a sub-heading repeating a section's title,
# a list of duties one per line, steps of a procedure and an index in the back matter.
MARKED = """# 目录 CONTENTS

## 02 以人為本

保障員工權益	11
強化可持續供應鏈	13

索引 2: 聯交所 ESG 指引	20

# 以人為本

## 保障員工權益

公司依法用工。

## 薪酬福利

公司提供福利。

### 福利項目

包括補充醫療保險。

## 強化可持續供應鏈

我們管理供應商。

可持續供應鏈

供應商須簽署承諾。

委員會的主要職責

監督本公司的業務運營

研究及監測行業政策

審閱戰略發展計劃

委員會每年開會兩次。

員工總體流失人數 **445**人

流失人數下降。

風險管理與實質性議題評估

我們持續關注議題。

步驟一：議題識別

我們識別議題。

步驟二：實質性評估

我們評估議題。

索引 2：聯交所 ESG 指引

指標索引如下。
"""


def test_headings_the_contents_do_not_list_nest_below_the_listed_ones() -> None:
    paths = dict(zip(MARKED.split("\n"), section_paths(MARKED, analyse(MARKED)), strict=True))
    # an unlisted "##" is a part of the listed section, its "###" a part of that
    assert paths["公司提供福利。"] == ("以人為本", "保障員工權益", "薪酬福利")
    assert paths["包括補充醫療保險。"] == ("以人為本", "保障員工權益", "薪酬福利", "福利項目")
    # the section's own heading takes the entry, not a later line holding part of its title
    assert paths["我們管理供應商。"] == ("以人為本", "強化可持續供應鏈")
    assert paths["供應商須簽署承諾。"] == ("以人為本", "強化可持續供應鏈", "可持續供應鏈")


def test_lists_and_key_figures_printed_one_per_line_are_no_headings() -> None:
    layout = analyse(MARKED)
    kinds = {MARKED[ln.start:ln.end]: ln.kind for ln in layout.lines}
    assert kinds["監督本公司的業務運營"] == kinds["研究及監測行業政策"] == "text"
    assert kinds["員工總體流失人數 **445**人"] == "text"
    paths = dict(zip(MARKED.split("\n"), section_paths(MARKED, layout), strict=True))
    # no item becomes a section (the list's own title, shaped like its items, goes with it)
    assert paths["委員會每年開會兩次。"][-1] == "可持續供應鏈"
    assert paths["流失人數下降。"][-1] == "可持續供應鏈"


def test_steps_nest_under_the_heading_that_introduces_them() -> None:
    paths = dict(zip(MARKED.split("\n"), section_paths(MARKED, analyse(MARKED)), strict=True))
    assert paths["我們評估議題。"][-2:] == ("風險管理與實質性議題評估", "步驟二：實質性評估")


def test_an_index_in_the_back_matter_is_a_chapter_matched_across_widths() -> None:
    layout = analyse(MARKED)
    paths = dict(zip(MARKED.split("\n"), section_paths(MARKED, layout), strict=True))
    assert paths["指標索引如下。"] == ("索引 2：聯交所 ESG 指引",)
    index_line = next(ln for ln in layout.lines
                      if MARKED[ln.start:ln.end] == "索引 2：聯交所 ESG 指引")
    assert index_line.toc_page == 20


def test_an_english_heading_may_run_past_forty_characters() -> None:
    text = "Intro text here.\n\nPreventing and Controlling Physical Risks\n\nWe assess floods.\n"
    paths = section_paths(text, analyse(text))
    assert paths[4][-1] == "Preventing and Controlling Physical Risks"


def test_a_first_note_numbered_like_a_list_item_is_still_a_note() -> None:
    text = ("主要摘要\n\n收入下降。\n\n財務報表附註\n\n1. 一般資料\n\n"
            "本公司於開曼群島註冊成立。\n\n1. 在金融行業中，我們提升了檢索能力。\n\n"
            "2 編製基準\n\n本報告按準則編製。\n")
    paths = dict(zip(text.split("\n"), section_paths(text, analyse(text)), strict=True))
    assert paths["本公司於開曼群島註冊成立。"] == ("財務報表附註", "1. 一般資料")
    assert paths["本報告按準則編製。"] == ("財務報表附註", "2 編製基準")


def test_dot_leaders_make_no_difference_to_a_row() -> None:
    from index.display import display
    from index.tables import read_header, read_row

    line = "研發 . . . . . . . . . . . . . . . . . . . . . . 3,593 68.0"
    assert is_table_row(line) and not is_table_row("我們的業務……很好。")
    row = read_row(line, 0, read_header(["僱員職能 僱員人數 佔總人數的百分比"]), "")
    assert row is not None and row.label == "研發"
    assert [c.text for c in row.cells] == ["3,593", "68.0"]
    assert display(line, table=True) == "研發 3,593 68.0"
