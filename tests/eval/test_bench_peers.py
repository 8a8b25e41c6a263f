"""The peers benchmark: its recall judgement (the one `wenda eval` applies), and a tiny
run of Wenda's side and of each peer whose library is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder, corpus_folder, fixture_manifest

from eval.bench_peers import judged_questions, main, rank_of, read_sources, recall
from eval.peers import MODULES, PEERS, Passage, build_peer
from index.types import Chunk
from service.metrics import evidence_rank, judged_text
from service.questions import Question

MANIFEST = fixture_manifest('en', 'zh-Hant', 'zh-Hans')
QUESTIONS = [
    {"id": "t-1", "question": "How many commercialised AI models had SenseTime developed?",
     "script": "en", "doc_ids": ["report-en"], "answers": ["22,000"], "type": "number",
     "evidence": [{"doc_id": "report-en",
                   "text": "developed more than 22,000 commercialised AI models"}]},
    {"id": "t-2", "question": "商湯開發了多少個商業化人工智能模型？", "script": "zh-Hant",
     "doc_ids": ["report-zh-hant"], "answers": ["22,000"], "type": "number",
     "evidence": [{"doc_id": "report-zh-hant", "text": "我們已累計開發超過22,000個商業"}]},
    {"id": "t-3", "question": "How many AI models did the Simplified report say?",
     "script": "en", "doc_ids": ["report-zh-hans"], "answers": ["22,000"], "type": "number",
     "cross_lingual": True,
     "evidence": [{"doc_id": "report-zh-hans", "text": "我们已累计开发超过22,000个商业"}]},
    {"id": "t-4", "question": "What did Apple earn?", "script": "en", "type": "unanswerable"},
    {"id": "t-5", "question": "And in 2022?", "script": "en", "doc_ids": ["report-en"],
     "answers": ["22,000"], "type": "number", "history": ["How many models?"],
     "evidence": [{"doc_id": "report-en", "text": "22,000 commercialised"}]},
]


@pytest.fixture()
def tiny(tmp_path: Path, fixtures_dir: Path) -> tuple[Path, Path]:
    corpus = corpus_folder(tmp_path / "corpus", fixtures_dir, MANIFEST,
                           ("en.txt", "zh-hant.txt", "zh-hans.txt"))
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS),
                         encoding="utf-8")
    return corpus, questions


def _question(text: str, doc_id: str = "d") -> Question:
    return Question(id="q", question="?", script="en", doc_ids=[doc_id], answers=["x"],
                    type="number", evidence=[{"doc_id": doc_id, "text": text}])


def test_a_passage_holds_evidence_after_the_shared_normalisation_and_in_its_document() -> None:
    question = _question("我們已累計開發超過 22,000 個")
    assert rank_of([Passage("d", "…我们已累计开发\n超过22,000个商业化…")], question) == 1
    assert rank_of([Passage("other", "我們已累計開發超過22,000個"),
                    Passage("d", "ＡＢＣ 我們已累計開發超過22,000個")], question) == 2
    assert rank_of([Passage("d", "我們已累計開發超過22,000")], question) is None  # cut short


def test_a_wenda_chunk_is_judged_on_the_text_wenda_eval_judges() -> None:
    text = "收入 | 1,234 | 5,678"
    chunk = Chunk(chunk_id="c", doc_id="d", ordinal=0, script="zh-Hant", section=(),
                  page=None, line_start=1, line_end=1, char_start=0, char_end=len(text),
                  text=text, clean=text, matching=text, kind="table",
                  context="項目 | 2023年 | 2022年")
    question = _question("項目 | 2023年")  # only in the header lines the chunk carries
    assert evidence_rank([chunk], question) == 1
    assert rank_of([Passage(chunk.doc_id, judged_text(chunk))], question) == 1


def test_only_answerable_questions_without_a_history_are_judged(
        tiny: tuple[Path, Path]) -> None:
    assert [q.id for q in judged_questions([tiny[1]])] == ["t-1", "t-2", "t-3"]


def test_recall_is_grouped_by_script_cross_lingual_and_set(tiny: tuple[Path, Path]) -> None:
    questions = judged_questions([tiny[1]])
    figures = {"ranks": {"t-1": 1, "t-2": None, "t-3": 7}}
    summary = recall(figures, questions, {"t-1": "a", "t-2": "a", "t-3": "b"})
    assert summary["all"]["recall@1"] == pytest.approx(1 / 3)
    assert summary["all"]["recall@10"] == pytest.approx(2 / 3)
    assert summary["script:zh-Hant"]["recall@10"] == 0.0
    assert summary["cross-lingual"]["n"] == 1 and summary["cross-lingual"]["recall@5"] == 0.0
    assert summary["set:b"]["recall@10"] == 1.0 and summary["set:a"]["n"] == 2


@pytest.mark.bench
@pytest.mark.parametrize("peer", PEERS)
def test_each_installed_peer_builds_and_returns_its_own_passages(
        peer: str, tiny: tuple[Path, Path]) -> None:
    pytest.importorskip(MODULES[peer])
    corpus, path = tiny
    sources = read_sources(corpus)
    searcher = build_peer(peer, sources, FakeEmbedder())  # type: ignore[arg-type]
    texts = {s.doc_id: s.text for s in sources}
    assert {p.doc_id for p in searcher.passages} == set(texts)
    assert all(0 < len(p.text) <= 500 for p in searcher.passages)
    found = searcher.search(QUESTIONS[0]["question"])  # type: ignore[arg-type]
    assert 0 < len(found) <= 10 and all(p in searcher.passages for p in found)
    assert rank_of(found, judged_questions([path])[0]) is not None  # 3 documents, top 10
    for name, search in searcher.parts.items():  # what is fused, each alone
        assert name in {"dense", "keyword"}
        assert 0 < len(search(QUESTIONS[0]["question"])) <= 10  # type: ignore[arg-type]


@pytest.mark.bench
def test_the_benchmark_runs_wenda_end_to_end_and_prints_its_tables(
        tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus, path = tiny
    out = tmp_path / "figures.json"
    main(["--systems", "wenda", "--corpus", str(corpus), "--questions", str(path),
          "--work", str(tmp_path / "work"), "--json", str(out), "--parts"])
    printed = capsys.readouterr().out
    assert "| Wenda | " in printed and "R@1 / R@5 / R@10" in printed
    assert "dense alone" in printed
    [figures] = json.loads(out.read_text(encoding="utf-8"))  # Wenda, with the real model
    assert figures["system"] == "wenda" and set(figures["ranks"]) == {"t-1", "t-2", "t-3"}
    assert figures["ranks"]["t-1"] == 1 and figures["ranks"]["t-2"] is not None
    assert figures["passages"] > 3 and set(figures["stages"]) == {"index", "start"}
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] and figures["peak_mib"] > 0
    assert 0 < figures["p50_cpu_ms"] <= figures["p95_cpu_ms"]
    assert figures["build_cpu_seconds"] > 0
    assert figures["alone"]["keyword"]["t-1"] is not None  # BM25 alone finds it too
