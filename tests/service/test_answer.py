"""Extractive answers: intent, sentence scoring, citations, reply scripts and abstention."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.corpus import discover
from index.normalise import matching_form
from index.script import converter
from service.answer import (
    NOT_FOUND,
    Answer,
    answer_question,
    confidence,
    rank_candidates,
)
from service.cite import line_at, readable
from service.config import Settings
from service.engine import Engine, build, make_embedder
from service.fit import intent_fit
from service.question import Concept, detect_intent, pinned_numbers, read_question
from service.retrieve import Hit, Retriever

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
RESULTS = "sensetime-results-2023-zh-hant"  # the 2023 annual results, Traditional Chinese


# ---- fast: what a question asks for ----------------------------------------------------

@pytest.mark.parametrize(("question", "intent"), [
    ("商湯2023年全年的能源消耗總量是多少兆瓦時？", "number"),
    ("商汤2023年的研发开支总额是多少人民币千元？", "number"),
    ("How many GPUs was SenseTime operating by the end of 2023?", "number"),
    ("董事會是在哪一天批准設立可持續發展委員會的？", "date"),
    ("智谱是什么时候推出开源模型GLM-4.5的？", "date"),
    ("When was InternLM2 officially released?", "date"),
    ("商湯的AI倫理與治理委員會是哪一年成立的？", "year"),
    ("商汤计划在哪一年力争实现运营碳中和？", "year"),
    ("In what year was Zhipu founded?", "year"),
    ("誰擔任商湯人工智能倫理委員會的外部顧問？", "who"),
    ("谁担任商汤审计委员会主席？", "who"),
    ("Who currently holds both the chairman and CEO roles?", "who"),
    ("文件中「基模型」指的是甚麼？", "definition"),
    ("报告中员工流失比率是按什么公式计算的？", "definition"),
    ("How does the prospectus define the metaverse?", "definition"),
    ("報告期內商湯有沒有出現僱傭童工或強制勞工的情況？", "yesno"),
    ("报告期内商汤是否收到过侵犯隐私或数据泄露方面的投诉？", "yesno"),
    ("Did SenseTime recall any products for health and safety reasons in 2023?", "yesno"),
    ("智譜董事會轄下設有哪幾個專門委員會？", "list"),
    ("商汤董事会下设哪四个董事委员会？", "list"),
    ("What are the six focus areas of SenseTime's ESG strategy?", "list"),
])
def test_detect_intent_reads_the_question_in_every_script(question: str, intent: str) -> None:
    assert detect_intent(question) == intent


@pytest.mark.parametrize(("figure", "prose"), [
    ("能源消耗總量為130,242.2兆瓦時。", "我們持續推動節能減排。"),
    ("能源消耗总量为130,242.2兆瓦时。", "我们持续推动节能减排。"),
    ("Total energy consumption was 130,242.2 MWh.", "We keep reducing our emissions."),
])
def test_a_number_question_fits_a_figure_better_than_prose(figure: str, prose: str) -> None:
    from index.normalise import matching_form

    assert intent_fit("number", matching_form(figure)) == 1.0
    assert intent_fit("number", matching_form(prose)) == 0.0
    assert intent_fit("number", matching_form("A2.2 總耗水量及密度")) < 1.0  # a KPI code


@pytest.mark.parametrize(("full", "year_only"), [
    ("2024年2月2日，商湯舉辦了第二屆生態合作夥伴大會。", "2024年，商湯舉辦了大會。"),
    ("2024年2月2日，商汤举办了第二届生态合作伙伴大会。", "2024年，商汤举办了大会。"),
    ("On February 2, 2024, SenseTime held the second Partner Conference.",
     "In 2024, SenseTime held a conference."),
])
def test_a_date_question_fits_a_full_date_better_than_a_year(full: str, year_only: str) -> None:
    from index.normalise import matching_form

    assert intent_fit("date", matching_form(full)) > intent_fit("date", matching_form(year_only))
    assert intent_fit("date", matching_form("我們持續推動節能減排。")) == 0.0


# ---- fast: scoring sentences over the three fixture reports (hash vectors) --------------

def ranked_in(retriever: Retriever, doc_id: str, question: str) -> list:
    hits = [Hit(c, 1.0) for c in retriever.index.chunks if c.doc_id == doc_id]
    return rank_candidates(retriever, hits, read_question(retriever, question,
                                                          retriever.plan(question)))


@pytest.mark.parametrize(("doc_id", "question"), [
    ("zh-hant", "2023年的收入是多少人民幣千元？"),
    ("zh-hans", "2023年的收入是多少人民币千元？"),
    ("en", "What was the revenue in FY2023 (RMB'000)?"),
])
def test_a_number_question_ranks_the_row_with_the_figure_and_its_header_first(
        tiny: Retriever, doc_id: str, question: str) -> None:
    best = ranked_in(tiny, doc_id, question)[0]
    text = tiny.index.store.documents[doc_id].text
    assert "3,405,842" in text[best.span[0]:best.span[1]]
    assert best.header is not None and "2023" in text[best.header[0]:best.header[1]]
    assert best.fit == 1.0 and not best.missing_number


@pytest.mark.parametrize(("doc_id", "question"), [
    ("zh-hant", "2019年的收入是多少？"), ("zh-hans", "2019年的收入是多少？"),
    ("en", "What was the revenue in 2019?")])
def test_a_year_the_passage_does_not_report_lowers_the_confidence(
        tiny: Retriever, doc_id: str, question: str) -> None:
    best = ranked_in(tiny, doc_id, question)[0]
    assert best.missing_number
    assert confidence(best) < best.coverage


@pytest.mark.parametrize(("doc_id", "question"), [
    ("zh-hant", "研發人員佔員工總數的比例是多少？"),
    ("zh-hans", "研发人员占员工总数的比例是多少？")])
def test_the_sentence_that_holds_the_question_words_wins(tiny: Retriever, doc_id: str,
                                                         question: str) -> None:
    best = ranked_in(tiny, doc_id, question)[0]
    text = tiny.index.store.documents[doc_id].text[best.span[0]:best.span[1]]
    assert "三分之二" in text and best.coverage > 0.5


# ---- the real model over the 2023 annual results ----------------------------------------

@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    """The real embedding model and index over one Traditional Chinese report."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("results"),
                        corpus_dir=REPO / "corpus", glossary=REPO / "corpus" / "glossary.toml")
    sources = [s for s in discover([settings.corpus_dir]) if s.meta.doc_id == RESULTS]
    embedder = make_embedder(settings)
    build(settings, sources, embedder)
    return Engine.start(settings, embedder).retriever


