"""The text memos (service/memo.py): the same results as the functions they remember, a
bound on what they keep, and never a stale answer after the index is rebuilt."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import tiny_engine
from fakes import FakeEmbedder

from index.build import build_index
from index.corpus import discover
from index.display import display
from index.normalise import matching_form
from service import binding, evidence, memo

REVENUE = "2023年的收入是多少人民幣千元？"
MEMOS: list[tuple[str, Callable[..., Any]]] = [
    ("display", evidence._shown), ("matching form", evidence._matching),
    ("figures", evidence.figures), ("years", evidence._years_written),
    ("fold", binding._fold), ("simplified", binding._simplified),
    ("clauses", binding._clause_cuts),
    ("clause marks", binding._cover_clauses), ("year mentions", binding.year_mentions),
    ("year parts", binding.year_parts), ("figure marks", binding._figure_marks),
]


def _plain(value: Any) -> Any:
    """Matches compare by what they matched (re.Match has no equality of its own)."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return (value.span(), value.group()) if isinstance(value, re.Match) else value


def _sentences(folder: Path) -> list[str]:
    return [line for name in ("zh-hant.txt", "zh-hans.txt", "en.txt")
            for line in (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize(("name", "remembered"), MEMOS)
def test_a_memo_answers_as_the_function_it_remembers(fixtures_dir: Path, name: str,
                                                     remembered: Callable[..., Any]) -> None:
    memo.clear()
    for text in _sentences(fixtures_dir):
        form = binding._fold(matching_form(text)) if name != "display" else text
        fresh = _plain(remembered.__wrapped__(form))  # type: ignore[attr-defined]
        assert _plain(remembered(form)) == fresh  # computed
        assert _plain(remembered(form)) == fresh  # remembered
    assert remembered.cache_info().hits > 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "remembered"), MEMOS)
def test_every_memo_is_bounded(name: str, remembered: Callable[..., Any]) -> None:
    assert remembered.cache_info().maxsize == memo.TEXTS  # type: ignore[attr-defined]


def test_the_display_memo_tells_table_lines_from_wrapped_text() -> None:
    lines = "收入\t3,405,842\n毛利\t1,500,787"
    assert evidence._shown(lines, True) == display(lines, table=True)
    assert evidence._shown(lines, False) == display(lines, table=False)


def test_a_rebuilt_index_is_answered_from_its_new_text(tmp_path: Path,
                                                       fixtures_dir: Path) -> None:
    """The memos keep what the old build's passages read as; the new build's changed text
    asks with new keys, so the reply quotes the new figure, never the remembered one."""
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(fixtures_dir, corpus, ignore=shutil.ignore_patterns("uploads"))
    build_index(discover([corpus]), data, FakeEmbedder())  # type: ignore[arg-type]
    before = tiny_engine(data).ask(REVENUE)
    assert before.answerable and "3,405,842" in before.answer
    for path in corpus.glob("*.txt"):
        path.write_text(path.read_text(encoding="utf-8").replace("3,405,842", "3,405,999"),
                        encoding="utf-8")
    build_index(discover([corpus]), data, FakeEmbedder())  # type: ignore[arg-type]
    after = tiny_engine(data).ask(REVENUE)
    assert after.answerable and "3,405,999" in after.answer and "3,405,842" not in after.answer
    assert all("3,405,842" not in c.quote for c in after.citations)


@pytest.mark.parametrize("question", [REVENUE, "What was the revenue in 2023?",
                                      "研發人員佔員工總數的比例是多少？"])
def test_clause_cover_is_the_best_bound_of_any_clause_mark(tiny_data: Path, fixtures_dir: Path,
                                                           question: str) -> None:
    """Each clause is bound once, where every clause mark's clause used to be."""
    query = tiny_engine(tiny_data).read(question)
    for text in _sentences(fixtures_dir):
        form = binding._fold(text)
        anchors = binding._anchors(query, form, years=False)
        marks = [0, *(m.end() for m in binding._CLAUSE.finditer(form))]
        expected = max(binding._bound((x, x), anchors, form) for x in marks)
        assert binding.clause_cover(text, query) == expected
