"""Wrap repair and the matching form: derived texts that always map back to the original."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.normalise import Mapped, matching_form, matching_mapped, repair_wraps

PROPERTY = settings(max_examples=100, deadline=None)


def lines_of(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line of `text`, without its newline."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def repaired(text: str, breaks: frozenset[int] = frozenset()) -> str:
    return repair_wraps(text, lines_of(text), breaks).text


# ---- wrap repair ---------------------------------------------------------------------

@pytest.mark.parametrize("wrapped, joined", [
    ("我們專有的人工智能基礎設施使工業級人工智能模型\n生產成為可能。",
     "我們專有的人工智能基礎設施使工業級人工智能模型生產成為可能。"),
    ("我们专有的人工智能基础设施使工业级人工智能模型\n生产成为可能。",
     "我们专有的人工智能基础设施使工业级人工智能模型生产成为可能。"),
    ("截至2021年6月30日，我們已累計開發超過\n22,000個商業化人工智能模型。",
     "截至2021年6月30日，我們已累計開發超過22,000個商業化人工智能模型。"),
    ("我們推出了日日新大模型，\n並與絕影平台協同。", "我們推出了日日新大模型，並與絕影平台協同。"),
], ids=["zh-Hant", "zh-Hans", "digits-after-han", "after-punctuation"])
def test_repair_wraps_joins_chinese_lines_without_a_space(wrapped: str, joined: str) -> None:
    assert repaired(wrapped) == joined


def test_repair_wraps_joins_english_lines_with_one_space() -> None:
    text = ("Our proprietary AI infrastructure makes\n"
            "   industrial-scale AI model\nproduction possible.")
    assert repaired(text) == (
        "Our proprietary AI infrastructure makes industrial-scale AI model production possible.")


def test_repair_wraps_undoes_hyphenation_before_a_lower_case_word() -> None:
    assert repaired("leads the inter-\nnational expansion") == "leads the international expansion"


@pytest.mark.parametrize("wrapped, joined", [
    ("our state-\nOwned partners", "our state-Owned partners"),
    ("in the years 2022-\n2023 and after", "in the years 2022-2023 and after"),
    ("the GPT-3.5-\nturbo model", "the GPT-3.5-turbo model"),
])
def test_repair_wraps_keeps_a_real_hyphen_without_adding_a_space(wrapped: str,
                                                                 joined: str) -> None:
    assert repaired(wrapped) == joined


def test_repair_wraps_keeps_a_dash_between_words_spaced() -> None:
    assert repaired("revenue fell -\nsharply") == "revenue fell - sharply"


def test_repair_wraps_starts_a_new_paragraph_at_a_break() -> None:
    text = "第一段的最後一句。\n\n第二段開始。"
    spans = [span for span in lines_of(text) if span[1] > span[0]]
    assert repair_wraps(text, spans, frozenset({1})).text == "第一段的最後一句。\n第二段開始。"


def test_repair_wraps_skips_blank_lines_and_surrounding_spaces() -> None:
    assert repaired("  first line  \n\n   \nsecond line") == "first line second line"


# Lines that look like what PDF extraction gives: CJK, Latin, numbers, tabs, markers.
_CJK = "商湯集團人工智能收入毛利年度業務风险汽车日新绝影營業"
_PUNCT = "。，、；：？！「」（）—….,;:!?()-%'\" \t"
_LINE = st.one_of(
    st.text(alphabet=_CJK + _PUNCT + "0123456789", max_size=40),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFG0123456789 -.,", max_size=40),
    st.integers(1, 400).map(lambda n: f"— {n} —"),
    st.text(max_size=20),
)
_TEXT = st.one_of(st.lists(_LINE, max_size=20).map("\n".join), st.text(max_size=200))


@PROPERTY
@given(text=_TEXT, data=st.data())
def test_repaired_characters_map_back_to_identical_originals(text: str,
                                                             data: st.DataObject) -> None:
    spans = lines_of(text)
    breaks = frozenset(data.draw(st.sets(st.integers(0, len(spans)))))
    mapped = repair_wraps(text, spans, breaks)
    assert len(mapped.starts) == len(mapped.ends) == len(mapped.text)
    for i, ch in enumerate(mapped.text):
        if mapped.ends[i] == mapped.starts[i]:
            assert ch in " \n", f"only joiners may be inserted, got {ch!r} at {i}"
        else:
            assert mapped.ends[i] == mapped.starts[i] + 1
            assert text[mapped.starts[i]] == ch


# ---- the matching form ---------------------------------------------------------------

@PROPERTY
@given(text=_TEXT)
def test_matching_mapped_gives_the_same_text_as_matching_form(text: str) -> None:
    assert matching_mapped(Mapped.identity(text)).text == matching_form(text)


@PROPERTY
@given(text=_TEXT)
def test_matching_mapped_spans_stay_inside_the_original(text: str) -> None:
    mapped = matching_mapped(Mapped.identity(text))
    for start, end in zip(mapped.starts, mapped.ends, strict=True):
        assert 0 <= start <= end <= len(text)


@pytest.mark.parametrize("traditional, simplified", [
    ("商湯", "商汤"),
    ("日日新", "日日新"),
    ("絕影", "绝影"),
    ("營業收入", "营业收入"),
    ("商湯集團的營業收入為3,405,842千元。", "商汤集团的营业收入为3,405,842千元。"),
    ("商湯日日新大模型與絕影智能汽車平台", "商汤日日新大模型与绝影智能汽车平台"),
    ("研發人員佔員工總數的比例超過三分之二", "研发人员占员工总数的比例超过三分之二"),
    ("本公司權益持有人應佔虧損", "本公司权益持有人应占亏损"),
])
def test_simplified_and_traditional_forms_share_a_matching_form(traditional: str,
                                                                simplified: str) -> None:
    assert matching_form(traditional) == matching_form(simplified)


@pytest.mark.parametrize("written", ["３，４０５，８４２", "3,405,842", "3405842", "3,405,842 "])
def test_full_width_digits_and_thousands_separators_fold(written: str) -> None:
    assert matching_form(f"收入 {written}") == matching_form("收入 3405842") == "收入3405842"


def test_a_comma_between_figures_is_kept_when_it_is_not_a_thousands_separator() -> None:
    assert matching_form("1,2") == "1,2"
    assert matching_form("12,3456") == "12,3456"


@pytest.mark.parametrize("text, expected", [
    ("**SenseTime** ＡＩ  Platform", "sensetime ai platform"),
    ("## 應對氣候變化<sup>1</sup>", "应对气候变化"),
    ("商湯 集團 AI 平台", "商汤集团ai平台"),
])
def test_matching_form_folds_case_markup_and_spaces_between_chinese(text: str,
                                                                  expected: str) -> None:
    assert matching_form(text) == expected


def test_a_match_in_the_matching_form_maps_back_to_the_original_span() -> None:
    original = "營業收入為３，４０５，８４２千元"
    mapped = matching_mapped(Mapped.identity(original))
    found = mapped.text.index("3405842")
    start, end = mapped.original_span(found, found + len("3405842"))
    assert original[start:end] == "３，４０５，８４２"


def test_original_span_names_a_bad_span() -> None:
    with pytest.raises(ValueError, match="bad span 3:1"):
        Mapped.identity("abc").original_span(3, 1)
