"""HTTP latency and throughput of POST /v1/ask on a running Wenda server (loopback only).

Run: wenda serve &   then   .venv/bin/python eval/bench_http.py --url http://127.0.0.1:8000
It starts nothing itself. Questions come from eval/questions.jsonl, cycled in file order:
first `--sequential` requests from one client, then `--concurrent` more from `--clients`
threads, each phase stopping early after `--max-seconds`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlsplit

import httpx

from eval.cli import DEFAULT_QUESTIONS
from service.questions import load_questions

LOOPBACK_NAMES = {"localhost"}


@dataclass
class Phase:
    name: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, started: float, outcome: str) -> None:
        if outcome == "200":
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            self.errors[outcome] = self.errors.get(outcome, 0) + 1

    def summary(self) -> dict[str, float | int | str | dict[str, int]]:
        done = sorted(self.latencies_ms)
        return {"phase": self.name, "clients": self.clients, "ok": len(done),
                "errors": dict(self.errors), "seconds": round(self.seconds, 2),
                "median_ms": round(statistics.median(done), 1) if done else math.nan,
                "p95_ms": round(percentile(done, 95), 1) if done else math.nan,
                "p99_ms": round(percentile(done, 99), 1) if done else math.nan,
                "max_ms": round(done[-1], 1) if done else math.nan,
                "requests_per_s": round(len(done) / self.seconds, 2) if self.seconds else 0.0}


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def check_loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host in LOOPBACK_NAMES or ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"--url must point at this machine (127.0.0.1, ::1 or localhost), "
                         f"got {host!r}")
    return url.rstrip("/")


@dataclass
class Bench:
    """One server and the questions to send it; `run` fills one phase."""

    url: str
    headers: dict[str, str]
    questions: Iterator[str]  # shared by the phases, so the second continues the cycle
    top_k: int = 5
    timeout: float = 60.0
    max_seconds: float = 300.0

    def run(self, phase: Phase, count: int) -> Phase:
        """Send `count` questions from `phase.clients` threads, stopping at the time limit."""
        lock = threading.Lock()
        budget = iter(range(count))
        deadline = time.monotonic() + self.max_seconds

        def next_question() -> str | None:
            with lock:
                if time.monotonic() > deadline or next(budget, None) is None:
                    return None
                return next(self.questions)

        def worker() -> None:
            with httpx.Client(base_url=self.url, headers=self.headers,
                              timeout=self.timeout) as client:
                while (question := next_question()) is not None:
                    self.ask(client, question, phase)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=phase.clients) as pool:
            for future in [pool.submit(worker) for _ in range(phase.clients)]:
                future.result()
        phase.seconds = time.perf_counter() - started
        return phase

    def ask(self, client: httpx.Client, question: str, phase: Phase) -> None:
        started = time.perf_counter()
        try:
            response = client.post("/v1/ask", json={"question": question, "top_k": self.top_k})
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        phase.record(started, outcome)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--sequential", type=int, default=200, help="requests from one client")
    parser.add_argument("--concurrent", type=int, default=200,
                        help="requests shared by the concurrent clients")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="limit per phase")
    parser.add_argument("--api-key", default="", help="sent as X-API-Key when set")
    parser.add_argument("--json", action="store_true", help="print the summaries as JSON")
    args = parser.parse_args()
    if not (0 <= args.sequential <= 10_000 and 0 <= args.concurrent <= 10_000
            and 1 <= args.clients <= 64):
        raise SystemExit("keep --sequential/--concurrent within 0..10000, --clients 1..64")
    url = check_loopback(args.url)
    headers = {"X-API-Key": args.api_key} if args.api_key else {}

    ready = httpx.get(f"{url}/readyz", headers=headers, timeout=10)
    if ready.status_code != 200:
        raise SystemExit(f"{url} is not ready ({ready.status_code}): {ready.text}")
    texts = [q.question for q in load_questions(DEFAULT_QUESTIONS)]
    bench = Bench(url, headers, itertools.cycle(texts), args.top_k, args.timeout,
                  args.max_seconds)
    phases = [bench.run(Phase("sequential", 1), args.sequential),
              bench.run(Phase("concurrent", args.clients), args.concurrent)]
    summaries = [p.summary() for p in phases]
    if args.json:
        print(json.dumps({"url": url, "server": ready.json(), "phases": summaries}, indent=2))
        return
    print(f"{url}  ({len(texts)} questions, top_k {args.top_k})")
    print(f"{'phase':<11}{'clients':>8}{'ok':>6}{'errors':>8}{'median ms':>11}{'p95 ms':>9}"
          f"{'p99 ms':>9}{'max ms':>9}{'req/s':>8}{'seconds':>9}")
    for s in summaries:
        errors = sum(s["errors"].values()) if isinstance(s["errors"], dict) else 0
        print(f"{s['phase']:<11}{s['clients']:>8}{s['ok']:>6}{errors:>8}{s['median_ms']:>11}"
              f"{s['p95_ms']:>9}{s['p99_ms']:>9}{s['max_ms']:>9}{s['requests_per_s']:>8}"
              f"{s['seconds']:>9}")
        if errors:
            print(f"  errors by status: {s['errors']}")


if __name__ == "__main__":
    main()
