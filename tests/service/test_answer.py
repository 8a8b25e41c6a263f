"""Answers: the question read once, figures bound to their words, replies composed in the
asker's language with every figure cited, and abstentions that say what is missing."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from index.normalise import matching_form
from service import compose
from service.binding import pick_date, pick_figure
from service.config import Settings
from service.engine import Engine
from service.query import Period, answer_type, periods_in

# ---- fast: what a question asks for -------------------------------------------------------


@pytest.mark.parametrize(("question", "kind"), [
    ("商湯2023年全年的能源消耗總量是多少兆瓦時？", "number"),
    ("商汤2023年的研发开支总额是多少人民币千元？", "amount"),
    ("What was SenseTime's total revenue in 2023?", "amount"),
    ("How many GPUs was SenseTime operating by the end of 2023?", "number"),
    ("商湯30歲以下員工在2023年的流失率是多少？", "percentage"),
    ("What gross margin did SenseTime report for 2023?", "percentage"),
    ("董事會是在哪一天批准設立可持續發展委員會的？", "date"),
    ("When was InternLM2 officially released?", "date"),
    ("商汤计划在哪一年力争实现运营碳中和？", "year"),
    ("誰擔任商湯人工智能倫理委員會的外部顧問？", "person"),
    ("Who currently holds both the chairman and CEO roles?", "person"),
    ("Who are the members of the audit committee?", "list"),
    ("Which firm is SenseTime's independent auditor?", "organisation"),
    ("报告中员工流失比率是按什么公式计算的？", "definition"),
    ("報告期內商湯有沒有出現僱傭童工或強制勞工的情況？", "yesno"),
    ("Did SenseTime recall any products for health and safety reasons in 2023?", "yesno"),
    ("智譜董事會轄下設有哪幾個專門委員會？", "list"),
    ("商湯2019年的員工人數", "number"),
])
def test_the_kind_of_answer_is_read_in_every_script(question: str, kind: str) -> None:
    assert answer_type(matching_form(question)) == kind


@pytest.mark.parametrize(("question", "periods"), [
    ("智譜2025年末員工總數是多少？", (Period(2025, "end"),)),
    ("How many employees did Zhipu have at the end of 2025?", (Period(2025, "end"),)),
    ("What was revenue in the first half of 2021?", (Period(2021, "H1"),)),
    ("商湯2022年和2023年的收入", (Period(2022), Period(2023))),
    ("What is FY2023 revenue?", (Period(2023),)),
    ("How many patents does SenseTime hold?", ()),
])
def test_the_periods_a_question_names(question: str, periods: tuple[Period, ...]) -> None:
    assert periods_in(matching_form(question)) == periods


@pytest.mark.parametrize(("value", "unit", "script", "shown"), [
    ("3,405,842", "人民幣千元", "en", "RMB 3,405,842 thousand"),
    ("3,405,842", "人民幣千元", "zh-Hans", "人民币3,405,842千元"),
    ("937", "人", "en", "937 people"),
    ("937", "人", "zh-Hant", "937人"),
    ("130,242.2", "MWh", "en", "130,242.2 MWh"),
    ("28.64%", "%", "en", "28.64%"),
    ("4", "項", "en", "4"),  # a classifier: the English subject names what is counted
    ("3", "兆焦", "en", "3 兆焦"),  # a unit with no English form stays as written
])
def test_a_figure_reads_with_its_unit_in_the_askers_language(value: str, unit: str,
                                                            script: str, shown: str) -> None:
    assert compose.value_text(value, unit, script) == shown  # type: ignore[arg-type]


def test_a_reply_states_only_figures_its_quotes_hold() -> None:
    assert compose.verified("SenseTime's revenue in 2023: RMB 3,405,842 thousand [1][2]",
                            ["2023年 2022年", "收入 3,405,842 3,808,510"])
    assert not compose.verified("Revenue: RMB 9,999 thousand [1]", ["收入 3,405,842"])
    assert compose.verified("智譜員工總數：937人 [1]", ["員工總數⁶ 937人"])


@pytest.mark.parametrize(("years", "shown"), [((2021, 2022, 2023), "2021–2023"),
                                              ((2018, 2020), "2018, 2020"), ((2023,), "2023")])
def test_reported_years_read_as_a_range(years: tuple[int, ...], shown: str) -> None:
    assert compose.years_range(years) == shown


# ---- with the real corpus: figures bound to their words -------------------------------------

@pytest.fixture(scope="module")
def engine(full_corpus_settings: Settings) -> Engine:
    return Engine.start(full_corpus_settings)


@pytest.mark.parametrize(("question", "sentence", "value"), [
    ("How many independent directors sat on SenseTime's board?",
     "截至報告期末，本集團董事會人數為7人，其中包含女性董事1位，獨立董事3位。", "3位"),
    ("2023年12月商湯的助學捐贈金額是多少？",
     "攜手商湯員工共計為青海省西寧市湟源縣高級中學的64位同學提供38.4萬元的資助。", "38.4萬元"),
    ("What were SenseTime's total borrowings at the end of 2023?",
     "我們的借款總額由2022年的人民幣3,228.6百萬元增加至2023年的人民幣4,473.1百萬元。",
     "4,473.1百萬元"),
    ("2023年底商湯的資本負債比率是多少？",
     "於2023年12月31日，我們的資本負債比率為 -14.8%，代表淨現金狀況。", "-14.8%"),
])
def test_a_sentences_figure_is_the_one_its_clause_ties_to_the_asked_words(
        engine: Engine, question: str, sentence: str, value: str) -> None:
    picked = pick_figure(sentence, engine.read(question))
    assert picked is not None and picked.value == value


def test_a_year_is_the_one_its_clause_ties_to_the_asked_event(engine: Engine) -> None:
    sentence = "2025 年計劃實現碳達峰，2030 年力爭實現運營碳中和，2050 年實現淨零排放"
    picked = pick_date(sentence, engine.read("商汤计划在哪一年力争实现运营碳中和？"))
    assert picked is not None and picked.value.startswith("2030")


# ---- with the real corpus: what a new user sees ---------------------------------------------

def test_a_figure_question_gets_a_short_reply_in_the_askers_language(engine: Engine) -> None:
    answer = engine.ask("智譜2025年末員工總數是多少？")
    assert answer.answerable and "937" in answer.answer
    assert answer.answer.startswith("智譜") and answer.answer.endswith("]")
    assert compose.verified(answer.answer, [c.display for c in answer.citations])
    assert not re.search(r"<sup>|\*\*", answer.answer)


def test_an_english_reply_over_a_chinese_table_names_the_asked_thing_in_english(
        engine: Engine) -> None:
    # the row is Chinese (折舊及攤銷): the reply's subject is the question's phrase, whole,
    # not its heaviest single word ("charge")
    answer = engine.ask("How much depreciation and amortisation did SenseTime charge in 2023, "
                        "in RMB million?")
    assert answer.answer.startswith("SenseTime's depreciation and amortisation in 2023: RMB ")


def test_every_citation_quotes_its_document_exactly(engine: Engine) -> None:
    for question in ("商湯2023年全年的能源消耗總量是多少兆瓦時？", "智譜的註冊地址在哪裡？"):
        answer = engine.ask(question)
        documents = engine.index.store.documents
        for c in answer.citations:
            assert c.quote == documents[c.doc_id].text[c.char_start:c.char_end]
            assert "<sup>" not in c.display and "**" not in c.display


@pytest.mark.parametrize(("question", "named"), [
    ("Who is the CEO of Apple?", "Apple"),
    ("How many employees did Huadong Battery have?", "Huadong Battery"),
    ("華東電池有多少名員工？", "華東電池"),
    ("What was Tencent's revenue in 2023?", "Tencent"),  # the possessive is no part of it
    ("MiniMax 2025年的温室气体排放总量是多少？", "MiniMax"),  # a Latin name opening Chinese
])
def test_a_name_no_document_covers_is_an_abstention_that_names_it(
        engine: Engine, question: str, named: str) -> None:
    answer = engine.ask(question)
    assert not answer.answerable and answer.citations == []
    assert named in answer.answer and answer.missing == named


@pytest.mark.parametrize("question", [
    "Which firm is SenseTime's independent auditor according to the FY2023 results "
    "announcement?",  # FY2023 is a period, no name
    "Since which year has SenseTime been Honda's strategic partner?",  # 本田, a dictionary name
    "On what date was Beijing SenseTime added to the US Commerce Department's Entity List?",
])
def test_a_name_the_documents_hold_in_translation_is_no_unknown_name(engine: Engine,
                                                                     question: str) -> None:
    assert engine.read(question).names == ()


def test_a_company_whose_documents_the_caller_may_not_read_is_not_covered(
        engine: Engine) -> None:
    from service.access import Filters

    public = Filters(doc_ids=frozenset({"sensetime-esg-2023-zh-hant"}))
    answer = engine.ask("智譜2025年末員工總數是多少？", filters=public)
    assert not answer.answerable and "智譜" in answer.answer


def test_a_year_the_documents_do_not_report_is_said_to_be_missing(engine: Engine) -> None:
    answer = engine.ask("商湯2011年的收入是多少？")
    assert not answer.answerable and answer.missing == "2011"
    assert "2011" in answer.answer and "2023" in answer.answer  # what is reported instead


def test_a_figure_missing_for_a_year_that_is_reported_names_both(engine: Engine) -> None:
    # The prospectus reports 2019, but no employee count for it: not the 2023 row.
    answer = engine.ask("商湯2019年的員工人數是多少？")
    assert not answer.answerable and not answer.citations
    assert "2019" in answer.answer and "員工" in answer.answer
    assert answer.missing.startswith("2019")


def test_a_follow_up_asks_the_previous_question_for_the_new_period(engine: Engine) -> None:
    first = "商湯2023年全年的能源消耗總量是多少兆瓦時？"
    follow = engine.ask("那2022年呢？", [first])
    assert follow.inherited == ("subject", "company")
    assert follow.answerable and "54,265.7" in follow.answer
    assert "130,242.2" not in follow.answer


def test_the_model_is_what_the_engine_serves(engine: Engine) -> None:
    answer = engine.ask("智譜2025年末員工總數是多少？")
    never = replace(engine, model=replace(engine.model, threshold=1.01))
    assert not never.ask("智譜2025年末員工總數是多少？").answerable
    assert answer.confidence >= engine.model.threshold


def test_a_sentence_is_quoted_from_the_edition_in_the_askers_language(engine: Engine) -> None:
    # The English edition's sentence ranks first; its translation in the Chinese edition,
    # closest in meaning (and mutually so), is what a Chinese reader gets.
    answer = engine.ask("商汤希望打造的AI产品需符合哪三项伦理原则？")
    assert answer.answerable and compose.has_cjk(answer.answer.split("]")[-1])
    assert answer.citations[0].doc_id == "sensetime-esg-2023-zh-hant"


@pytest.mark.parametrize(("chinese", "english"), [
    ("2024 年 1 月 17 日", "January 17, 2024"),
    ("2023年7月13日", "13 July 2023"),
    ("2022 年 12 月", "December 2022"),
])
def test_a_date_is_one_value_in_either_edition(chinese: str, english: str) -> None:
    from service.dates import date_key

    assert date_key(chinese) == date_key(english) != ""
    assert date_key("3,405.8") == ""


def test_an_english_date_question_on_the_esg_report_cites_the_english_edition(
        engine: Engine) -> None:
    answer = engine.ask("When was InternLM2 officially released?")
    assert answer.citations and answer.citations[0].doc_id == "sensetime-esg-2023-en"
    assert "年" not in answer.answer
