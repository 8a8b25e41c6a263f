"""Peers side by side (issue 12): Wenda and the usual hybrid recipes of LangChain,
LlamaIndex and Haystack 2.x (eval/peers.py) on the same corpus, the same questions and the
same embedding model: build time, peak RSS, query p50/p95, recall@1/5/10 per question
script and cross-lingual.

Run: HF_HUB_OFFLINE=1 python eval/bench_peers.py [--systems wenda,langchain,...] [--parts]
(`--parts` also judges each system's dense and keyword search alone). The peers need
`pip install -e '.[peers]'` (never part of Wenda's own install). Each system is built and
queried in its own child process, so its peak RSS is its own; a peer whose library is
missing is reported as such and left out. Prints figures; asserts nothing.

Recall is judged for every system by service.metrics.holds_evidence, the rule `wenda
eval` applies to Wenda's passages: a retrieved passage is a hit when it is cut from an
evidence string's document and its text holds that string after the shared normalisation
(so a peer chunk that cuts the string in two holds it no more than a Wenda chunk would).
Wenda is measured through Engine.search (the /v1/search path), its top 10 against each
peer's fused top 10. Questions: the answerable ones without a chat history (the peers
have no conversation memory) of the main set and the holdout sets, less the sealed
holdout6, which is run once only, at the end of the work it checks.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.peers import MODULES, PEERS, K, Passage, Search, Searcher, Source, build_peer
from index.embed import Embedder
from index.types import DEFAULT_MODEL
from service.metrics import holds_evidence, judged_text, median, percentile, retrieval_summary
from service.questions import Question, load_questions

if TYPE_CHECKING:
    from service.retrieve import Method

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("wenda", *PEERS)
SETS = ("questions", "holdout", "holdout2", "holdout3", "holdout4", "holdout5")
GROUPS = ("all", "script:zh-Hant", "script:zh-Hans", "script:en", "cross-lingual")
CACHES = Path("model") / "cache"  # under --work: the model's and the lexicon's caches
NAMES = {"wenda": "Wenda", "langchain": "LangChain", "llamaindex": "LlamaIndex",
         "haystack": "Haystack"}


def judged_questions(paths: Sequence[Path]) -> list[Question]:
    """The questions retrieval is judged on: answerable, and no follow-up of a chat."""
    return [q for path in paths for q in load_questions(path) if q.answerable and not q.history]


def rank_of(passages: Sequence[Passage], question: Question) -> int | None:
    """1-based rank of the first passage holding the question's evidence, None if none."""
    for rank, passage in enumerate(passages, start=1):
        if holds_evidence(passage.doc_id, passage.text, question):
            return rank
    return None


def read_sources(corpus: Path) -> list[Source]:
    """The corpus as every system reads it: the text Wenda's loader gives each file (the
    evidence strings were checked against that same text)."""
    from index.corpus import discover
    from index.load import load_document

    return [Source(s.meta.doc_id, load_document(s.path, s.meta).text)
            for s in discover([corpus])]


def build_wenda(corpus: Path, folder: Path, embedder: Embedder, seconds: dict[str, float],
                caches: Path) -> Searcher:
    """Wenda's own build into a fresh data folder, then its engine started on it, as
    `wenda index` and `wenda serve` do (the glossary of the bundled corpus included);
    the seconds of each go into `seconds`. The lexicon Wenda derives from CC-CEDICT once
    per data folder is copied in from `caches` when there, as the model's cache is shared
    by every system: a one-time cost of a new folder, not of a build."""
    from index.corpus import discover
    from service.config import Settings
    from service.engine import Engine, build

    shutil.rmtree(folder, ignore_errors=True)  # a cold build: no vectors cached from before
    (folder / "cache").mkdir(parents=True)
    for lexicon in caches.glob("lexicon-*.json"):
        shutil.copy(lexicon, folder / "cache" / lexicon.name)
    settings = Settings(data_dir=folder, corpus_dir=corpus,
                        glossary=ROOT / "corpus" / "glossary.toml")
    started = time.perf_counter()
    build(settings, discover([corpus]), embedder, force=True)
    seconds["index"] = time.perf_counter() - started
    engine = Engine.start(settings, embedder)
    seconds["start"] = time.perf_counter() - started - seconds["index"]

    def searching(method: Method) -> Search:
        return lambda question: [Passage(h.chunk.doc_id, judged_text(h.chunk))
                                 for h in engine.search(question, K, method=method)]

    return Searcher([Passage(c.doc_id, judged_text(c)) for c in engine.index.chunks],
                    searching("hybrid"), {"dense": searching("dense"),
                                          "keyword": searching("bm25")})


