"""The `wenda` command line: ingest, index, search, ask, serve, eval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from index.build import BuildReport, build_index
from index.corpus import discover
from index.load import LoadError
from service.config import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Wenda (問答): cited answers from Chinese and English company filings.")
# Piped output (CI logs, `| less`) still gets tables wide enough to read.
console = Console(width=None if Console().is_terminal else 150)
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@app.callback()
def main() -> None:
    """Wenda (問答): cited answers from Chinese and English company filings."""


PathsArg = Annotated[list[Path] | None, typer.Argument(
    help="corpus folders (with manifest.toml) or files; default: the bundled corpus")]


@app.command()
def ingest(paths: PathsArg = None,
           data_dir: Annotated[Path | None, typer.Option(help="data folder")] = None) -> None:
    """Load, normalise and chunk documents into the chunk store; print a summary."""
    settings = get_settings()
    try:
        sources = discover(paths or [settings.corpus_dir])
        report = build_index(sources, data_dir or settings.data_dir)
    except (LoadError, ValueError) as exc:
        raise fail(str(exc)) from exc
    print_build(report)


def print_build(report: BuildReport) -> None:
    table = Table(title=f"Chunk store: {report.index_dir}")
    for name in ("document", "script", "characters", "chunks", "median chunk", "max chunk",
                 "sections", "tables"):
        table.add_column(name, justify="left" if name == "document" else "right")
    for d in report.documents:
        table.add_row(d.doc_id, d.script, f"{d.characters:,}", str(d.chunks),
                      f"{d.median_chunk:.0f}", str(d.max_chunk), str(d.sections), str(d.tables))
    console.print(table)
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in report.seconds.items())
    console.print(f"chunk sizes in characters of repaired text; {timings}")


if __name__ == "__main__":
    app()
