"""The `wenda` command line: index, search, ask, serve, eval."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from index.build import BuildReport
from index.corpus import discover
from index.library import Library
from index.load import LoadError
from index.reader import IndexMismatchError, IndexMissingError
from index.types import SCRIPTS
from service.config import Settings, get_settings

if TYPE_CHECKING:
    from service.schemas import AskResponse

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
DataDir = Annotated[Path | None, typer.Option(help="data folder (default: WENDA_DATA_DIR or data)")]


def _settings(data_dir: Path | None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


@app.command("index")
def index_cmd(paths: PathsArg = None, data_dir: DataDir = None,
              force: Annotated[bool, typer.Option(help="rebuild even if nothing changed")] = False,
              replace: Annotated[bool, typer.Option(
                  help="make PATHS the whole corpus: uploaded and other documents leave it")
              ] = False) -> None:
    """Index the corpus: the folders named before (the bundled corpus at first), the
    documents uploaded, and PATHS, whose documents are added or update those of their ids.
    Print what changes and a per-document summary."""
    settings = _settings(data_dir)
    library = Library(settings.data_dir)
    try:
        if paths:
            _name_base(library, settings, paths, replace)
        elif replace:
            raise ValueError("--replace needs the folders that are to be the corpus")
        _build_corpus(settings, force)
    except (LoadError, ValueError) as exc:
        raise fail(str(exc)) from exc


def _name_base(library: Library, settings: Settings, paths: list[Path], replace: bool) -> None:
    named = {s.meta.doc_id for s in discover(paths)}
    if not library.has_base():
        # the first folders named are the corpus (the bundled one is only the default)
        library.set_base(paths, replace=replace)
        return
    current = {e.source.meta.doc_id for e in library.corpus([settings.corpus_dir])}
    if replace:
        gone = sorted(current - named)
        console.print(f"replacing the corpus: {len(named)} documents; leaving it: "
                      f"{', '.join(gone) or 'none'}")
        library.set_base(paths, replace=True)
        return
    updated = sorted(current & named)
    console.print(f"adding {len(named - current)} documents; updating {len(updated)}"
                  + (f": {', '.join(updated)}" if updated else ""))
    library.add_base(paths)


def _build_corpus(settings: Settings, force: bool = False) -> None:
    from index.embed import Embedder
    from service.engine import build_served

    # Not warmed up: the build loads the model only when it has texts to embed, so a build
    # with nothing changed is decided from the content hashes alone.
    embedder = Embedder(settings.model, settings.data_dir)
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = build_served(settings, embedder, force=force, progress=report)
    print_build(result)


documents_app = typer.Typer(no_args_is_help=True, help="The documents of the corpus: list, "
                            "add (stores the file under the data folder) and remove; each "
                            "change rebuilds the index.")
app.add_typer(documents_app, name="documents")


@documents_app.command("list")
def documents_list(data_dir: DataDir = None) -> None:
    """Every document of the corpus, with where it comes from."""
    settings = _settings(data_dir)
    try:
        entries = Library(settings.data_dir).corpus([settings.corpus_dir])
    except ValueError as exc:
        raise fail(str(exc)) from exc
    table = Table(title=f"{len(entries)} documents")
    for name in ("document", "from", "title", "file", "groups"):
        table.add_column(name, no_wrap=name == "document")
    for entry in entries:
        meta = entry.source.meta
        table.add_row(meta.doc_id, entry.origin, meta.title, entry.source.shown_name,
                      ",".join(meta.groups) or "public")
    console.print(table)


@documents_app.command("add")
def documents_add(
        files: Annotated[list[Path], typer.Argument(
            help="files to add (txt, md, html, pdf, docx, xlsx, csv)")],
        doc_id: Annotated[str | None, typer.Option("--id", help="document id (one file only; "
                                                   "default: from the file name)")] = None,
        title: Annotated[str | None, typer.Option(help="title (default: the file name)")] = None,
        company: Annotated[str, typer.Option(help="the company the document is about")] = "",
        year: Annotated[int | None, typer.Option(help="the year it reports on")] = None,
        groups: Annotated[str, typer.Option(help="access groups, comma-separated; "
                                            "empty: public")] = "",
        data_dir: DataDir = None) -> None:
    """Store files in the documents store and rebuild the index with them."""
    from index.corpus import meta_from_name
    from index.load import load_bytes

    settings = _settings(data_dir)
    library = Library(settings.data_dir)
    if doc_id and len(files) > 1:
        raise fail("--id names one document: give one file with it")
    try:
        for path in files:
            data = path.read_bytes()
            meta = meta_from_name(path)
            meta = replace(meta, doc_id=doc_id or meta.doc_id, title=title or meta.title,
                           company=company, year=year,
                           groups=tuple(g.strip() for g in groups.split(",") if g.strip()))
            load_bytes(data, path.name, meta)  # refused now, not at the build
            library.add(path.name, data, meta)
            console.print(f"stored {path.name} as {meta.doc_id}")
        _build_corpus(settings)
    except OSError as exc:
        raise fail(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except (LoadError, ValueError) as exc:
        raise fail(str(exc)) from exc


@documents_app.command("remove")
def documents_remove(doc_ids: Annotated[list[str], typer.Argument(help="document ids")],
                     data_dir: DataDir = None) -> None:
    """Take documents out of the corpus and rebuild the index without them."""
    settings = _settings(data_dir)
    library = Library(settings.data_dir)
    try:
        corpus = {e.source.meta.doc_id: e for e in library.corpus([settings.corpus_dir])}
        unknown = [d for d in doc_ids if d not in corpus]
        if unknown:
            raise ValueError(f"no document {', '.join(unknown)} in the corpus "
                             "(see `wenda documents list`)")
        for doc_id in doc_ids:
            library.remove(doc_id, in_base=corpus[doc_id].origin == "base")
            console.print(f"removed {doc_id}")
        _build_corpus(settings)
    except (LoadError, ValueError) as exc:
        raise fail(str(exc)) from exc


app.command("ingest", help="Same as `index` (kept for the first release's README).")(index_cmd)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:>6}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    console=err, transient=False)


def print_build(report: BuildReport) -> None:
    if report.up_to_date:
        console.print(f"index is up to date: {report.index_dir} (use --force to rebuild)")
        for doc_id, reason in report.skipped:
            err.print(f"[yellow]skipped[/] {doc_id}: {reason}")
        return
    table = Table(title=f"Index: {report.index_dir}")
    for name in ("document", "script", "characters", "chunks", "median chunk", "max chunk",
                 "sections", "tables"):
        table.add_column(name, justify="left" if name == "document" else "right",
                         no_wrap=name == "document")
    for d in report.documents:
        table.add_row(d.doc_id, d.script, f"{d.characters:,}", str(d.chunks),
                      f"{d.median_chunk:.0f}", str(d.max_chunk), str(d.sections), str(d.tables))
    console.print(table)
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in report.seconds.items())
    console.print(f"chunk sizes in characters of repaired text; embedded {report.embedded} "
                  f"passages, reused {report.reused}; {timings}")
    for doc_id, reason in report.skipped:
        err.print(f"[yellow]skipped[/] {doc_id}: {reason}")


@app.command()
def search(query: str,
           k: Annotated[int, typer.Option("--k", min=1, max=100, help="passages to show")] = 5,
           script: Annotated[list[str] | None, typer.Option(
               help="only documents in this script (repeatable)")] = None,
           doc: Annotated[list[str] | None, typer.Option(help="only this document id")] = None,
           method: Annotated[str, typer.Option(help="hybrid, bm25 or dense")] = "hybrid",
           data_dir: DataDir = None) -> None:
    """Print the passages ranked for a query, with document, section, lines and score."""
    from service.access import Filters
    from service.engine import Engine

    if not query.strip():
        raise fail("the query is empty")
    bad = [s for s in script or [] if s not in SCRIPTS]
    if bad or method not in ("hybrid", "bm25", "dense"):
        raise fail(f"unknown script {bad} (use {', '.join(SCRIPTS)}) or method {method!r}")
    try:
        engine = Engine.start(_settings(data_dir))
    except (IndexMissingError, IndexMismatchError, ValueError) as exc:
        raise fail(str(exc)) from exc
    filters = Filters(doc_ids=frozenset(doc or []), scripts=frozenset(script or []))
    hits = engine.search(query, k, filters, method)  # type: ignore[arg-type]
    if not hits:
        console.print("no passages found")
    for rank, hit in enumerate(hits, start=1):
        c = hit.chunk
        console.print(f"[bold]{rank}. {c.doc_id}[/]  {c.section_path or '(no section)'}  "
                      f"lines {c.line_start}-{c.line_end}  score {hit.score:.4f}")
        console.print(f"   {c.clean[:300]}", highlight=False)


# ---- ask and serve ------------------------------------------------------------------

@app.command()
def ask(question: str,
        top_k: Annotated[int, typer.Option("--top-k", min=1, help="passages to retrieve")] = 5,
        reply_script: Annotated[str, typer.Option(
            help="script of converted quotes: auto, original, zh-Hant or zh-Hans")] = "auto",
        json_out: Annotated[bool, typer.Option("--json", help="print the /v1/ask JSON")] = False,
        data_dir: DataDir = None) -> None:
    """Answer a question with citations: document, section, lines and the quoted text."""
    from pydantic import ValidationError

    from service.api import queries
    from service.api.backend import load_backend
    from service.errors import WendaError, translate_validation
    from service.schemas import AskRequest

    settings = _settings(data_dir)
    try:  # the API's checks, before the slow model load, so a bad question fails at once
        request = AskRequest.model_validate(
            {"question": question, "top_k": top_k, "reply_script": reply_script})
        queries.check_question(question, settings)
        queries.check_top_k(top_k, settings)
    except ValidationError as exc:
        raise fail(translate_validation(exc.errors()).message) from exc
    except WendaError as exc:
        raise fail(exc.message) from exc
    try:
        backend = load_backend(settings)
    except (IndexMissingError, IndexMismatchError, ValueError) as exc:
        raise fail(str(exc)) from exc
    try:
        result = queries.ask(backend, settings, request)
    except WendaError as exc:
        raise fail(exc.message) from exc
    if json_out:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_answer(result)


def print_answer(result: AskResponse) -> None:
    """The answer, each citation with its quote, then the passages searched."""
    from rich.text import Text

    style = "bold" if result.answerable else "bold yellow"
    console.print(Text(result.answer, style=style))
    for c in result.citations:
        console.print()
        console.print(Text(f"[{c.n}] ", style="bold cyan") + Text(c.where()))
        for quote in dict.fromkeys(filter(None, (c.display or c.quote, c.display_converted))):
            console.print(Text("    " + quote.strip().replace("\n", "\n    "), style="green"))
    if result.passages:
        table = Table(title="passages searched", title_justify="left")
        for name in ("#", "document", "section", "lines", "score"):
            table.add_column(name, justify="right" if name in ("#", "score") else "left")
        for rank, p in enumerate(result.passages, start=1):
            table.add_row(str(rank), Text(p.title), Text(p.section or "-"),
                          f"{p.line_start}-{p.line_end}", f"{p.score:.4f}")
        console.print()
        console.print(table)
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in result.timings_ms.items())
    if timings:
        console.print(Text(timings, style="dim"))


@app.command()
def serve(host: Annotated[str | None, typer.Option(
              help="address to listen on (default: WENDA_HOST or 127.0.0.1)")] = None,
          port: Annotated[int | None, typer.Option(
              min=1, max=65535, help="port (default: WENDA_PORT or 8000)")] = None,
          workers: Annotated[int | None, typer.Option(
              min=1, max=32, help="worker processes, each answering on one CPU (default: "
              "WENDA_WORKERS or 1)")] = None,
          data_dir: DataDir = None) -> None:
    """Serve the HTTP API, the OpenAI-compatible chat endpoint and the ask page."""
    from service.api.guards import trusted_hosts
    from service.app import create_app
    from service.server import serve_forever

    settings = _settings(data_dir)
    settings = settings.model_copy(update={k: v for k, v in (
        ("host", host), ("port", port), ("workers", workers)) if v is not None})
    try:
        api = create_app(settings)  # (checks the settings also for --workers N)
        if settings.workers > 1 and settings.backend == "milvus":
            # its gRPC channel, opened while the engine loads, runs threads of the client
            # library that a fork would copy mid-call (docs/workers.md)
            raise ValueError("--workers above 1 does not go with WENDA_BACKEND=milvus: run one "
                             "worker per replica (deploy/)")
        if settings.workers > 1 and settings.reload_seconds <= 0 and settings.document_writes:
            raise ValueError("--workers above 1 with document writes needs "
                             "WENDA_RELOAD_SECONDS above 0: the workers follow each other's "
                             "builds through hot reload")
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.api_keys:
        err.print(f"[bold yellow]warning:[/] listening on {settings.host} without API keys "
                  "(WENDA_API_KEYS): whoever can reach it can read every document")
    if trusted_hosts(settings) is None and settings.allowed_hosts.strip() != "*":
        err.print(f"[bold yellow]warning:[/] listening on {settings.host} without "
                  "WENDA_ALLOWED_HOSTS: requests naming any host are answered; list the "
                  "names clients use (e.g. wenda.intranet.example)")
    if settings.workers == 1:
        serve_forever(api, settings, log_config=log_config())
        return
    from service.workers import serve_workers

    del api  # each worker makes its own
    status = serve_workers(settings, settings.workers, log_config())
    if status:
        raise typer.Exit(status)


def log_config() -> dict[str, Any]:
    """uvicorn's logging with our own `wenda.*` lines beside its own; the root logger is left
    alone (jieba logs at DEBUG). uvicorn applies it when the server starts, so nothing here
    attaches a handler to a stream that may be gone by the time a line is logged."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["wenda"] = {"()": "uvicorn.logging.DefaultFormatter",
                                     "fmt": "%(levelprefix)s %(name)s: %(message)s"}
    config["handlers"]["wenda"] = {"formatter": "wenda", "class": "logging.StreamHandler",
                                   "stream": "ext://sys.stderr"}
    config["loggers"]["wenda"] = {"handlers": ["wenda"], "level": "INFO", "propagate": False}
    return config