def measure(system: str, corpus: Path, questions: Sequence[Question], work: Path,
            embedder: Any = None, parts: bool = False) -> dict[str, Any]:
    """Build `system`, ask every question once (after one warm-up question); figures and
    each question's rank, with `parts` also each fused search's rank alone (untimed).
    Times are wall and CPU (this process, all threads): on a machine shared with other
    work the CPU times compare where the wall times drift. `embedder` stands in for the
    real model in tests."""
    started = _clock()
    if embedder is None:
        embedder = Embedder(DEFAULT_MODEL, work / "model")
    embedder.warm_up()
    model = _since(started)
    stages: dict[str, float] = {}
    started = _clock()
    if system == "wenda":
        searcher = build_wenda(corpus, work / "wenda", embedder, stages, work / CACHES)
    else:
        searcher = build_peer(system, read_sources(corpus), embedder)
    built = _since(started)
    searcher.search(questions[0].question)
    wall, cpu, ranks = [], [], {}
    for q in questions:
        t = _clock()
        found = searcher.search(q.question)
        took = _since(t)
        wall.append(took[0] * 1000)
        cpu.append(took[1] * 1000)
        ranks[q.id] = rank_of(found, q)
    alone = {name: {q.id: rank_of(search(q.question), q) for q in questions}
             for name, search in searcher.parts.items()} if parts else {}
    sizes = [len(p.text) for p in searcher.passages]
    return {"system": system, "model_seconds": model[0], "build_seconds": built[0],
            "build_cpu_seconds": built[1], "stages": stages, "passages": len(sizes),
            "mean_chars": sum(sizes) / max(len(sizes), 1),
            "p50_ms": median(wall), "p95_ms": percentile(wall, 0.95),
            "p50_cpu_ms": median(cpu), "p95_cpu_ms": percentile(cpu, 0.95),
            "ranks": ranks, "alone": alone,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(started: tuple[float, float]) -> tuple[float, float]:
    now = _clock()
    return now[0] - started[0], now[1] - started[1]


def origins(paths: Sequence[Path]) -> dict[str, str]:
    """Each question's set: the name of the file it comes from."""
    return {q.id: path.stem for path in paths for q in load_questions(path)}


def recall(figures: dict[str, Any], questions: Sequence[Question],
           origin: dict[str, str]) -> dict[str, dict[str, float]]:
    """recall@1/5/10 and MRR@10 per group of GROUPS, and per question set (`set:<name>`)."""
    groups: dict[str, list[int | None]] = {}
    for q in questions:
        keys = ["all", f"script:{q.script}", f"set:{origin.get(q.id, '?')}"]
        keys += ["cross-lingual"] if q.cross_lingual else []
        for key in keys:
            groups.setdefault(key, []).append(figures["ranks"][q.id])
    return {key: retrieval_summary(ranks) for key, ranks in groups.items()}


def table(results: list[dict[str, Any]], questions: Sequence[Question],
          origin: dict[str, str]) -> str:
    """The figures as Markdown tables; CPU times, memory and recall@5 with their ratio to
    Wenda's."""
    base = next((r for r in results if r["system"] == "wenda"), None)

    def ratio(value: float, key: str) -> str:
        return f" ({value / base[key]:.2f}×)" if base and base[key] else ""

    lines = ["| system | passages (mean chars) | model load s | build until searchable: wall s "
             "| CPU s | peak RSS MiB | query p50 / p95 ms: wall | CPU |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        parts = " (" + " + ".join(f"{name} {value:.1f}" for name, value in r["stages"].items()
                                  ) + ")" if r["stages"] else ""
        lines.append(
            f"| {NAMES[r['system']]} | {r['passages']:,} ({r['mean_chars']:.0f}) | "
            f"{r['model_seconds']:.1f} | {r['build_seconds']:.1f}{parts} | "
            f"{r['build_cpu_seconds']:.1f}{ratio(r['build_cpu_seconds'], 'build_cpu_seconds')} | "
            f"{r['peak_mib']:,.0f}{ratio(r['peak_mib'], 'peak_mib')} | "
            f"{r['p50_ms']:.1f} / {r['p95_ms']:.1f} | "
            f"{r['p50_cpu_ms']:.1f}{ratio(r['p50_cpu_ms'], 'p50_cpu_ms')} / "
            f"{r['p95_cpu_ms']:.1f}{ratio(r['p95_cpu_ms'], 'p95_cpu_ms')} |")
    summaries = {r["system"]: recall(r, questions, origin) for r in results}
    counts = {g: int(next(iter(summaries.values())).get(g, {}).get("n", 0)) for g in GROUPS}
    lines += ["", "| R@1 / R@5 / R@10 | " + " | ".join(
        f"{g.removeprefix('script:')} ({counts[g]})" for g in GROUPS) + " | R@5 vs Wenda |",
        "|---|" + "---|" * (len(GROUPS) + 1)]
    wenda_r5 = summaries.get("wenda", {}).get("all", {}).get("recall@5")
    for system, summary in summaries.items():
        cells = [" / ".join(f"{summary[g][f'recall@{k}']:.3f}" for k in (1, 5, 10))
                 if g in summary else "—" for g in GROUPS]
        r5 = summary["all"]["recall@5"]
        versus = f"{r5 / wenda_r5:.2f}×" if wenda_r5 else "—"
        lines.append(f"| {NAMES[system]} | " + " | ".join(cells) + f" | {versus} |")
    sets = sorted({k for s in summaries.values() for k in s if k.startswith("set:")})
    lines += ["", "| R@5 per set | " + " | ".join(
        f"{k.removeprefix('set:')} ({int(next(iter(summaries.values()))[k]['n'])})"
        for k in sets) + " |", "|---|" + "---|" * len(sets)]
    for system, summary in summaries.items():
        lines.append(f"| {NAMES[system]} | " + " | ".join(
            f"{summary[k]['recall@5']:.3f}" if k in summary else "—" for k in sets) + " |")
    if any(r["alone"] for r in results):
        lines += ["", "| R@5 fused / dense alone / keyword alone | " + " | ".join(
            g.removeprefix("script:") for g in GROUPS) + " |", "|---|" + "---|" * len(GROUPS)]
    for r in results:
        if r["alone"]:
            alone = {name: recall({"ranks": ranks}, questions, origin)
                     for name, ranks in r["alone"].items()}
            lines.append(f"| {NAMES[r['system']]} | " + " | ".join(" / ".join(
                f"{s[g]['recall@5']:.3f}" for s in (summaries[r["system"]], alone["dense"],
                                                    alone["keyword"])) if g in alone["dense"]
                else "—" for g in GROUPS) + " |")
    return "\n".join(lines)


def installed(system: str) -> bool:
    if system == "wenda":
        return True
    try:
        return importlib.util.find_spec(MODULES[system]) is not None
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        return False


def _child(system: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", system,
               "--corpus", str(args.corpus), "--work", str(args.work),
               *(["--parts"] if args.parts else []), "--questions", *map(str, args.questions)]
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT,
                         env=env).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"comma-separated, of {', '.join(SYSTEMS)}")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--questions", type=Path, nargs="+",
                        default=[ROOT / "eval" / f"{name}.jsonl" for name in SETS])
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-peers")
    parser.add_argument("--json", type=Path, help="also write every figure and rank here")
    parser.add_argument("--parts", action="store_true",
                        help="also judge each system's dense and keyword search alone")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    questions = judged_questions(args.questions)
    if args.child:
        print(json.dumps(measure(args.child, args.corpus, questions, args.work,
                                 parts=args.parts)))
        return
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {unknown}: expected some of {', '.join(SYSTEMS)}")
    # The model's cache and Wenda's lexicon are written once, here, so that no system's
    # figures pay for what a data folder caches on its first use.
    from index.lexicon import Lexicon

    Embedder(DEFAULT_MODEL, args.work / "model").warm_up()
    Lexicon.load(cache_dir=args.work / CACHES)
    results = []
    for system in systems:
        if not installed(system):
            print(f"{system}: not installed (pip install -e '.[peers]'), left out")
            continue
        results.append(_child(system, args))
        print(f"{system}: built in {results[-1]['build_seconds']:.1f} s", flush=True)
    print(f"\n{len(questions)} questions (answerable, no chat history) from "
          + ", ".join(p.name for p in args.questions) + f"; top {K} per system\n")
    print(table(results, questions, origins(args.questions)))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
