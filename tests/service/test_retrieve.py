"""Hybrid retrieval with the real embedding model, real FAISS and the real lexicon."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fakes import corpus_folder

from index.corpus import discover
from service.access import Filters
from service.config import Settings
from service.engine import Engine, build, make_embedder
from service.phrases import phrase_share

MANIFEST = """
[[documents]]
id = "business-zh-hant"
file = "zh-hant.txt"
title = "商湯業務"
company = "SenseTime Group Inc."
year = 2021
doc_type = "prospectus"
aliases = ["SenseTime", "商湯"]

[[documents]]
id = "water-notes"
file = "water.txt"
title = "Water notes"
company = "Example Water Ltd."
year = 2023
doc_type = "esg-report"
script = "en"
groups = ["water"]
"""
WATER = """Water stewardship

Our offices used 12,400 cubic metres of water in 2023, a tenth less than the year before.
Rain water is collected on site and used for the gardens.

Waste

General waste fell to 80 tonnes after we removed single-use cups from every kitchen.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path,
           corpus_dir: Path) -> Engine:
    root = tmp_path_factory.mktemp("retrieve")
    corpus = corpus_folder(root / "corpus", fixtures_dir, MANIFEST, ("zh-hant.txt",),
                           {"water.txt": WATER})
    settings = Settings(data_dir=root / "data", corpus_dir=corpus,
                        glossary=corpus_dir / "glossary.toml")
    embedder = make_embedder(settings)
    build(settings, discover([corpus]), embedder)
    return Engine.start(settings, embedder)


@pytest.mark.parametrize("question", [
    "商汤累计开发了多少个商业化人工智能模型？",  # Simplified, about a Traditional report
    "商湯累計開發了多少個商業化人工智能模型？",  # Traditional
    "How many commercial AI models had SenseTime developed?",  # English
])
def test_a_question_in_any_script_finds_the_traditional_passage(engine: Engine,
                                                                question: str) -> None:
    hits = engine.search(question, 3)
    assert hits[0].chunk.doc_id == "business-zh-hant"
    assert "22,000" in hits[0].chunk.text


def test_an_english_question_finds_the_english_passage(engine: Engine) -> None:
    hits = engine.search("How much water did the offices use in 2023?", 3)
    assert hits[0].chunk.doc_id == "water-notes"
    assert "12,400" in hits[0].chunk.text


@pytest.mark.parametrize("method", ["bm25", "dense", "hybrid"])
def test_every_method_ranks_passages_best_first(engine: Engine, method: str) -> None:
    hits = engine.search("商湯的研發人員佔員工總數多少？", 5, method=method)  # type: ignore[arg-type]
    assert hits
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize(("filters", "expected"), [
    (Filters(doc_ids=frozenset({"water-notes"})), {"water-notes"}),
    (Filters(scripts=frozenset({"zh-Hant"})), {"business-zh-hant"}),
    (Filters(years=frozenset({2023})), {"water-notes"}),
    (Filters(companies=frozenset({"SenseTime Group Inc."})), {"business-zh-hant"}),
    (Filters(doc_types=frozenset({"esg-report"})), {"water-notes"}),
])
def test_filters_apply_before_ranking(engine: Engine, filters: Filters,
                                      expected: set[str]) -> None:
    for method in ("bm25", "dense", "hybrid"):
        hits = engine.search("商湯 AI models and water use", k=10, filters=filters,
                                       method=method)  # type: ignore[arg-type]
        assert hits, method
        assert {h.chunk.doc_id for h in hits} == expected, method


def test_a_filter_that_matches_nothing_returns_no_hits(engine: Engine) -> None:
    assert engine.search("water", filters=Filters(doc_ids=frozenset({"nope"}))) == []


@pytest.mark.parametrize("method", ["hybrid", "bm25", "dense"])
def test_access_groups_hide_documents_outside_the_callers_groups(engine: Engine,
                                                                 method: str) -> None:
    search = engine.search
    question = "How much water did the offices use in 2023?"
    public = search(question, k=10, filters=Filters(groups=frozenset()), method=method)  # type: ignore[arg-type]
    assert public and {h.chunk.doc_id for h in public} == {"business-zh-hant"}
    water = search(question, k=10, filters=Filters(groups=frozenset({"water", "x"})),
                   method=method)  # type: ignore[arg-type]
    assert water[0].chunk.doc_id == "water-notes"


def test_an_english_question_is_expanded_into_chinese_keywords(engine: Engine) -> None:
    plan = engine.read("How many patents and what gross profit did SenseTime have?")
    assert plan.script == "en"
    assert "毛利" in plan.translated and "商汤" in plan.translated
    assert "专利" not in plan.translated  # no passage here speaks of patents


def _row(engine: Engine, text: str) -> int:
    return next(i for i, c in enumerate(engine.index.chunks) if text in c.text)


def test_an_english_month_is_found_as_the_numbered_chinese_month(engine: Engine) -> None:
    retriever = engine.retriever
    plan = engine.read("How many AI models had SenseTime developed by 30 June 2021?")
    assert {"6", "月"} <= plan.translated.keys()
    assert "june" in retriever.found_words(plan, _row(engine, "截至2021年6月30日"))


def test_translations_are_only_words_the_other_language_uses(engine: Engine) -> None:
    plan = engine.read("How much revenue did SenseTime hold?")
    chinese = [t for t in plan.translated if not t.isascii()]
    assert "收入" in chinese
    vocabulary = {t for i, c in enumerate(engine.index.chunks) if c.script != "en"
                  for t in engine.index.tokenizer.tokens(c.matching)}
    assert set(chinese) <= vocabulary


def test_a_word_is_found_only_where_a_whole_translation_is(engine: Engine) -> None:
    retriever = engine.retriever
    row = _row(engine, "財務概要")

    def found(*forms: frozenset[str]) -> list[str]:
        plan = replace(engine.read("summary"), forms={"summary": forms})
        return retriever.found_words(plan, row)

    assert found(frozenset({"财务", "概要"})) == ["summary"]
    assert found(frozenset({"财务", "财务总结"})) == []  # a part of a translation is not it
    assert found(frozenset({"财务", "财务总结"}), frozenset({"概要"})) == ["summary"]


def test_a_word_found_through_a_common_translation_weighs_little(engine: Engine) -> None:
    plan = engine.read("risk year")
    # 'year' and 风险 (risk) are each in one passage, but 年 is in two.
    assert plan.idf["year"] < plan.idf["risk"]


def test_an_english_word_pair_is_found_as_adjacent_chinese_words(engine: Engine) -> None:
    plan = engine.read("What are the main risk factors?")
    (pair,) = [p for p in plan.phrases if p.words == ("risk", "factors")]
    assert phrase_share([pair], engine.index.chunks[_row(engine, "風險因素")].matching) == 1.0
    assert phrase_share([pair], engine.index.chunks[_row(engine, "財務概要")].matching) == 0.0


@pytest.mark.parametrize(("question", "named"), [
    ("What does the prospectus say about water?", {"business-zh-hant"}),
    ("招股章程如何描述用水？", {"business-zh-hant"}),
    ("How much water does the sustainability report give?", {"water-notes"}),
    ("What does SenseTime's ESG report say about water?", set()),  # no such document
    ("How much water was used?", set()),
])
def test_a_question_naming_a_kind_of_filing_favours_those_documents(
        engine: Engine, question: str, named: set[str]) -> None:
    retriever = engine.retriever
    assert retriever.named_documents(engine.read(question)) == named
