"""Cold-start benchmark: the median wall time of N fresh processes for `wenda ask`, for
`wenda serve` until GET /readyz answers 200 (and the first /v1/ask after it), and for
`wenda index` with nothing changed. Prints figures; not a timed test.

Run from the repository with the index built (`wenda index`):
    python eval/bench_start.py [--runs 5] [--port 8712] [--data-dir DATA]
Each command is `python -m eval.cli ...`, the same app as the `wenda` command, run with this
interpreter and environment, so PYTHONPATH and WENDA_DATA_DIR choose the code and the data.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

QUESTION = "商湯2023年的毛利是多少？"
READY_TIMEOUT = 180.0  # seconds a server may take to become ready before the run fails


def wenda(*args: str, data_dir: str | None) -> list[str]:
    extra = ["--data-dir", data_dir] if data_dir else []
    return [sys.executable, "-m", "eval.cli", *args, *extra]


def timed_run(command: list[str], expect: str) -> float:
    """Wall seconds of one run of `command`, which must succeed and print `expect`."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or expect not in done.stdout:
        raise SystemExit(f"{' '.join(command[2:])} failed ({done.returncode}):\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def _get(port: int, path: str, body: dict[str, object] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if body is None:
            connection.request("GET", path)
        else:
            connection.request("POST", path, json.dumps(body).encode(),
                               {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def serve_run(port: int, data_dir: str | None) -> tuple[float, float]:
    """Seconds from starting `wenda serve` until /readyz is 200, and of the first /v1/ask."""
    command = wenda("serve", "--port", str(port), data_dir=data_dir)
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"wenda serve exited with {server.returncode}:\n"
                                 f"{(server.stderr.read() if server.stderr else '')[-2000:]}")
            if time.perf_counter() - started > READY_TIMEOUT:
                raise SystemExit(f"wenda serve was not ready after {READY_TIMEOUT:.0f} s")
            try:
                status, _ = _get(port, "/readyz")
            except OSError:  # not listening yet
                status = 0
            if status == 200:
                break
            time.sleep(0.02)
        ready = time.perf_counter() - started
        asked = time.perf_counter()
        status, reply = _get(port, "/v1/ask", {"question": QUESTION})
        if status != 200:
            raise SystemExit(f"POST /v1/ask answered {status}: {reply[:500]!r}")
        return ready, time.perf_counter() - asked
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def describe(name: str, runs: list[float], unit: Callable[[float], str]) -> str:
    return (f"{name:<34} median {unit(statistics.median(runs)):>8}   "
            f"min {unit(min(runs)):>8}   max {unit(max(runs)):>8}   ({len(runs)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command")
    parser.add_argument("--port", type=int, default=8712, help="port for `wenda serve`")
    parser.add_argument("--data-dir", help="data folder (default: WENDA_DATA_DIR or data)")
    parser.add_argument("--only", choices=("ask", "serve", "index"), action="append",
                        help="measure only this (repeatable)")
    args = parser.parse_args()
    only = set(args.only or ("ask", "serve", "index"))
    seconds = lambda s: f"{s:.2f} s"  # noqa: E731
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average before "
          f"{os.getloadavg()[0]:.2f}")
    lines = []
    if "ask" in only:
        command = wenda("ask", QUESTION, data_dir=args.data_dir)
        lines.append(describe("wenda ask", [timed_run(command, "[1]")
                                            for _ in range(args.runs)], seconds))
    if "serve" in only:
        runs = [serve_run(args.port, args.data_dir) for _ in range(args.runs)]
        lines.append(describe("wenda serve until /readyz 200", [r for r, _ in runs], seconds))
        lines.append(describe("  then the first POST /v1/ask", [a for _, a in runs],
                              lambda s: f"{s * 1000:.0f} ms"))
    if "index" in only:
        command = wenda("index", data_dir=args.data_dir)
        timed_run(command, "index")  # builds first if anything changed; not counted
        lines.append(describe("wenda index, nothing changed",
                              [timed_run(command, "up to date") for _ in range(args.runs)],
                              seconds))
    print("\n".join(lines))
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