GEARING_HANT = "商湯2023年底的資本負債比率是多少？"
GEARING_HANS = "商汤2023年底的资本负债比率是多少？"
QUESTIONS = [GEARING_HANT, GEARING_HANS, "What was SenseTime's gearing ratio at 31 December 2023?",
             "商湯2023年的毛利是多少人民幣千元？",
             "截至2023年12月31日，集团持有的现金及现金等价物余额是多少？",
             "How much cash and cash equivalents did the Group hold at 31 December 2023?",
             "股東周年大會定於哪一天召開？", "審計委員會主席是誰？",
             "智谱2025年办公用纸消耗量是多少吨？", "What MSCI ESG rating does Zhipu hold?"]


def assert_exact(retriever: Retriever, answer: Answer) -> None:
    documents = retriever.index.store.documents
    for n, c in enumerate(answer.citations, start=1):
        text = documents[c.doc_id].text
        assert c.quote == text[c.char_start:c.char_end]
        assert (c.n, c.line_start, c.line_end) == (n, line_at(text, c.char_start),
                                                   line_at(text, c.char_end - 1))
        assert c.title == documents[c.doc_id].meta.title and c.section and c.chunk_id
        assert readable(c.quote_converted or c.quote) in answer.answer


@pytest.mark.parametrize("reply_script", ["auto", "original", "zh-Hant", "zh-Hans"])
def test_every_citation_quotes_its_document_exactly(results: Retriever,
                                                    reply_script: str) -> None:
    answered = 0
    for question in QUESTIONS:
        answer = answer_question(results, question, reply_script=reply_script)  # type: ignore[arg-type]
        assert answer.answerable == bool(answer.citations)
        assert_exact(results, answer)
        answered += answer.answerable
    assert answered >= 7


def test_a_simplified_question_over_a_traditional_report_gets_both_renderings(
        results: Retriever) -> None:
    answer = answer_question(results, GEARING_HANS)
    assert answer.answerable and answer.reply_script == "zh-Hans"
    quoted = answer.citations[0]
    assert "資本負債比率為 -14.8%" in quoted.quote
    assert quoted.quote_converted == converter("t2s").convert(quoted.quote)
    assert "资本负债比率为 -14.8%" in answer.answer


