"""What a figure must measure and which part of a year it is for: a count is never answered
by a share or a sum of money, a rate only by a rate, and a first half only by a first half
(and the whole year never by six months of it)."""

from __future__ import annotations

import pytest

from index.normalise import matching_form
from index.tables import read_header, read_row
from service.binding import period_marks, pick_figure, year_mentions, year_parts
from service.config import Settings
from service.engine import Engine
from service.evidence import figures, measure_fits, stated_measure
from service.query import answer_type, currency_of, measure_of

# ---- fast: read from the question and from the figure -------------------------------------


@pytest.mark.parametrize(("question", "measure", "unit"), [
    ("截至2023年底，商湯共有多少名全職員工？", "count", "名"),
    ("How many female full-time employees did SenseTime have at the end of 2023?", "count", ""),
    ("2025年智谱董事会开了几次会？", "count", "次"),
    ("截至2021年6月30日，商汤的专利资产中有多少项是已获授专利？", "count", "项"),
    ("2023年本公司權益持有人應佔的每股基本虧損是多少人民幣元？", "money", ""),
    ("How much share-based compensation expense did SenseTime recognise in 2023?", "money", ""),
    ("What share of SenseTime's 2023 revenue came from the traditional AI segment?",
     "percent", ""),
    ("2023年商汤的总耗水量是多少吨？", "quantity", "吨"),
    ("How much water did SenseTime use in 2023?", "", ""),  # "how much" alone: not money
    ("How many working days were lost to work injury?", "quantity", "days"),  # 68.5 天
    ("天津分公司的收入是多少？", "money", ""),  # 天 of a name is no unit
])
def test_the_measure_a_question_asks_for(question: str, measure: str, unit: str) -> None:
    form = matching_form(question)
    from service.query import _with_unit  # the answer type as the reader settles it
    assert measure_of(_with_unit(answer_type(form), form), form) == (measure, unit)


@pytest.mark.parametrize(("figure", "measure"), [
    ("25.0%", "percent"), ("937人", "count"), ("4,531 名", "count"), ("52 所", "count"),
    ("人民币3,405.8百万元", "money"), ("rmb 20,263 thousand", "money"),
    ("15.5181 千瓦时 / 万元", "quantity"),  # a rate measures its numerator
    ("1,881.2 吨", "quantity"), ("68.5 天", "quantity"), ("6,306.2", ""),
])
def test_the_measure_a_figure_states(figure: str, measure: str) -> None:
    assert stated_measure(matching_form(figure))[0] == measure


@pytest.mark.parametrize(("text", "found"), [
    ("報告期內，商湯共進行四次內部紅藍對抗攻防演習", ["四"]),
    ("共有二十三名董事及12項專利", ["二十三", "12"]),
    ("一家總部位於日本的汽車製造商", []),  # a lone 一 is an article, not a count
    ("第三次會議", []), ("截至6月30日止六個月", []),  # an ordinal, a span of months
])
def test_counts_in_chinese_numerals_are_figures(text: str, found: list[str]) -> None:
    assert [m.group() for m in figures(matching_form(text))] == found


def test_when_asks_a_date_only_where_it_opens_the_question() -> None:
    assert answer_type(matching_form("When did SenseTime list its shares?")) == "date"
    assert answer_type(matching_form(
        "Which certifications does Zhipu look for when it screens suppliers?")) != "date"


def test_a_sum_in_another_currency_does_not_answer() -> None:
    form = matching_form("How much of the IPO net proceeds (in HK$ million) remained unused?")
    assert currency_of(form) == "hkd"
    assert stated_measure(matching_form("人民幣1,083.6百萬元")) == ("money", "rmb")
    assert stated_measure(matching_form("港幣6,351.0百萬元")) == ("money", "hkd")


def test_a_standards_number_and_a_trailing_comma_are_no_figures() -> None:
    form = matching_form("In 2022, we obtained ISO 28000 certification, 2022, and 45,000 GPUs "
                         "(股份代號：0020（港幣櫃台）及80020)")
    assert [m.group() for m in figures(form)] == ["45000"]
    # a code library is no code: 「代碼庫…獲得超過38,000顆星標」 keeps its figure
    assert [m.group() for m in figures(matching_form("代碼庫在GitHub上獲得38,000顆星標"))] == [
        "38000"]


