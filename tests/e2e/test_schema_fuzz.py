"""Schemathesis against the real server: every check, thousands of generated requests,
no server error and no response outside the declared schema (see schemathesis.toml for
the three rules that are data, not schema)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 150  # per operation and phase: over 2,000 requests in all
SEED = 20261201


def test_schemathesis_finds_no_failure_in_thousands_of_generated_requests(base_url: str) -> None:
    run = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run",
         f"{base_url}/openapi.json", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
         "--workers", "1", "--no-color"],
        capture_output=True, text=True, timeout=900)
    summary = re.search(r"(\d+) generated, (\d+) passed$", run.stdout, re.M)
    print(f"schemathesis: {summary.group(0) if summary else run.stdout[-3000:]}")
    assert run.returncode == 0, run.stdout[-6000:]
    assert summary is not None, run.stdout[-3000:]
    assert int(summary.group(1)) == int(summary.group(2)) >= 2000, summary.group(0)
