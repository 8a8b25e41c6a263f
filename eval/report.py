"""Writing an evaluation: terminal table, JSON, Markdown and a chart a person can look at."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HEADLINE = ("all", "script:zh-Hant", "script:zh-Hans", "script:en", "cross-lingual",
            "same-language")
METHOD_NAMES = {"bm25": "BM25", "dense": "dense", "hybrid": "Wenda (fused)",
                "generic": "generic RAG"}


def _rows(summary: dict[str, Any], prefixes: tuple[str, ...]) -> list[str]:
    keys = list(summary["answers"])
    return [k for k in HEADLINE if k in keys] if prefixes == () else sorted(
        k for k in keys if k.startswith(prefixes))


def _methods(summary: dict[str, Any]) -> list[str]:
    return list(summary["retrieval"])


def headline_table(summary: dict[str, Any], title: str = "Wenda evaluation") -> Table:
    table = Table(title=title)
    table.add_column("questions")
    table.add_column("n", justify="right")
    for method in _methods(summary):
        table.add_column(f"R@5 {METHOD_NAMES.get(method, method)}", justify="right")
    for name in ("R@1", "R@10", "MRR@10"):
        table.add_column(f"{name} fused", justify="right")
    table.add_column("answer acc.", justify="right")
    for key in _rows(summary, ()):
        table.add_row(*_cells(summary, key))
    return table


def _cells(summary: dict[str, Any], key: str) -> list[str]:
    retrieval = summary["retrieval"]
    fused = retrieval.get("hybrid", {}).get(key, {})
    answers = summary["answers"][key]
    cells = [key, str(int(answers["n"]))]
    cells += [_pct(retrieval[m].get(key, {}).get("recall@5")) for m in _methods(summary)]
    cells += [_pct(fused.get("recall@1")), _pct(fused.get("recall@10")),
              _pct(fused.get("mrr@10"))]
    cells.append(_pct(answers["accuracy"]) if key != "type:unanswerable" else "—")
    return cells


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def print_report(summary: dict[str, Any], console: Console) -> None:
    console.print(headline_table(summary))
    all_answers = summary["answers"]["all"]
    console.print(
        f"abstention precision {all_answers['abstain_precision']:.3f}, "
        f"recall {all_answers['abstain_recall']:.3f}; citations valid "
        f"{all_answers['citations_valid']:.3f}; answer latency median "
        f"{summary['latency_ms']['median']:.0f} ms, p95 {summary['latency_ms']['p95']:.0f} ms; "
        f"{len(summary['misses'])} questions missed (listed in the report)")


def markdown(summary: dict[str, Any]) -> str:
    methods = _methods(summary)
    head = (["questions", "n"] + [f"R@5 {METHOD_NAMES.get(m, m)}" for m in methods]
            + ["R@1 fused", "R@10 fused", "MRR@10 fused", "answer accuracy"])
    lines = ["# Wenda evaluation", "",
             f"{summary['questions']} questions; retrieval counts a passage when it holds an "
             "evidence string after the shared normalisation; answer accuracy counts an answer "
             "that contains an accepted answer.", ""]
    for title, prefixes in (("Headline", ()), ("By question type", ("type:",)),
                            ("By document", ("doc:",))):
        lines += [f"## {title}", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(_cells(summary, key)) + " |"
                  for key in _rows(summary, prefixes)]
        lines.append("")
    a = summary["answers"]["all"]
    lines += ["## Answers", "",
              f"- abstention precision {a['abstain_precision']:.3f}, recall "
              f"{a['abstain_recall']:.3f}",
              f"- citations whose quote equals the original span: {a['citations_valid']:.3f}",
              f"- answer latency: median {summary['latency_ms']['median']:.1f} ms, "
              f"p95 {summary['latency_ms']['p95']:.1f} ms", "",
              "## Misses", "", "| id | script | type | fused rank | answered | answer |",
              "|---|---|---|---|---|---|"]
    for miss in summary["misses"]:
        answer = miss["answer"].replace("|", "\\|").replace("\n", " ")[:80]
        lines.append(f"| {miss['id']} | {miss['script']} | {miss['type']} | "
                     f"{miss['ranks'].get('hybrid')} | {miss['answered']} | {answer} |")
    return "\n".join(lines) + "\n"


def chart(summary: dict[str, Any], path: Path) -> None:
    """Recall@5 per method and answer accuracy, per question script, as a bar chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [k for k in ("all", "script:zh-Hant", "script:zh-Hans", "script:en",
                          "cross-lingual") if k in summary["answers"]]
    series = [(f"R@5 {METHOD_NAMES.get(m, m)}",
               [summary["retrieval"][m].get(g, {}).get("recall@5", 0.0) for g in groups])
              for m in _methods(summary)]
    series.append(("answer accuracy", [summary["answers"][g]["accuracy"] for g in groups]))
    figure, axes = plt.subplots(figsize=(10, 4.5), dpi=110)
    width = 0.8 / len(series)
    for index, (name, values) in enumerate(series):
        positions = [g + index * width for g in range(len(groups))]
        bars = axes.bar(positions, values, width, label=name)
        axes.bar_label(bars, fmt="%.2f", fontsize=6)
    axes.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))],
                    [g.removeprefix("script:") for g in groups])
    axes.set_ylim(0, 1.2)
    axes.set_ylabel("share of questions")
    axes.set_title("Wenda: recall@5 by method and answer accuracy, per question script")
    axes.legend(fontsize=7, ncols=len(series), loc="upper center")
    figure.tight_layout()
    _atomic(path, lambda temp: figure.savefig(temp, format="png"))
    plt.close(figure)


def write_report(summary: dict[str, Any], folder: Path) -> dict[str, Path]:
    """report.json, report.md and chart.png in `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "report.json", "markdown": folder / "report.md",
             "chart": folder / "chart.png"}
    text = json.dumps(summary, ensure_ascii=False, indent=1)
    _atomic(paths["json"], lambda temp: temp.write_text(text, encoding="utf-8"))
    _atomic(paths["markdown"], lambda temp: temp.write_text(markdown(summary), encoding="utf-8"))
    chart(summary, paths["chart"])
    return paths


def _atomic(path: Path, write: Any) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temp)
    os.replace(temp, path)
