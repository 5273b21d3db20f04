"""Enqueue (target 3): one sendBatch of 1,000 messages until committed, vs a raw insert route.

`python -m bench.enqueue --db sqlite,postgres --repeat 10`. `mailsage serve` with
MAILSAGE_SERVE_SENDER=false (nothing delivers, so only the enqueue is timed); the client
times the whole HTTP request (sendBatch answers after the commit). Baseline: the same JSON
posted to bench/raw_starlette.py's /raw/batch (auth, one row per message, one transaction)
on the same database, alternating with MailSage.
"""

from __future__ import annotations

import argparse
import time

import httpx

from bench._common import (
    HOST,
    Harness,
    header,
    median,
    message_input,
    split_strs,
    start_profile,
    start_stack,
    summarize_profile,
    table,
)

SIZE = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="py-spy mailsage serve")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    if options.quick:
        options.repeat = 3
    rows = []
    profiles = []
    with Harness() as harness:
        for db in split_strs(options.db):
            stack = start_stack(harness, db, serve_sender="false")
            stack.api.create_config(port=2500, max_connections=2)
            raw = harness.uvicorn_app(
                "bench.raw_starlette:app", {**stack.env(), "BENCH_DATABASE_URL": stack.url}
            )
            headers = {"Authorization": f"Bearer {stack.account['api_key']}"}
            raw_client = httpx.Client(
                base_url=f"http://{HOST}:{raw.port}", headers=headers, timeout=60
            )
            times: dict[str, list[float]] = {"raw": [], "mailsage": []}
            if options.profile:
                profiles.append(
                    start_profile(harness, stack.serve.pid, f"enqueue-{db}", options.repeat * 0.8)
                )
            for r in range(options.repeat + 1):  # the first round warms up, not counted
                items = [message_input(r * SIZE + i) for i in range(SIZE)]
                started = time.perf_counter()
                response = raw_client.post("/raw/batch", json={"messages": items})
                raw_seconds = time.perf_counter() - started
                assert response.json()["queued"] == SIZE, response.text
                started = time.perf_counter()
                queued = stack.api.send_batch(items)
                ms_seconds = time.perf_counter() - started
                assert len(queued) == SIZE
                if r:
                    times["raw"].append(raw_seconds * 1000)
                    times["mailsage"].append(ms_seconds * 1000)
            raw_client.close()
            raw.stop()
            stack.api.close()
            stack.serve.stop()
            rows.append(
                [
                    db,
                    SIZE,
                    options.repeat,
                    median(times["raw"]),
                    median(times["mailsage"]),
                    max(times["mailsage"]),
                    median(times["mailsage"]) / median(times["raw"]),
                    "yes" if median(times["mailsage"]) < 250 else "no",
                ]
            )
        header(f"sendBatch of {SIZE} messages until committed (client-side request time)")
        print(
            table(
                [
                    "db",
                    "batch",
                    "repeats",
                    "raw median ms",
                    "mailsage median ms",
                    "mailsage max ms",
                    "mailsage/raw",
                    "< 250 ms",
                ],
                rows,
            )
        )
        for path in profiles:
            if path:
                print(summarize_profile(path))


if __name__ == "__main__":
    main()
