"""Latency on an idle system (target 2): one sendEmail until the sink's 250.

`python -m bench.latency --db sqlite,postgres --samples 200`. `mailsage serve` (sender in
process), one config (maxConnections 1) on bench/fast_sink.py. Each sample: wall time
before the request, then the sink's wall time for that Message-ID (time.time() in both
processes). Samples are sequential with a pause, after a warm-up. Baseline: the same
message over one persistent aiosmtplib connection from this process to the same sink.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiosmtplib

from bench._common import (
    HOST,
    Harness,
    Sink,
    header,
    median,
    message_input,
    percentile,
    split_strs,
    start_stack,
    table,
)
from bench.raw_smtp import template

PAUSE = 0.05


def wait_record(sink: Sink, message_id: str, timeout: float = 5.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stamp, seen in reversed(sink.poll()):
            if seen == message_id:
                return stamp
        time.sleep(0.0005)
    return None


async def raw_latencies(sink: Sink, samples: int) -> list[float]:
    before, _, after = template().partition(b"<placeholder0id@raw.mailsage.test>")
    client = aiosmtplib.SMTP(hostname=HOST, port=sink.port, use_tls=False, start_tls=False)
    await client.connect()
    out = []
    for i in range(samples + 5):
        message_id = f"<lat.{time.time_ns()}.{i}@raw.mailsage.test>"
        started = time.time()
        await client.sendmail(
            "bench@example.com", ["rcpt@example.org"], before + message_id.encode() + after
        )
        stamp = await asyncio.to_thread(wait_record, sink, message_id)
        if i >= 5 and stamp is not None:
            out.append((stamp - started) * 1000)
        await asyncio.sleep(PAUSE)
    await client.quit()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    if options.quick:
        options.samples = 30
    rows = []
    with Harness() as harness:
        sink = harness.sink("fast")
        for db in split_strs(options.db):
            raw = asyncio.run(raw_latencies(sink, options.samples))
            stack = start_stack(harness, db)
            stack.api.create_config(port=sink.port, max_connections=1)
            latencies, commits, lost = [], [], 0
            for i in range(options.samples + 5):
                started = time.time()
                message = stack.api.send_email(message_input(i))
                committed = time.time()
                stamp = wait_record(sink, message["rfcMessageId"])
                if stamp is None:
                    lost += 1
                elif i >= 5:
                    latencies.append((stamp - started) * 1000)
                    commits.append((committed - started) * 1000)
                time.sleep(PAUSE)
            stack.api.close()
            stack.serve.stop()
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            rows.append(
                [
                    db,
                    len(latencies),
                    lost,
                    median(commits),
                    p50,
                    p99,
                    max(latencies, default=float("nan")),
                    median(raw),
                    percentile(raw, 99),
                    p50 / median(raw),
                    "yes" if p50 < 20 and p99 < 50 else "no",
                ]
            )
        header(
            "sendEmail request start -> sink's 250 (ms), idle system; raw = one aiosmtplib "
            "connection, send start -> sink"
        )
        print(
            table(
                [
                    "db",
                    "samples",
                    "lost",
                    "answer p50",
                    "p50",
                    "p99",
                    "max",
                    "raw p50",
                    "raw p99",
                    "p50/raw",
                    "target met",
                ],
                rows,
            )
        )


if __name__ == "__main__":
    main()
