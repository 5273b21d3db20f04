"""Subscriptions (target 5): 1,000 subscribers, sink's 250 -> `next` frame; memory each.

`python -m bench.subscriptions --subscribers 1000 --processes 2`. PostgreSQL: `mailsage
serve` with MAILSAGE_SERVE_SENDER=false; N messages queued first (nothing sends yet); N
websocket clients in P bench/subscriber.py processes each subscribe `deliveryEvents(messageId)`
to one message. RSS of serve before and after they connect gives memory per idle subscriber.
Then one `mailsage worker` delivers to bench/fast_sink.py, and for each message the time
from the sink's 250 to the SENT `next` frame (wall clocks, one machine) is measured: the event
goes worker -> PostgreSQL NOTIFY -> serve -> websocket. No raw baseline yet: the figures
are absolute (compare them within one run only).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench._common import (
    HOST,
    Harness,
    header,
    message_input,
    percentile,
    start_stack,
    table,
    wait_worker_running,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="worker --concurrency")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    if options.quick:
        options.subscribers, options.processes = 100, 1
    with Harness() as harness:
        sink = harness.sink("fast")
        stack = start_stack(harness, "postgres", serve_sender="false")
        stack.api.create_config(port=sink.port, max_connections=options.concurrency)
        messages = []
        for start in range(0, options.subscribers, 1000):
            count = min(1000, options.subscribers - start)
            messages += stack.api.send_batch([message_input(start + i) for i in range(count)])
        rfc_of = {m["id"]: m["rfcMessageId"] for m in messages}
        time.sleep(1)
        rss_before = stack.serve.rss_kib()
        clients = []
        per = -(-len(messages) // options.processes)
        for p in range(options.processes):
            ids = harness.tmp / f"ids-{p}.txt"
            ids.write_text("\n".join(m["id"] for m in messages[p * per : (p + 1) * per]))
            out = harness.tmp / f"received-{p}.txt"
            args = [
                sys.executable,
                "-m",
                "bench.subscriber",
                "--url",
                f"ws://{HOST}:{stack.serve.port}/graphql",
                "--key",
                stack.account["api_key"],
                "--ids",
                str(ids),
                "--out",
                str(out),
                "--timeout",
                "60",
            ]
            clients.append((harness.spawn(f"subscriber-{p}", args), out))
        started = time.monotonic()
        for child, _ in clients:
            assert child.process.stdout is not None
            line = child.process.stdout.readline()
            if b"ready" not in line:
                raise RuntimeError(f"subscriber failed:\n{child.log()}")
        connect_seconds = time.monotonic() - started
        time.sleep(2)
        rss_after = stack.serve.rss_kib()
        worker = harness.worker(stack.env(), concurrency=options.concurrency)
        wait_worker_running(worker)
        for child, _ in clients:
            child.process.wait(timeout=120)
        sink_at = {mid: t for t, mid in sink.poll()}
        latencies = []
        for _, out in clients:
            for record in out.read_text().splitlines():
                stamp, message_id = record.split(" ", 1)
                sent_at = sink_at.get(rfc_of[message_id])
                if sent_at is not None:
                    latencies.append((float(stamp) - sent_at) * 1000)
        worker.stop()
        stack.api.close()
        stack.serve.stop()
        first, last = min(sink_at.values()), max(sink_at.values())
        rate = len(sink_at) / max(last - first, 1e-9)
        per_sub = (rss_after - rss_before) / len(messages)
        header(
            f"Subscriptions on PostgreSQL: {len(messages)} subscribers in {options.processes} "
            f"process(es), connected in {connect_seconds:.1f} s; one worker delivered "
            f"{len(sink_at)} messages at {rate:.0f} msg/s while they listened"
        )
        print(
            table(
                [
                    "subscribers",
                    "SENT frames",
                    "p50 ms",
                    "p99 ms",
                    "max ms",
                    "serve RSS before MiB",
                    "after MiB",
                    "KiB per subscriber",
                    "p99 < 50 ms",
                ],
                [
                    [
                        len(messages),
                        len(latencies),
                        percentile(latencies, 50),
                        percentile(latencies, 99),
                        max(latencies, default=float("nan")),
                        rss_before / 1024,
                        rss_after / 1024,
                        per_sub,
                        "yes" if percentile(latencies, 99) < 50 else "no",
                    ]
                ],
            )
        )


if __name__ == "__main__":
    main()