@pytest.mark.parametrize(("text", "marks"), [
    ("於2018年、2019年、2020年及2021年上半年，我們的毛利分別為", [(2018, ""), (2019, ""),
                                                        (2020, ""), (2021, "H1")]),
    ("截至2020年及2021年6月30日止六個月，我們的客戶從532名增長", [(2020, "H1"), (2021, "H1")]),
    ("截至2021年6月30日，我們已擁有8,123項專利", [(2021, "mid")]),
    ("for the six months ended 30 June 2020 and 2021", [(2020, "H1"), (2021, "H1")]),
    ("revenue in the first half of 2023 and in 2022", [(2023, "H1"), (2022, "")]),
])
def test_which_part_of_a_year_a_text_writes(text: str, marks: list[tuple[int, str]]) -> None:
    form = matching_form(text)
    assert [(m.year, m.part) for m in year_mentions(form)] == marks


def test_a_figure_written_for_a_first_half_is_marked_so() -> None:
    form = matching_form("於2019年、2020年及2021年上半年，毛利率分別為60.1%、70.5%及73.0%。")
    marks = period_marks(form, figures(form))
    assert [(m.year, m.part) if m else None for m in marks] == [
        (2019, ""), (2020, ""), (2021, "H1")]
    assert year_parts(form) == ((2021, "H1"),)


def test_a_table_that_counts_people_states_its_figures_in_people() -> None:
    header = read_header(["員工人數及流失情況\t\t員工結構\t員工流失率"])
    row = read_row("按地域劃分\t中國大陸\t4,240\t10.2%", 0, header, "")
    assert row is not None and row.unit == "人"
    assert stated_measure(matching_form(f"{row.cells[0].text} {row.unit}"))[0] == "count"
    assert stated_measure(matching_form(f"{row.cells[1].text} {row.unit}"))[0] == "percent"


def test_an_interim_tables_columns_are_first_halves() -> None:
    header = read_header(["截至6月30日止六個月", "2024年 2023年", "（人民幣千元）"])
    row = read_row("收入 1,740,000 1,190,000", 0, header, "")
    assert row is not None and all(c.half for c in row.cells)
    annual = read_header(["截至12月31日止年度", "2023年 2022年"])
    row = read_row("收入 3,405,842 3,808,510", 0, annual, "")
    assert row is not None and not any(c.half for c in row.cells)


# ---- with the real corpus -----------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(full_corpus_settings: Settings) -> Engine:
    return Engine.start(full_corpus_settings)


def test_a_count_is_not_answered_by_a_share(engine: Engine) -> None:
    query = engine.read("How many female full-time employees did SenseTime have?")
    assert not measure_fits(query, stated_measure("25.0%"))
    assert not measure_fits(query, stated_measure("人民币3,405.8百万元"))
    assert measure_fits(query, stated_measure("1,618 人"))
    answer = engine.ask("截至2023年底，商湯共有多少名全職員工？")
    assert answer.answerable and "4,531" in answer.answer and "%" not in answer.answer


def test_a_count_of_one_thing_is_not_answered_by_a_count_of_another(engine: Engine) -> None:
    query = engine.read("2025年智谱董事会开了几次会？")
    assert not measure_fits(query, stated_measure("10 件"))
    assert measure_fits(query, stated_measure("4 次"))


def test_an_intensity_is_answered_by_the_intensity_not_the_total(engine: Engine) -> None:
    answer = engine.ask("What was Zhipu's electricity consumption intensity in 2025, in kWh per "
                        "RMB 10,000 of revenue?")
    assert answer.answerable and "15.5181" in answer.answer


def test_the_whole_year_is_not_answered_by_its_first_half(engine: Engine) -> None:
    # The prospectus reports 2021's first half only; the 2023 results report whole years.
    for question in ("2021年全年商湯的毛利率是多少？", "商湯2023年上半年的收入是多少？"):
        answer = engine.ask(question)
        assert not answer.answerable, (question, answer.answer)
    assert "2023年上半年" in answer.answer  # the period it says is missing


def test_a_part_row_answers_only_a_question_naming_its_whole(engine: Engine) -> None:
    # 「－銷售開支 20,263」 is the depreciation charged to selling expenses, not them.
    answer = engine.ask("商湯2023年的銷售開支是多少？")
    assert answer.answerable and "20,263" not in answer.answer, answer.answer
    assert "818" in answer.answer


def test_a_figure_in_another_currency_is_not_the_answer(engine: Engine) -> None:
    query = engine.read("How much of the IPO net proceeds (in HK$ million) remained unused?")
    assert not measure_fits(query, stated_measure(matching_form("人民幣1,083.6百萬元")))
    assert measure_fits(query, stated_measure(matching_form("港幣6,351.0百萬元")))
    assert measure_fits(query, stated_measure(matching_form("6,351.0百萬元")))  # not said


