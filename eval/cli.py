"""`wenda eval`: run or check the known-answer questions; the CI quality gate."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from eval.report import print_report, write_report
from service.cli import app as service_app
from service.questions import QuestionFileError, check_questions, load_questions

THRESHOLDS = Path(__file__).with_name("thresholds.toml")
DEFAULT_QUESTIONS = Path(__file__).with_name("questions.jsonl")
DEFAULT_OUT = Path("eval") / "reports" / "latest"
console = Console(width=None if Console().is_terminal else 150)
err = Console(stderr=True)


def eval_command(
    args: Annotated[list[str] | None, typer.Argument(
        help="[check] [QUESTIONS.jsonl]: `check` validates the file instead of running it; "
        "`export-feedback [up|down]` prints the readers' rated answers as question lines")
    ] = None,
    out: Annotated[Path, typer.Option(help="folder for report.json, report.md, chart.png")
                   ] = DEFAULT_OUT,
    generic: Annotated[bool, typer.Option(help="include the generic-RAG baseline")] = True,
    gate: Annotated[bool, typer.Option(help="exit 1 when below eval/thresholds.toml")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="data folder")] = None,
) -> None:
    """Score the known-answer questions (default: eval/questions.jsonl) and write a report."""
    words = list(args or [])
    if words[:1] == ["export-feedback"]:
        _export_feedback(words[1:], data_dir)
        return
    checking = bool(words) and words[0] == "check"
    if checking:
        words = words[1:]
    if len(words) > 1:
        _fail(f"expected at most one question file, got {words}")
    path = Path(words[0]) if words else DEFAULT_QUESTIONS
    try:
        questions = load_questions(path)
    except QuestionFileError as exc:
        for problem in exc.problems:
            err.print(f"[red]{problem}[/]", highlight=False)
        raise typer.Exit(2) from exc
    from service.cli import _settings

    settings = _settings(data_dir)
    if checking:
        _check(questions, settings.corpus_dir)
        return
    _run(questions, settings, out, generic, gate)


def _export_feedback(words: list[str], data_dir: Path | None) -> None:
    """`wenda eval export-feedback [up|down]`: the readers' rated answers as question-file
    lines to check (stdout), newest last."""
    import json

    from service.cli import _settings
    from service.feedback import FeedbackStore, question_line

    if len(words) > 1 or words[:1] not in ([], ["up"], ["down"]):
        _fail(f"export-feedback takes at most one of up, down; got {words}")
    items = FeedbackStore(_settings(data_dir).data_dir).all()
    for item in items:
        if not words or item.rating == words[0]:
            print(json.dumps(question_line(item), ensure_ascii=False))
    err.print(f"{len(items)} ratings stored; lines to check before they join a question set "
              "(eval/QUESTIONS.md): a thumbs-down is written as unanswerable")


def _check(questions: list[Any], corpus_dir: Path) -> None:
    from index.corpus import discover
    from index.load import load_document

    texts = {s.meta.doc_id: load_document(s.path, s.meta).text for s in discover([corpus_dir])}
    report = check_questions(questions, texts)
    for problem in report.problems:
        err.print(f"[red]{problem}[/]", highlight=False)
    if report.problems:
        raise typer.Exit(1)
    console.print(f"{report.questions} questions: every evidence string found verbatim, ids unique")


def _run(questions: list[Any], settings: Any, out: Path, generic: bool, gate: bool) -> None:
    from eval.generic import GenericBaseline
    from index.reader import IndexMismatchError, IndexMissingError
    from service.api.backend import EngineBackend
    from service.engine import Engine
    from service.metrics import evidence_rank
    from service.scoring import K, evaluate, summarise

    started = time.perf_counter()
    try:
        engine = Engine.start(settings)
    except (IndexMissingError, IndexMismatchError) as exc:
        _fail(str(exc))
    extra = None
    if generic:
        documents = list(engine.index.store.documents.values())
        baseline = GenericBaseline.build(documents, engine.embedder, settings.data_dir / "cache")

        def extra(q: Any) -> dict[str, int | None]:
            return {"generic": evidence_rank(baseline.search(q.question, K), q)}
    with Progress(TextColumn("questions"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("eval", total=len(questions))
        results = evaluate(EngineBackend(engine), questions,
                           lambda done, total: bar.update(task, completed=done), extra=extra)
    summary = summarise(results)
    summary["wall_seconds"] = round(time.perf_counter() - started, 1)
    print_report(summary, console)
    paths = write_report(summary, out)
    console.print(f"wall time {summary['wall_seconds']} s; wrote "
                  + ", ".join(str(p) for p in paths.values()))
    if gate:
        failures = gate_failures(summary, load_thresholds())
        for failure in failures:
            err.print(f"[bold red]quality gate:[/] {failure}")
        if failures:
            raise typer.Exit(1)
        console.print("quality gate passed")


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, dict[str, float]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: {k: float(v) for k, v in table.items()} for name, table in data.items()}


def gate_failures(summary: dict[str, Any], thresholds: dict[str, dict[str, float]]) -> list[str]:
    """Each threshold the run fell below, as a sentence; empty when the gate passes."""
    failures = []
    recall = summary["retrieval"].get("hybrid", {})
    for group, minimum in thresholds.get("fused_recall_at_5", {}).items():
        value = recall.get(group, {}).get("recall@5", 0.0)
        if value < minimum:
            failures.append(f"fused recall@5 for {group} is {value:.3f}, below {minimum:.3f}")
    for group, minimum in thresholds.get("answer_accuracy", {}).items():
        value = summary["answers"].get(group, {}).get("accuracy", 0.0)
        if value < minimum:
            failures.append(f"answer accuracy for {group} is {value:.3f}, below {minimum:.3f}")
    for name, minimum in thresholds.get("abstention", {}).items():
        value = summary["answers"]["all"].get(name, 0.0)
        if value < minimum:
            failures.append(f"abstention {name} is {value:.3f}, below {minimum:.3f}")
    for name, minimum in thresholds.get("replies", {}).items():
        value = summary.get("replies", {}).get(name, 0.0)
        if value < minimum:
            failures.append(f"replies {name} is {value:.3f}, below {minimum:.3f}")
    valid = summary["answers"]["all"]["citations_valid"]
    if valid < 1.0:
        failures.append(f"only {valid:.3f} of answers have citations equal to their spans")
    return failures


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


# The `wenda` command: the service's commands, then `wenda eval` (the service never imports
# eval, so the command line that includes evaluation is assembled here).
app = service_app
app.command("eval")(eval_command)

if __name__ == "__main__":
    app()
