"""Fit: which figure of a sentence answers a number question, row labels, answer signs."""

from __future__ import annotations

import pytest

from index.keyword import stem
from index.normalise import matching_form
from service.fit import (
    NOT_PERCENT,
    candidate_fit,
    figures,
    intent_fit,
    label_share,
    subject,
)
from service.question import Asked, Concept, detect_intent
from service.retrieve import Retriever


def asked(question: str, words: dict[str, float]) -> Asked:
    """A question as read_question() gives it, with hand-weighted content words."""
    concepts = [Concept(stem(w) if w.isascii() else matching_form(w), weight)
                for w, weight in words.items()]
    return Asked(matching_form(question), detect_intent(question), concepts)


def sentence_fit(question: Asked, text: str, title: str = "") -> float:
    about = subject(question, matching_form(title))
    return candidate_fit(question, matching_form(text), table=False, about=about)


TOTAL_REVENUE = {
    "zh-Hant": ("商湯2023年的總收入是多少？",
                {"商湯": 1.25, "2023": 1.74, "年": 0.93, "收入": 2.48, "總收入": 4.27},
                "2023年集團總收入為人民幣3,405.8百萬元，同比下降10.6%。",
                "「絕影」智能汽車業務實現收入383.7百萬元人民幣，同比增長31.1%，"
                "佔集團總收入的比例由2022年的7.7%提升至2023年的11.3%。"),
    "zh-Hans": ("商汤2023年的总收入是多少？",
                {"商汤": 1.25, "2023": 1.74, "年": 0.93, "收入": 2.48, "总收入": 4.27},
                "2023年集团总收入为人民币3,405.8百万元，同比下降10.6%。",
                "「绝影」智能汽车业务实现收入383.7百万元人民币，同比增长31.1%，"
                "占集团总收入的比例由2022年的7.7%提升至2023年的11.3%。"),
    "en": ("What was SenseTime's total revenue in 2023?",
           {"sensetime": 0.28, "total": 2.5, "revenue": 4.5, "2023": 1.74},
           "Total revenue of the Group was RMB3,405.8 million in 2023, down 10.6% year on year.",
           "Smart auto revenue was RMB383.7 million, up 31.1%, accounting for 11.3% of total "
           "revenue in 2023."),
}


@pytest.mark.parametrize("script", list(TOTAL_REVENUE))
def test_a_figure_answers_for_the_words_of_its_own_clause_not_a_share_of_them(
        script: str) -> None:
    question, words, figure_of_noun, share = TOTAL_REVENUE[script]
    total_revenue = asked(question, words)
    assert sentence_fit(total_revenue, figure_of_noun, "商湯 SenseTime") == 1.0
    assert sentence_fit(total_revenue, share, "商湯 SenseTime") < 0.85


@pytest.mark.parametrize(("script", "share_question", "words", "share"), [
    ("zh-Hant", "「絕影」業務佔集團總收入的比例是多少？",
     {"絕影": 4.5, "業務": 1.5, "佔": 3.07, "集團": 1.68, "總收入": 4.27},
     "「絕影」業務佔集團總收入的11.3%。"),
    ("en", "What share of total revenue came from smart auto?",
     {"share": 3.0, "total": 2.5, "revenue": 4.5, "smart": 2.0, "auto": 3.0},
     "Smart auto accounted for 11.3% of total revenue.")])
def test_a_share_of_a_total_answers_only_a_question_about_the_share(
        script: str, share_question: str, words: dict[str, float], share: str) -> None:
    question, total_words, _, _ = TOTAL_REVENUE[script]
    assert sentence_fit(asked(share_question, words), share) == 1.0
    assert sentence_fit(asked(question, total_words), share) < 1.0


@pytest.mark.parametrize(("question", "words", "percent", "amount"), [
    ("2023年銷售成本按年增長了百分之幾？", {"2023": 1.74, "年": 0.93, "銷售": 2.61, "成本": 2.52},
     "我們的銷售成本由2022年的人民幣1,266.2百萬元增加50.5%至2023年的人民幣1,905.1百萬元。",
     "我們的銷售成本為人民幣1,905.1百萬元。"),
    ("By what percentage did cost of sales grow in 2023?",
     {"cost": 2.5, "sale": 2.6, "grow": 4.2, "2023": 1.74},
     "Cost of sales grew by 50.5% from RMB1,266.2 million to RMB1,905.1 million in 2023.",
     "Cost of sales was RMB1,905.1 million in 2023.")])