@pytest.mark.parametrize(("question", "sentence", "value"), [
    # the count written before its noun: what "how many" asks for follows the figure
    ("How many joint research projects did the group run with universities?",
     "我們與52所高校密切合作，建立15個聯合實驗室，並開展257個聯合研究項目。", "257個"),
    # or the noun stands before the figure in its clause
    ("How many customers used the software platforms?",
     "我們軟件平台的客戶數量已超過2,400家，並賦能200多款手機應用程序，其中有5款每月活躍用戶超過1億。",
     "2,400家"),
])
def test_a_count_is_the_figure_counting_what_is_asked(engine: Engine, question: str,
                                                      sentence: str, value: str) -> None:
    picked = pick_figure(sentence, engine.read(question))
    assert picked is not None and picked.value == value


def test_a_note_number_before_amounts_is_no_figure_even_without_its_header() -> None:
    # the income statement's 附註 header stands pages earlier than its last rows
    bare = read_header(["2023年 2022年"])
    row = read_row("每股基本及攤薄虧損（人民幣元） 8 (0.20) (0.19)", 0, bare, "")
    assert row is not None and [c.text for c in row.cells] == ["(0.20)", "(0.19)"]
    counts = read_row("男性 5 12 14", 0, bare, "")  # bare counts keep their first figure
    assert counts is not None and [c.text for c in counts.cells] == ["5", "12", "14"]


def test_a_line_of_amounts_alone_is_the_total_of_what_the_caption_names() -> None:
    header = read_header(["2023年 2022年", "人民幣千元 人民幣千元"])
    row = read_row("8,261,995 9,889,758", 0, header, "", "本集團有下列未提取銀行信貸：")
    assert row is not None and row.label.startswith("本集團有下列未提取銀行信貸")
    assert row.label.endswith("合計") and [c.year for c in row.cells] == [2023, 2022]
    assert read_row("2021 2022 2023", 0, header, "") is None  # an axis, no amounts


def test_respectively_maps_figures_to_years_listed_together_only() -> None:
    # the 2022 figures of two items, not 2023's and 2022's
    form = matching_form("截至2023年12月31日，我們擁有現金人民幣9,423.5百萬元以及定期存款人民幣"
                         "1,099.9百萬元，而截至2022年12月31日的結餘分別為人民幣7,962.8百萬元及人民幣"
                         "6,306.2百萬元。")
    marks = period_marks(form, figures(form))
    years = [m.year if m else None for m in marks]
    assert years[2:] == [2022, 2022] and 2022 not in years[:2]
    listed = matching_form("2018年、2019年及2020年的虧損淨額分別為人民幣3.4億元、60.1億元及"
                           "121.6億元")
    assert [m.year if m else None for m in period_marks(listed, figures(listed))] == [
        2018, 2019, 2020]


@pytest.mark.parametrize(("question", "kind", "rate"), [
    ("What was SenseTime's basic and diluted loss per share for 2023, in RMB?", "amount", True),
    ("How many employees did SenseTime have as of June 30, 2021, per its listing document?",
     "number", False),
    ("What share of revenue came from generative AI in 2023?", "percentage", False),
])
def test_per_share_is_money_and_per_its_report_says_where(engine: Engine, question: str,
                                                          kind: str, rate: bool) -> None:
    query = engine.read(question)
    assert (query.answer_type, query.rate) == (kind, rate)


def test_an_opening_balance_is_the_year_before_s_closing_one(engine: Engine) -> None:
    # 「年初的現金及現金等價物 7,962.8」 in the 2023 column is the end of 2022
    answer = engine.ask("As of 31 December 2023, how much cash and cash equivalents did "
                        "SenseTime report?")
    assert "9,423" in answer.answer and "7,962" not in answer.answer


def test_an_item_is_answered_by_its_own_row_not_by_its_part_in_another(engine: Engine) -> None:
    # 「－研發開支 503,596」 is the share-based pay within R&D; 研發開支 (3,465,766) is R&D
    answer = engine.ask("How much did SenseTime book as research and development expenses in "
                        "FY2023 (RMB '000)?")
    assert "3,465,766" in answer.answer


