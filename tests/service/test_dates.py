"""Dates read to one key in either language, and written for an English reader."""

from __future__ import annotations

import pytest

from service.dates import date_key, in_english, with_date_keys
from service.metrics import answer_correct
from service.questions import Question


@pytest.mark.parametrize(("text", "key"), [
    ("本公司B類股份於2021年12月30日在聯交所主板上市", "2021-12-30"),
    ("listed on 30 December 2021", "2021-12-30"), ("on December 30, 2021", "2021-12-30"),
    ("2023 年 4 月發佈", "2023-04"), ("in April 2023", "2023-04"), ("the 2023 report", ""),
])
def test_a_date_reads_to_one_key_in_either_language(text: str, key: str) -> None:
    assert date_key(text) == key


def test_chinese_dates_are_written_in_english_for_an_english_reader() -> None:
    assert in_english("2021年12月30日") == "30 December 2021"
    assert in_english("2023 年 4 月") == "April 2023"
    assert in_english("2019 年") == "2019"
    assert in_english("第13月") == "第13月"  # no month, no date


def test_a_month_is_found_within_a_day_of_it() -> None:
    assert with_date_keys("2023年4月") in with_date_keys("於2023年4月10日")


def _question(answers: list[str]) -> Question:
    return Question(id="q", question="?", script="en", doc_ids=["d"], answers=answers,
                    evidence=[{"doc_id": "d", "text": answers[0]}], type="number")


def test_the_scorer_takes_a_date_or_a_bare_count_in_an_english_reply() -> None:
    assert answer_correct("Listed on 30 December 2021 [1]", _question(["2021年12月30日"]))
    assert answer_correct("Zhipu's standards in 2025: 4 [1]", _question(["4項"]))
    assert not answer_correct("Zhipu's standards in 2025: 45 [1]", _question(["4項"]))
    assert not answer_correct("Listed on 30 November 2021 [1]", _question(["2021年12月30日"]))
