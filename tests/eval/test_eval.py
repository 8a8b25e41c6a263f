"""The question file, its checker, the metrics, the report and the gate, on small inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.cli import DEFAULT_QUESTIONS, gate_failures, load_thresholds
from eval.report import write_report
from service.cli import app
from service.metrics import answer_correct, mrr_at, recall_at
from service.questions import (
    Question,
    QuestionFileError,
    check_questions,
    load_questions,
    parse_questions,
)

GOOD = {"id": "q1", "question": "商湯2023年收入多少？", "script": "zh-Hant",
        "doc_ids": ["d"], "answers": ["3,405,842"], "evidence": [{"doc_id": "d",
        "text": "收入 3,405,842"}], "type": "number", "cross_lingual": False}


def test_the_bundled_question_set_is_valid_balanced_and_covers_every_document(
        corpus_dir: Path) -> None:
    questions = load_questions(DEFAULT_QUESTIONS)
    scripts = [q.script for q in questions]
    assert len(questions) >= 200
    for script in ("zh-Hant", "zh-Hans", "en"):
        assert 0.28 <= scripts.count(script) / len(questions) <= 0.38
    assert sum(q.cross_lingual for q in questions) / len(questions) >= 0.40
    assert sum(not q.answerable for q in questions) / len(questions) >= 0.10
    manifest = (corpus_dir / "manifest.toml").read_text(encoding="utf-8")
    covered = {d for q in questions for d in q.doc_ids}
    assert all(f'id = "{doc_id}"' in manifest for doc_id in covered) and len(covered) == 5


@pytest.mark.parametrize("extra", [[], [str(DEFAULT_QUESTIONS.parent / "holdout.jsonl")],
                                   [str(DEFAULT_QUESTIONS.parent / "holdout2.jsonl")],
                                   [str(DEFAULT_QUESTIONS.parent / "holdout3.jsonl")]])
def test_wenda_eval_check_passes_on_the_bundled_questions(extra: list[str]) -> None:
    result = CliRunner().invoke(app, ["eval", "check", *extra])
    assert result.exit_code == 0, result.output
    assert "every evidence string found verbatim" in result.output


def test_the_checker_reports_evidence_missing_from_its_document() -> None:
    report = check_questions([Question.model_validate(GOOD)], {"d": "收入 3,405,841"})
    assert report.problems and "q1" in report.problems[0] and "verbatim" in report.problems[0]


@pytest.mark.parametrize(("line", "message"), [
    ("not json", "line 2: not JSON"),
    (json.dumps({**GOOD, "id": "q2", "script": "zh-TW"}), "line 2: script"),
    (json.dumps({**GOOD, "id": "q2", "type": "unanswerable"}), "line 2: "),
    (json.dumps({**GOOD, "id": "q2", "evidence": [{"doc_id": "x", "text": "ab"}]}),
     "not in doc_ids"),
    (json.dumps(GOOD), "appears more than once"),
])
def test_a_bad_question_line_is_named_with_its_number(line: str, message: str) -> None:
    with pytest.raises(QuestionFileError) as caught:
        parse_questions(json.dumps(GOOD) + "\n" + line, "upload")
    assert message in str(caught.value)


def test_wenda_eval_check_exits_non_zero_naming_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{oops\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "check", str(path)])
    assert result.exit_code == 2
    assert "line 2" in result.output


def test_recall_and_mrr_count_ranks_within_k() -> None:
    ranks = [1, 3, None, 7]
    assert recall_at(ranks, 1) == 0.25 and recall_at(ranks, 5) == 0.5
    assert mrr_at(ranks, 5) == pytest.approx((1 + 1 / 3) / 4)


@pytest.mark.parametrize(("answer", "right"), [
    ("收入為人民幣3,405,842千元", True),
    ("收入为人民币3405842千元", True),  # Simplified, no separators
    ("收入為人民幣3,808,510千元", False),
])
def test_an_answer_is_right_when_it_contains_an_accepted_answer(answer: str,
                                                                right: bool) -> None:
    assert answer_correct(answer, Question.model_validate(GOOD)) is right


def summary(recall: float, accuracy: float) -> dict[str, object]:
    groups = ["all", "script:zh-Hant", "script:zh-Hans", "script:en", "cross-lingual"]
    cells = {g: {"recall@1": recall, "recall@5": recall, "recall@10": recall,
                 "mrr@10": recall, "n": 10.0} for g in groups}
    answers = {g: {"n": 10.0, "accuracy": accuracy, "abstain_precision": 1.0,
                   "abstain_recall": 1.0, "citations_valid": 1.0} for g in groups}
    replies = {"language_ok": accuracy, "markup_free": accuracy, "figures_cited": accuracy,
               "abstentions_naming_missing": accuracy}
    return {"questions": 10, "retrieval": {"bm25": cells, "hybrid": cells},
            "answers": answers, "replies": replies, "latency_ms": {"median": 5.0, "p95": 9.0},
            "misses": []}


def test_the_gate_names_each_threshold_a_run_falls_below() -> None:
    thresholds = load_thresholds()
    assert gate_failures(summary(1.0, 1.0), thresholds) == []
    failures = gate_failures(summary(0.5, 0.5), thresholds)
    assert any("fused recall@5 for all" in f for f in failures)
    assert any("answer accuracy for all" in f for f in failures)
    assert any("replies figures_cited is 0.500" in f for f in failures)


def test_the_report_is_written_as_json_markdown_and_a_png_chart(tmp_path: Path) -> None:
    paths = write_report(summary(0.9, 0.8), tmp_path)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["questions"] == 10
    assert "| all | 10 |" in paths["markdown"].read_text(encoding="utf-8")
    assert paths["chart"].read_bytes().startswith(b"\x89PNG")


def test_the_default_question_file_is_the_bundled_one() -> None:
    assert DEFAULT_QUESTIONS.name == "questions.jsonl" and DEFAULT_QUESTIONS.exists()
