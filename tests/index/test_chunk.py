"""Chunking: exact spans, page furniture, tables with their headers, sentences, stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunk import ChunkSettings, chunk_document, split_sentences, text_size
from index.corpus import read_manifest
from index.load import load_document
from index.normalise import matching_form
from index.types import SCRIPTS, Chunk, Document, DocumentMeta, Script

META = DocumentMeta(doc_id="test", title="test")
SMALL = ChunkSettings(target=40, maximum=80, minimum=10, overlap_max=0)
RUNNING_HEADER: dict[Script, str] = {
    "zh-Hant": "業 \u3000 務", "zh-Hans": "业 \u3000 务", "en": "Project Wing \\ Business \\ M05"}
# A sentence that starts above the "— 12 —" marker and ends below it, as it reads joined.
ACROSS_PAGES: dict[Script, str] = {
    "zh-Hant": "並透過長期合作持續擴大業務規模。",
    "zh-Hans": "并通过长期合作持续扩大业务规模。",
    "en": "year after year, the scale and reach of our business.",
}


def document(text: str, script: Script = "en", doc_id: str = "test") -> Document:
    return Document(meta=DocumentMeta(doc_id=doc_id, title=doc_id), source=f"{doc_id}.txt",
                    text=text, script=script)


def fixture_doc(fixtures_dir: Path, script: Script) -> Document:
    return load_document(fixtures_dir / f"{script.lower()}.txt", META)


def line_number(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def assert_exact_spans(doc: Document, chunks: list[Chunk]) -> None:
    for chunk in chunks:
        where = f"{doc.doc_id} chunk {chunk.ordinal}"
        assert 0 <= chunk.char_start < chunk.char_end <= len(doc.text), where
        assert doc.text[chunk.char_start:chunk.char_end] == chunk.text, where
        assert chunk.line_start == line_number(doc.text, chunk.char_start), where
        assert chunk.line_end == line_number(doc.text, chunk.char_end - 1), where
        for start, end in chunk.sentences:
            assert chunk.char_start <= start < end <= chunk.char_end, where


# ---- exact spans ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> dict[str, tuple[Document, list[Chunk]]]:
    """Every corpus document with its chunks, chunked once for this module."""
    loaded = {}
    for source in read_manifest(corpus_dir / "manifest.toml"):
        doc = load_document(source.path, source.meta)
        loaded[doc.doc_id] = (doc, chunk_document(doc))
    return loaded


def test_every_corpus_chunk_is_an_exact_span_with_its_line_numbers(
        corpus: dict[str, tuple[Document, list[Chunk]]]) -> None:
    assert len(corpus) == 5
    for doc, chunks in corpus.values():
        assert len(chunks) > 50, doc.doc_id
        assert [c.ordinal for c in chunks] == list(range(len(chunks)))
        assert_exact_spans(doc, chunks)


def test_corpus_chunks_follow_each_other_through_the_document(
        corpus: dict[str, tuple[Document, list[Chunk]]]) -> None:
    for doc, chunks in corpus.values():
        starts = [c.char_start for c in chunks]
        assert starts == sorted(starts), doc.doc_id


@pytest.mark.parametrize("script", SCRIPTS)
def test_fixture_chunks_are_exact_spans(fixtures_dir: Path, script: Script) -> None:
    doc = fixture_doc(fixtures_dir, script)
    for chunk_settings in (ChunkSettings(), SMALL):
        chunks = chunk_document(doc, chunk_settings)
        assert chunks
        assert_exact_spans(doc, chunks)
        assert {c.script for c in chunks} == {script}


# Lines like those PDF extraction gives: CJK and Latin prose, figures, table rows with
# tabs or spaces, page markers, Markdown headings, bullets, blank lines and odd characters.
_CJK = "商湯集團人工智能收入毛利年度業務风险汽车日新绝影營業研發"
_PUNCT = "。，、；：？！「」（）《》—….,;:!?()-%'\""
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                min_size=1, max_size=10)
_FIGURE = st.one_of(st.integers(0, 10**7).map(lambda n: f"{n:,}"),
                    st.integers(0, 9999).map(lambda n: f"({n:,})"),
                    st.floats(0, 100, allow_nan=False).map(lambda f: f"{f:.1f}%"))
_CJK_RUN = st.text(alphabet=_CJK + _PUNCT + "0123456789", min_size=1, max_size=60)
_LINE = st.one_of(
    _CJK_RUN,
    st.lists(st.one_of(_WORD, _FIGURE, st.sampled_from(list(_PUNCT))), min_size=1,
             max_size=15).map(" ".join),
    st.tuples(st.one_of(_WORD, _CJK_RUN), st.lists(_FIGURE, min_size=1, max_size=4),
              st.sampled_from([" ", "\t"])).map(lambda t: t[2].join([t[0], *t[1]])),
    st.integers(1, 400).map(lambda n: f"— {n} —"),
    st.tuples(st.sampled_from(["#", "##", "###", "####"]), st.one_of(_WORD, _CJK_RUN))
    .map(" ".join),
    st.one_of(_WORD, _CJK_RUN).map(lambda t: f"• {t}"),
    st.sampled_from(["", "", "  ", "\t"]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
)
_DOCUMENT = st.lists(_LINE, max_size=60).map("\n".join)
_SETTINGS = st.sampled_from([ChunkSettings(), SMALL,
                             ChunkSettings(target=8, maximum=12, minimum=2, overlap_max=6)])


@settings(max_examples=100, deadline=None)
@given(text=_DOCUMENT, chunk_settings=_SETTINGS, script=st.sampled_from(SCRIPTS))
def test_chunking_any_text_gives_exact_spans(text: str, chunk_settings: ChunkSettings,
                                             script: Script) -> None:
    doc = document(text, script)
    chunks = chunk_document(doc, chunk_settings)
    assert_exact_spans(doc, chunks)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


@settings(max_examples=100, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_chunking_arbitrary_characters_never_raises(text: str) -> None:
    doc = document(text)
    assert_exact_spans(doc, chunk_document(doc, SMALL))


# ---- page furniture and wraps --------------------------------------------------------

@pytest.mark.parametrize("script", SCRIPTS)
def test_clean_text_drops_page_furniture_but_the_chunk_keeps_its_page(
        fixtures_dir: Path, script: Script) -> None:
    doc = fixture_doc(fixtures_dir, script)
    chunks = chunk_document(doc)
    for chunk in chunks:
        for marker in ("— 12 —", "— 13 —", "— 14 —", "— 15 —", RUNNING_HEADER[script]):
            assert marker not in chunk.clean
        assert chunk.page in (12, 13, 14, 15)
    across = next(c for c in chunks if ACROSS_PAGES[script] in c.clean)
    assert "— 12 —" in across.text and RUNNING_HEADER[script] in across.text
    assert across.page == 12
    table = next(c for c in chunks if c.kind == "table")
    assert table.page == 14


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_sentence_across_a_page_break_stays_one_sentence(fixtures_dir: Path,
                                                           script: Script) -> None:
    doc = fixture_doc(fixtures_dir, script)
    marker = doc.text.index("— 12 —")
    spans = [span for chunk in chunk_document(doc, SMALL) for span in chunk.sentences]
    assert any(start < marker < end for start, end in spans)


@pytest.mark.parametrize("script, joined", [
    ("zh-Hant", "令規模化的人工智能應用得以落地。"),
    ("zh-Hans", "令规模化的人工智能应用得以落地。"),
    ("en", "Mr. Xu Li, our co-founder, leads the international expansion of our "
           "state-Owned enterprise partnerships programme."),
])
def test_clean_text_repairs_hard_wraps(fixtures_dir: Path, script: Script, joined: str) -> None:
    chunks = chunk_document(fixture_doc(fixtures_dir, script))
    assert any(joined in c.clean for c in chunks)
    for chunk in chunks:
        if chunk.kind == "text":  # its heading, then running text without hard wraps
            heading, body = chunk.clean.split("\n", 1)
            assert heading == chunk.section[-1]
            assert "\n" not in body


SECTIONS: dict[Script, list[str]] = {
    "zh-Hant": ["人工智能基礎設施", "財務概要", "財務概要", "風險因素"],
    "zh-Hans": ["人工智能基础设施", "财务概要", "财务概要", "风险因素"],
    "en": ["AI Infrastructure", "Financial Summary", "Financial Summary", "Risk Factors"],
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_chunks_carry_the_heading_they_sit_under(fixtures_dir: Path, script: Script) -> None:
    chunks = chunk_document(fixture_doc(fixtures_dir, script))
    assert [c.section[-1] for c in chunks] == SECTIONS[script]
    assert [c.kind for c in chunks] == ["text", "text", "table", "text"]


# ---- tables --------------------------------------------------------------------------

def test_the_annual_results_revenue_row_carries_its_year_header(
        corpus: dict[str, tuple[Document, list[Chunk]]]) -> None:
    _, chunks = corpus["sensetime-results-2023-zh-hant"]
    with_revenue = [c for c in chunks if "收入 3,405,842" in c.text]
    assert len(with_revenue) >= 2
    for chunk in with_revenue:
        assert chunk.kind == "table"
        assert "2023年 2022年" in chunk.text or "2023年 2022年" in chunk.context
        assert matching_form("2023年 2022年") in chunk.matching


LONG_TABLE: dict[Script, tuple[str, list[str], str]] = {
    # intro sentence, header cells, row label
    "zh-Hant": ("下表載列各產品線的收入。", ["產品線", "2023年", "2022年", "2021年"],
                "第{i:02d}號智慧城市產品線收入"),
    "zh-Hans": ("下表载列各产品线的收入。", ["产品线", "2023年", "2022年", "2021年"],
                "第{i:02d}号智慧城市产品线收入"),
    "en": ("The table below sets out revenue by product line.",
           ["Product line", "FY2023", "FY2022", "FY2021"], "Smart city product line {i:02d}"),
}


def long_table(script: Script, separator: str, rows: int = 40) -> tuple[str, str, list[str]]:
    """A document with one long table: its text, its header line and its rows."""
    intro, cells, label = LONG_TABLE[script]
    header = separator.join(cells)
    lines = [separator.join([label.format(i=i), f"{1000 * i + 7:,}", f"{900 * i + 3:,}",
                             f"{800 * i + 1:,}"]) for i in range(1, rows + 1)]
    return f"{intro}\n\n{header}\n" + "\n".join(lines) + f"\n\n{intro}\n", header, lines


@pytest.mark.parametrize("separator", [" ", "\t"], ids=["spaces", "tabs"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_long_table_repeats_its_header_on_every_chunk(script: Script, separator: str) -> None:
    text, header, rows = long_table(script, separator)
    shown = header.replace("\t", " | ")
    chunks = [c for c in chunk_document(document(text, script)) if c.kind == "table"]
    assert len(chunks) >= 2
    assert header in chunks[0].text
    for chunk in chunks[1:]:
        assert chunk.context == shown
        assert header not in chunk.text
    for chunk in chunks:
        assert matching_form(shown) in chunk.matching
        assert LONG_TABLE[script][0] not in chunk.clean
    kept = [line for c in chunks for line in c.clean.split("\n") if line != shown]
    assert kept == [row.replace("\t", " | ") for row in rows]  # each row once, in order, whole


# ---- sentences -----------------------------------------------------------------------

def test_split_sentences_cuts_chinese_at_full_stops_and_semicolons() -> None:
    text = "收入下降。毛利增加！為何？因為需求放緩；其餘不變"
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "收入下降。", "毛利增加！", "為何？", "因為需求放緩；", "其餘不變"]


def test_split_sentences_keeps_closing_quotes_with_their_sentence() -> None:
    text = "他說：「我們會繼續投入。」然後離開了。"
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "他說：「我們會繼續投入。」", "然後離開了。"]


@pytest.mark.parametrize("sentence", [
    "Mr. Xu Li co-founded SenseTime in 2014.",
    "We serve many sectors, e.g. Finance and Retail.",
    "SenseTime ranks No. 5 among AI patent holders.",
    "Revenue was 3.5 million dollars.",
    "SenseTime Group Inc. is listed in Hong Kong.",
    "Dr. Wang joined the company in Jan. 2020.",
    "It is listed in the U.S. and elsewhere.",
])
def test_split_sentences_does_not_cut_after_an_abbreviation(sentence: str) -> None:
    text = f"{sentence} The next sentence follows."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        sentence, "The next sentence follows."]


@pytest.mark.parametrize("text, sentences", [
    ("Revenue fell. Profit rose.", ["Revenue fell.", "Profit rose."]),
    ("It grew 3.5%. The margin widened!", ["It grew 3.5%.", "The margin widened!"]),
    ("We thank Mr. Xu. He founded it.", ["We thank Mr. Xu.", "He founded it."]),
    ("Why? Because demand slowed.", ["Why?", "Because demand slowed."]),
    ("First line\nsecond line", ["First line", "second line"]),
])
def test_split_sentences_cuts_english_at_sentence_ends(text: str, sentences: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text)] == sentences


SENTENCES: dict[Script, list[str]] = {
    "zh-Hant": [f"第{i}項業務的收入於本年度錄得穩定增長，主要受惠於新客戶的增加。"
                for i in range(30)],
    "zh-Hans": [f"第{i}项业务的收入于本年度录得稳定增长，主要受惠于新客户的增加。"
                for i in range(30)],
    "en": [f"Business line {i} grew steadily this year, mainly thanks to new customers."
           for i in range(30)],
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_chunks_never_cut_a_sentence_that_fits(script: Script) -> None:
    joiner = "" if script != "en" else " "
    paragraphs = [joiner.join(SENTENCES[script][i:i + 3]) for i in range(0, 30, 3)]
    doc = document("\n\n".join(paragraphs) + "\n", script)
    chunks = chunk_document(doc, SMALL)
    assert len(chunks) > 5
    for chunk in chunks:
        for start, end in chunk.sentences:
            assert doc.text[start:end] in SENTENCES[script]
    for sentence in SENTENCES[script]:
        assert any(sentence in c.clean for c in chunks)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_sentence_longer_than_the_maximum_is_cut_at_commas(script: Script) -> None:
    clause = {"zh-Hant": "本集團持續投入研發以擴大業務規模",
              "zh-Hans": "本集团持续投入研发以扩大业务规模",
              "en": "the group kept investing in research to grow"}[script]
    comma = "，" if script != "en" else ", "
    sentence = comma.join([clause] * 12) + ("。" if script != "en" else ".")
    doc = document(sentence + "\n", script)
    chunks = chunk_document(doc, SMALL)
    pieces = [doc.text[a:b] for c in chunks for a, b in c.sentences]
    assert len(pieces) > 1
    assert all(text_size(p) <= SMALL.maximum for p in pieces)
    assert all(p.rstrip().endswith(comma.strip()) for p in pieces[:-1])
    assert "".join(pieces).replace(" ", "") == sentence.replace(" ", "")


# ---- chunk ids -----------------------------------------------------------------------

@pytest.mark.parametrize("script", SCRIPTS)
def test_chunk_ids_are_stable_across_runs(fixtures_dir: Path, script: Script) -> None:
    first = [c.chunk_id for c in chunk_document(fixture_doc(fixtures_dir, script))]
    second = [c.chunk_id for c in chunk_document(fixture_doc(fixtures_dir, script))]
    assert first == second


def test_chunk_ids_are_unique_within_every_corpus_document(
        corpus: dict[str, tuple[Document, list[Chunk]]]) -> None:
    for doc, chunks in corpus.values():
        ids = [c.chunk_id for c in chunks]
        assert len(set(ids)) == len(ids), doc.doc_id


def test_repeated_passages_get_different_ids() -> None:
    paragraph = "本集團的收入保持穩定。"
    text = "\n\n# 第一節\n\n" + paragraph + "\n\n# 第二節\n\n" + paragraph + "\n"
    chunks = chunk_document(document(text, "zh-Hant"))
    assert len(chunks) == 2
    assert chunks[0].chunk_id != chunks[1].chunk_id


def test_chunk_ids_depend_on_the_document() -> None:
    text = "SenseTime is an AI software company.\n"
    one = chunk_document(document(text, doc_id="one"))
    two = chunk_document(document(text, doc_id="two"))
    assert one[0].chunk_id != two[0].chunk_id


EDITS: dict[Script, tuple[str, str, str]] = {
    # (paragraph, edit, phrase only in the edited chunk)
    "zh-Hant": ("我們的業務受宏觀經濟環境", "我們的業務及財務狀況均受宏觀經濟環境", "風險因素"),
    "zh-Hans": ("我们的业务受宏观经济环境", "我们的业务及财务状况均受宏观经济环境", "风险因素"),
    "en": ("Our business is affected", "Our business and financial position are affected",
           "Risk Factors"),
}
FIRST_EDITS: dict[Script, tuple[str, str]] = {
    "zh-Hant": ("超過22,000個商業", "超過二萬二千個商業"),
    "zh-Hans": ("超过22,000个商业", "超过二万二千个商业"),
    "en": ("more than 22,000 commercialised", "over twenty-two thousand commercialised"),
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_editing_one_paragraph_changes_only_its_own_chunk_ids(fixtures_dir: Path,
                                                              script: Script) -> None:
    doc = fixture_doc(fixtures_dir, script)
    before = chunk_document(doc)
    for old, new in (EDITS[script][:2], FIRST_EDITS[script]):
        assert old in doc.text and len(new) != len(old)
        edited = Document(meta=doc.meta, source=doc.source, text=doc.text.replace(old, new),
                          script=doc.script)
        after = chunk_document(edited)
        assert len(after) == len(before)
        changed = [i for i, (b, a) in enumerate(zip(before, after, strict=True))
                   if b.chunk_id != a.chunk_id]
        assert changed == [next(i for i, c in enumerate(after) if new in c.clean)]


def test_a_second_column_header_inside_a_table_starts_a_sub_table_with_its_own_columns() -> None:
    # The English ESG edition's HR table: a headcount block, then a training block whose
    # header line (longer than a caption sentence, its note marks no digits) names new
    # columns; a row of the second block is under those, not the first block's.
    text = ("Indicators\n\n2023\n\n"
            "Employee number and turnover rate\t\tNumber ²\tTurnover rate ²\n"
            "By gender\tMale\t3,367\t10.8%\n"
            "\tFemale\t1,164\t11.8%\n"
            "Talent training\t\tPercentage of trained employees ³\t"
            "Average training hours per employee ⁴\n"
            "By gender\tMale\t75.0%\t12.8\n"
            "\tFemale\t25.0%\t12.3\n")
    rows = [u.row for c in chunk_document(document(text)) for u in c.units if u.row]
    by_cell = {(r.label, r.cells[0].text): r for r in rows}
    headcount, training = by_cell[("By gender Female", "1,164")], by_cell[
        ("By gender Female", "25.0%")]
    assert [c.column for c in headcount.cells] == ["Number", "Turnover rate"]
    assert [c.column for c in training.cells] == ["Percentage of trained employees",
                                                  "Average training hours per employee"]
    assert training.group == "" and all(c.year == 2023 for c in training.cells)


def test_a_slash_in_a_tabbed_row_is_an_empty_column_and_a_breakdown_is_kept_apart() -> None:
    text = ("Indicators\n\n2023\n\n"
            "Talent training\t\tPercentage of trained employees\tAverage training hours\n"
            "Average training hours per employee\t\t/\t12.6\n"
            "By gender\tMale\t75.0%\t12.8\n"
            "\tFemale\t25.0%\t12.3\n")
    rows = {u.row.label: u.row for c in chunk_document(document(text)) for u in c.units if u.row}
    average = rows["Average training hours per employee"]
    assert [(c.text, c.column) for c in average.cells] == [
        ("/", "Percentage of trained employees"), ("12.6", "Average training hours")]
    assert average.dimension == ""
    assert rows["By gender Male"].dimension == rows["By gender Female"].dimension == "By gender"
