"""English word pairs found as adjacent Chinese translations."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from service.phrases import phrase_share, question_phrases

TRANSLATIONS = {"selling": ["销售"], "expenses": ["开支", "费用"], "net": ["净"],
                "cash": ["现金"], "operating": ["经营"], "activities": ["活动"]}
SKIP = frozenset({"what", "were", "the", "in", "how", "much", "did"})


def phrases(question: str):  # type: ignore[no-untyped-def]
    return question_phrases(question, SKIP, lambda w: TRANSLATIONS.get(w, []), lambda t: 1.0)


def test_adjacent_content_words_become_phrases() -> None:
    found = [p.words for p in phrases("what were the selling expenses in 2023")]
    assert found == [("selling", "expenses")]


def test_a_phrase_is_found_only_where_its_translations_stand_together() -> None:
    (pair,) = phrases("selling expenses")
    assert phrase_share([pair], "销售开支(818731)") == 1.0
    assert phrase_share([pair], "销售费用") == 1.0
    assert phrase_share([pair], "销售成本及行政开支") == 0.0  # both words, but apart


def test_either_order_counts_since_chinese_may_turn_a_pair_round() -> None:
    pair = phrases("net cash operating activities")[0]
    assert pair.words == ("net", "cash")
    assert phrase_share([pair], "经营活动所用现金净额") == 1.0


def test_words_without_translations_make_no_phrase() -> None:
    assert phrases("quarterly widgets") == []
    assert phrase_share([], "anything") == 0.0


def test_the_share_is_weighted_by_the_phrases_found() -> None:
    found = phrases("net cash operating activities")
    assert [p.words for p in found] == [("net", "cash"), ("cash", "operating"),
                                        ("operating", "activities")]
    assert phrase_share(found, "现金净额") == 1 / 3


_PIECES = st.text(alphabet="净现金额流开支费用a.(", max_size=3)


@given(one=st.lists(_PIECES, min_size=1, max_size=4), two=st.lists(_PIECES, min_size=1,
       max_size=4), text=st.text(alphabet="净现金额流开支费用a.( ", max_size=24))
def test_a_phrase_is_found_where_any_of_its_pairs_stands(one: list[str], two: list[str],
                                                         text: str) -> None:
    """As an alternation of every pair spelled out would find it (the pattern it was)."""
    (pair,) = question_phrases("alpha beta", frozenset(), {"alpha": one, "beta": two}.__getitem__,
                               lambda t: 1.0)
    spelled = {a + b for a in one for b in two} | {b + a for a in one for b in two}
    pattern = re.compile("|".join(re.escape(t) for t in sorted(spelled, key=len, reverse=True)))
    assert pair.found_in(text) == bool(pattern.search(text))
