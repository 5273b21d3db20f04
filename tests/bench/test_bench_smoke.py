"""Each benchmark script runs in its --quick form, exits 0 and prints its figures (no timings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import postgres_reachable

ROOT = Path(__file__).resolve().parents[2]

SCRIPTS = {
    "throughput": (["bench.throughput", "--quick"], ["raw msg/s", "mailsage msg/s", "ratio"]),
    "scale-out": (["bench.throughput", "--quick", "--workers", "1,2"], ["workers", "dup"]),
    "latency": (["bench.latency", "--quick"], ["p50", "p99", "raw p50"]),
    "enqueue": (["bench.enqueue", "--quick"], ["raw median ms", "mailsage median ms"]),
    "api": (["bench.api", "--quick"], ["raw req/s", "gql req/s", "ratio", "gql CPU µs/req"]),
    "api-in-process": (["bench.api_inprocess", "--quick"], ["raw CPU µs/req", "gql CPU µs/req"]),
    "subscriptions": (["bench.subscriptions", "--quick"], ["p99 ms", "KiB per subscriber"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCRIPTS))
async def test_benchmark_script_runs_quick_and_prints_its_figures(name: str) -> None:
    # Given PostgreSQL (every script measures on it, some only on it)
    if not await postgres_reachable():
        pytest.skip("PostgreSQL is not reachable")
    args, expected = SCRIPTS[name]

    # When the script runs in its small form
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then it exits 0 and prints a table with its figures
    assert result.returncode == 0, result.stderr[-3000:]
    assert "|" in result.stdout
    for heading in expected:
        assert heading in result.stdout, result.stdout
