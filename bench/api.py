"""GraphQL API (target 4): `smtpConfigs` (10 configs) over HTTP under load, vs raw Starlette.

`python -m bench.api --db sqlite,postgres --connections 32 --seconds 10 --rounds 3`.
`mailsage serve` (MAILSAGE_SERVE_SENDER=false, rate limit off) and bench/raw_starlette.py
(the same API-key check and the same two queries, no ORM, no GraphQL) run under uvicorn on
the same database; bench/loadgen.py drives each from its own process. Rounds alternate
raw / MailSage so drift hits both; the table shows the median round of each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from bench._common import (
    CONFIG_FIELDS,
    HOST,
    ROOT,
    Harness,
    cpu_seconds,
    header,
    median,
    split_strs,
    start_profile,
    start_stack,
    summarize_profile,
    table,
)

QUERY = "{ smtpConfigs { " + CONFIG_FIELDS + " } }"


def load(
    url: str, method: str, body: str, api_key: str, options: argparse.Namespace, server: int
) -> Any:
    """One loadgen run; adds the server process's CPU per request (user + system, µs)."""
    args = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        url,
        "--method",
        method,
        "--body",
        body,
        "--header",
        f"Authorization: Bearer {api_key}",
        "--connections",
        str(options.connections),
        "--seconds",
        str(options.seconds),
    ]
    before = cpu_seconds([server])
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout)
    used = cpu_seconds([server]) - before
    figures["cpu_us"] = used * 1e6 / max(figures["requests"], 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="py-spy mailsage serve")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    if options.quick:
        options.seconds, options.rounds = 3, 1
    rows = []
    profiles = []
    with Harness() as harness:
        for db in split_strs(options.db):
            stack = start_stack(harness, db, serve_sender="false")
            for i in range(10):
                stack.api.create_config(
                    port=2500 + i, max_connections=2, name=f"provider-{i}", default=i == 0
                )
            raw = harness.uvicorn_app(
                "bench.raw_starlette:app", {**stack.env(), "BENCH_DATABASE_URL": stack.url}
            )
            key = stack.account["api_key"]
            gql_body = json.dumps({"query": QUERY})
            results: dict[str, list[Any]] = {"raw": [], "mailsage": []}
            for round_ in range(options.rounds):
                results["raw"].append(
                    load(
                        f"http://{HOST}:{raw.port}/raw/smtp-configs",
                        "GET",
                        "",
                        key,
                        options,
                        raw.pid,
                    )
                )
                if options.profile and round_ == 0:
                    profiles.append(
                        start_profile(harness, stack.serve.pid, f"api-{db}", options.seconds)
                    )
                results["mailsage"].append(
                    load(
                        f"http://{HOST}:{stack.serve.port}/graphql",
                        "POST",
                        gql_body,
                        key,
                        options,
                        stack.serve.pid,
                    )
                )
            count = "/".join(str(results[s][0]["rows_in_first_response"]) for s in results)
            figures = {
                side: (
                    median([r["per_second"] for r in runs]),
                    median([r["p99_ms"] for r in runs]),
                    median([r["p50_ms"] for r in runs]),
                    sum(r["errors"] for r in runs),
                    median([r["cpu_us"] for r in runs]),
                )
                for side, runs in results.items()
            }
            for side, runs in results.items():
                for run in runs:
                    if run["first_error"]:
                        print(f"{db} {side} error: {run['first_error']}", file=sys.stderr)
            rows.append(
                [
                    db,
                    count,
                    figures["raw"][0],
                    figures["raw"][2],
                    figures["raw"][1],
                    figures["mailsage"][0],
                    figures["mailsage"][2],
                    figures["mailsage"][1],
                    figures["mailsage"][0] / figures["raw"][0],
                    figures["raw"][3] + figures["mailsage"][3],
                    figures["raw"][4],
                    figures["mailsage"][4],
                    figures["raw"][4] / figures["mailsage"][4],
                ]
            )
            raw.stop()
            stack.api.close()
            stack.serve.stop()
        header(
            f"GraphQL smtpConfigs vs raw Starlette route: {options.connections} connections, "
            f"{options.rounds} x {options.seconds:g} s rounds, medians"
        )
        print(
            table(
                [
                    "db",
                    "configs",
                    "raw req/s",
                    "raw p50 ms",
                    "raw p99 ms",
                    "gql req/s",
                    "gql p50 ms",
                    "gql p99 ms",
                    "ratio",
                    "errors",
                    "raw CPU µs/req",
                    "gql CPU µs/req",
                    "CPU ratio",
                ],
                rows,
            )
        )
        for path in profiles:
            if path:
                print(summarize_profile(path))


if __name__ == "__main__":
    main()