def test_a_percentage_question_wants_a_percentage(question: str, words: dict[str, float],
                                                  percent: str, amount: str) -> None:
    change = asked(question, words)
    assert sentence_fit(change, percent) == 1.0
    assert sentence_fit(change, amount) == NOT_PERCENT
    row = "銷售成本\t(1,905,055)\t(1,266,243)"
    assert candidate_fit(change, matching_form(row), table=True, about=[]) == NOT_PERCENT
    assert candidate_fit(change, matching_form("銷售成本增幅\t50.5%"), table=True,
                         about=[]) == 1.0


def test_a_clause_without_words_of_its_own_takes_them_from_the_clause_before() -> None:
    growth = asked("生成式AI收入按年增長了百分之幾？", {"生成式": 4.5, "ai": 0.5, "收入": 2.48})
    one = ("我們的生成式AI收入由2022年的人民幣394.7百萬元增長至2023年的人民幣1,183.7百萬元，"
           "增幅達到199.9%。")
    two = one.replace("，增幅", "。增幅")  # a new sentence: nothing is carried over
    assert sentence_fit(growth, one) > sentence_fit(growth, two) == NOT_PERCENT


@pytest.mark.parametrize(("text", "count"), [
    ("截至2021年6月30日，我們擁有5,286名僱員。", 1),
    ("截至2021年6月30日，我们拥有5,286名雇员。", 1),
    ("As at 31 December 2023, we had 5,286 employees.", 1),
    ("1. 2023年度，我們舉辦了12場培訓。", 1),
    ("A2.2\t總耗水量及密度", 0),
    ("Revenue was RMB3,405.8 million.", 1)])
def test_dates_years_codes_and_list_numbers_are_no_figures(text: str, count: int) -> None:
    assert len(figures(matching_form(text))) == count


def test_a_time_frame_and_the_documents_company_are_not_what_is_asked_about() -> None:
    question = asked("截至2023年末，商湯貿易應收款項的減值撥備是多少？",
                     {"截至": 1.67, "2023": 1.74, "年末": 4.5, "商湯": 1.25, "貿易": 3.48,
                      "應收": 3.68, "減值": 3.87, "撥備": 4.12})
    tokens = [c.token for c in subject(question, matching_form("商湯集團2023年度業績公告"))]
    assert tokens == ["贸易", "应收", "减值", "拨备"]
    english = asked("How many GPUs was SenseTime operating by the end of 2023?",
                    {"gpus": 4.5, "sensetime": 0.28, "operating": 3.22, "end": 1.84})
    assert [c.token for c in subject(english, "sensetime esg report")] == ["gpus", "operating"]


@pytest.mark.parametrize(("question", "asked_row", "other_row"), [
    ("商汤管理层员工2023年人均接受培训多少小时？",
     "按僱傭類型劃分\t管理層\t8.7%\t17.3", "非管理層\t91.3%\t12.2"),
    ("商汤2023年的EBITDA（亏损）是多少人民币千元？",
     "EBITDA (5,449,554) (5,570,235)", "經調整EBITDA (4,369,023) (4,213,444)"),
    ("What was the total revenue in 2023?", "Total revenue\t3,405,842", "Other income\t1,234")])
def test_a_row_label_the_question_names_without_extras_shares_more(
        question: str, asked_row: str, other_row: str) -> None:
    form = matching_form(question)
    assert label_share(form, asked_row) == 1.0
    assert label_share(form, other_row) < 1.0


def test_an_indicator_heading_is_no_sign_of_a_definition() -> None:
    formula = matching_form("總耗水密度 = 總耗水量 ÷ 總營業收入")
    indicator = matching_form("績效指標\t單位\t2025 年數值\n總耗水密度\t噸 / 萬元\t0.2766")
    assert intent_fit("definition", formula) == 1.0
    assert intent_fit("definition", indicator) < 1.0


def test_percent_words_say_what_kind_of_answer_is_wanted(tiny: Retriever) -> None:
    from service.question import read_question

    question = "2023年銷售成本按年增長了百分之幾？"
    tokens = [c.token for c in read_question(tiny, question, tiny.plan(question)).concepts]
    assert "成本" in tokens and not any("百分" in t for t in tokens)