def test_each_respectively_pairs_the_years_with_its_own_figures() -> None:
    form = matching_form("於2018年、2019年、2020年及2021年上半年，我們的毛利分別為"
                         "人民幣1,046.8百萬元、人民幣1,719.2百萬元、人民幣2,432.1百萬元及人民幣1,205.1百萬元，對應的毛利率"
                         "分別為56.5%、56.8%、70.6%及73.0%。")
    found = figures(form)
    marks = [(m.year, m.part) if m else None for m in period_marks(form, found)]
    by_figure = dict(zip([f.group() for f in found], marks, strict=True))
    assert by_figure["56.8"] == (2019, "") and by_figure["1719.2"] == (2019, "")
    assert by_figure["73.0"] == (2021, "H1")


def test_a_comparative_period_in_brackets_owns_its_figure() -> None:
    form = matching_form("於2023年12月31日，借款的加權平均實際利率為3.23%（2022年：3.36%）。")
    found = figures(form)
    marks = dict(zip([f.group() for f in found],
                     [m.year if m else None for m in period_marks(form, found)], strict=True))
    assert marks["3.36"] == 2022 and marks["3.23"] != 2022


def test_frame_verbs_are_no_concepts_and_r_and_d_is_one(engine: Engine) -> None:
    query = engine.read("How much did Zhipu spend on R&D in 2025?")
    tokens = {c.token for c in query.concepts}
    assert "spend" not in tokens
    assert any("研发" in form for c in query.concepts for form in c.forms)


def test_a_year_earlier_asks_for_the_year_before(engine: Engine) -> None:
    query = engine.read("What about a year earlier?", history=[
        "What was the weighted average effective interest rate on SenseTime's borrowings "
        "as at 31 December 2023?"])
    assert query.years == frozenset({2022})


@pytest.mark.parametrize(("question", "figure"), [
    # the net loss, not the adjusted (non-IFRS) net loss of the sentence before it
    ("What net loss did SenseTime post for 2020, in RMB million?", "12,158.3"),
    # the second 分別 of the sentence pairs the margins with the years
    ("What gross margin did SenseTime report for 2019 in its listing document?", "56.8%"),
])
def test_the_figure_of_the_asked_measure_and_year(engine: Engine, question: str,
                                                  figure: str) -> None:
    assert figure in engine.ask(question).answer


def test_a_hyphenated_descriptor_is_no_unknown_name(engine: Engine) -> None:
    query = engine.read("Which multimodal-LLM-based autonomous driving model did SenseTime "
                        "release in the second half of 2023?")
    assert not any("LLM" in name for name in query.names)
    assert engine.read("How many employees does Tencent-owned Huadong Battery have?").names


def test_prepositions_are_no_concepts_and_the_counted_noun_may_come_first(
        engine: Engine) -> None:
    query = engine.read("What was the turnover rate among SenseTime employees aged over 50 "
                        "in 2023?")
    assert not {"among", "during"} & {c.token for c in query.concepts}
    counted = engine.read("商湯參與制定的AI倫理相關標準中，國際標準有幾項？")
    assert counted.counted and all("标准" in t or "国际" in t for t in counted.counted)
    assert "13" in engine.ask("商湯參與制定的AI倫理相關標準中，國際標準有幾項？").answer


def test_a_rows_answer_is_the_figure_in_the_column_the_question_names(engine: Engine) -> None:
    # Two rows labelled 女性 in one table: the headcount block's (人數 | 流失率) and the
    # training block's (受訓員工百分比 | 人均培訓小時數); the turnover rate is the first's.
    answer = engine.ask("商汤2023年女性员工的流失率是多少？")
    assert answer.answerable and "11.8%" in answer.answer, answer.answer
    answer = engine.ask("What was the turnover rate of female employees at SenseTime in 2023?")
    assert answer.answerable and "11.8%" in answer.answer, answer.answer


def test_a_breakdown_row_answers_only_a_question_naming_its_part(engine: Engine) -> None:
    # 「按性別劃分的員工流失比率 | 男性員工流失比率 | 28.70」 is the men's rate; the whole
    # workforce's is its own row (員工總體流失比率 28.64).
    answer = engine.ask("智譜2025年整體員工流失率是多少？")
    assert answer.answerable and "28.64" in answer.answer, answer.answer


def test_a_year_whose_column_holds_a_slash_is_not_reported(engine: Engine) -> None:
    # 「因工傷損失工作日數 | 天 | 68.5 | / | /」: 2025's figure; 2024 and 2023 report nothing.
    answer = engine.ask("How many working days were lost to work injuries at Zhipu in 2024?")
    assert not answer.answerable, answer.answer