@pytest.mark.parametrize(("question", "script"), [
    ("智譜2025年的範圍三溫室氣體排放量是多少噸？", "zh-Hant"),
    ("智谱2025年办公用纸消耗量是多少吨？", "zh-Hans"),
    ("What MSCI ESG rating does Zhipu currently hold?", "en")])
def test_an_unanswerable_question_abstains_in_its_own_language(results: Retriever,
                                                               question: str,
                                                               script: str) -> None:
    answer = answer_question(results, question, top_k=3)
    assert not answer.answerable and answer.citations == []
    assert answer.answer == NOT_FOUND[script]
    assert 0 < len(answer.passages) <= 3 and answer.confidence < 0.3


def test_a_number_question_quotes_the_row_with_its_column_header(results: Retriever) -> None:
    answer = answer_question(results, "商湯2023年的毛利是多少人民幣千元？")
    header, row = answer.citations[:2]
    assert "2023年" in header.quote and "人民幣千元" in header.quote
    assert row.quote.startswith("毛利") and "1,500,787" in row.quote
    assert header.char_end < row.char_start and header.line_end < row.line_start
    assert answer.answer.index("人民幣千元") < answer.answer.index("1,500,787")


@pytest.mark.parametrize("question", ["商湯2023年的總收入是多少？", "商汤2023年的总收入是多少？"])
def test_a_total_is_quoted_where_it_is_the_figure_not_where_a_segment_is_a_share_of_it(
        results: Retriever, question: str) -> None:
    first = answer_question(results, question).citations[0].quote
    assert "3,405" in first and "佔" not in first


@pytest.mark.parametrize(("reply_script", "used", "simplified"), [
    ("auto", "zh-Hant", False), ("original", "original", False),
    ("zh-Hant", "zh-Hant", False), ("zh-Hans", "zh-Hans", True)])
def test_reply_script_chooses_the_rendering(results: Retriever, reply_script: str, used: str,
                                            simplified: bool) -> None:
    answer = answer_question(results, GEARING_HANT, reply_script=reply_script)  # type: ignore[arg-type]
    assert answer.reply_script == used
    assert all((c.quote_converted is not None) == simplified for c in answer.citations)
    assert ("资本负债比率" in answer.answer) == simplified
    assert ("資本負債比率" in answer.answer) != simplified


def test_an_english_question_gets_the_chinese_quote_unconverted(results: Retriever) -> None:
    answer = answer_question(results, "What was SenseTime's gearing ratio at 31 December 2023?")
    assert answer.answerable and answer.reply_script == "original"
    assert "-14.8%" in answer.answer
    assert all(c.quote_converted is None for c in answer.citations)


def test_an_unknown_reply_script_is_refused(results: Retriever) -> None:
    with pytest.raises(ValueError, match="reply_script 'zh-TW'"):
        answer_question(results, GEARING_HANT, reply_script="zh-TW")  # type: ignore[arg-type]


def test_a_follow_up_borrows_the_previous_question(results: Retriever) -> None:
    answer = answer_question(results, "那2022年呢？",
                             history=["商湯2023年的毛利是多少人民幣千元？"])
    assert answer.answerable and "2,542,267" in answer.answer
    assert answer.reply_script == "zh-Hant"


def test_an_answer_reports_its_intent_and_timings(results: Retriever) -> None:
    answer = answer_question(results, "股東周年大會定於哪一天召開？", top_k=2)
    assert answer.intent == "date" and "2024年6月26日" in answer.answer
    assert set(answer.timings_ms) == {"retrieve", "select"} and len(answer.passages) == 2
    assert answer.mode == "extractive"


def test_a_number_tied_to_a_word_must_stand_beside_it_in_the_evidence() -> None:
    scope = Concept("scope", 3.0, (("范围", 0.9),))
    pinned = pinned_numbers("what were scope 3 emissions?", [scope, Concept("3", 3.0)])
    assert set(pinned) == {"3"}
    assert pinned["3"].search(matching_form("Scope 3 emissions (tCO2e)"))
    assert pinned["3"].search(matching_form("間接溫室氣體排放量（範圍三）"))
    assert not pinned["3"].search(matching_form("Scope 1 and Scope 2 for the period"))
    ages = [Concept("aged", 2.0), Concept("40", 3.0), Concept("年", 1.0), Concept("一", 1.0)]
    assert pinned_numbers("employees aged 40 to 49, 2025年一共", ages) == {}
