"""Delivery throughput (targets 1 and 6): MailSage end to end vs a raw aiosmtplib loop.

Target 1: `python -m bench.throughput --db sqlite,postgres --sink fast,aiosmtpd
--connections 1,4,16 --messages 20000`. Per (database, sink, connections): the raw baseline
(bench/raw_smtp.py, same sink, same number of persistent connections), then a fresh
database with `mailsage serve` (sender in process), one config with maxConnections N, and
the messages queued with sendBatch (1,000 per call). MailSage's figure is end to end: from
the first sendBatch request to the sink's record of the last message.

Target 6: `python -m bench.throughput --db postgres --workers 1,2,4 --connections 16`.
`mailsage serve` with MAILSAGE_SERVE_SENDER=false queues everything first; then W
`mailsage worker --concurrency N` processes start. The rate counts the messages delivered
after every worker was running. Duplicates and missing Message-IDs are counted at the sink.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import time
from typing import Any

from bench._common import (
    ROOT,
    CpuMeter,
    Harness,
    Sink,
    duplicates_and_missing,
    header,
    message_input,
    postgres_pids,
    split_ints,
    split_strs,
    start_profile,
    start_stack,
    summarize_profile,
    table,
    wait_worker_running,
)

BATCH = 1000
#: Give up on a run when the sink saw no new message for this long.
STALL = 20.0


def in_flight(connections: int) -> int:
    """Messages a sender holds (its concurrency): the shipped default (256), or sixteen per
    connection beyond it."""
    return max(256, 16 * connections)


def cpu_columns(per_message: dict[str, float]) -> list[float]:
    """CPU us per delivered message of the workers, PostgreSQL and the sink, and their sum."""
    values = [per_message["workers"], per_message["postgres"], per_message["sink"]]
    return [*values, sum(values)]


def raw_baseline(sink: Sink, connections: int, messages: int) -> dict[str, Any]:
    """The raw loop's figures, with the CPU per message of the loop (its whole process,
    start-up included) and of the sink."""
    sink.reset()
    args = [sys.executable, "-m", "bench.raw_smtp", "--port", str(sink.port)]
    args += ["--connections", str(connections), "--messages", str(messages)]
    meter = CpuMeter(sink=lambda: [sink.child.pid])
    meter.start()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures: dict[str, Any] = json.loads(result.stdout)
    sink.wait_for(messages)
    meter.stop()
    client = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    figures["client_us"] = client * 1e6 / messages
    figures["sink_us"] = meter.per_message_us(messages)["sink"]
    return figures


def enqueue(stack: Any, messages: int) -> tuple[set[str], float]:
    expected: set[str] = set()
    started = time.perf_counter()
    for start in range(0, messages, BATCH):
        items = [message_input(i) for i in range(start, min(messages, start + BATCH))]
        expected.update(m["rfcMessageId"] for m in stack.api.send_batch(items))
    return expected, time.perf_counter() - started


def mailsage_run(
    harness: Harness, db: str, sink: Sink, connections: int, messages: int, profile: bool
) -> dict[str, Any]:
    concurrency = in_flight(connections)
    stack = start_stack(harness, db, worker_concurrency=concurrency)
    try:
        stack.api.create_config(port=sink.port, max_connections=connections)
        sink.reset()
        profile_path = None
        if profile:
            profile_path = start_profile(
                harness, stack.serve.pid, f"{db}-{sink.kind}-{connections}", seconds=15
            )
        meter = CpuMeter(
            workers=functools.partial(list, [stack.serve.pid]),
            postgres=postgres_pids if db == "postgres" else list,
            sink=functools.partial(list, [sink.child.pid]),
        )
        meter.start()
        t0 = time.time()
        expected, enqueue_seconds = enqueue(stack, messages)
        complete = sink.wait_for(messages, stall_timeout=STALL)
        meter.stop()
        records = sink.poll()
        last = max(t for t, _ in records) if records else time.time()
        seconds = last - t0
        duplicates, missing = duplicates_and_missing(records, expected)
        return {
            "per_second": len(set(m for _, m in records) & expected) / seconds,
            "seconds": seconds,
            "enqueue_seconds": enqueue_seconds,
            "duplicates": duplicates,
            "missing": missing,
            "complete": complete,
            "profile": profile_path,
            "cpu": cpu_columns(meter.per_message_us(messages)),
        }
    except Exception:
        print(stack.serve.log()[-2000:], file=sys.stderr)
        raise
    finally:
        stack.api.close()
        stack.serve.stop()


def target1(options: argparse.Namespace) -> None:
    rows = []
    profiles = []
    with Harness() as harness:
        sinks = {kind: harness.sink(kind) for kind in split_strs(options.sink)}
        for db in split_strs(options.db):
            for kind, sink in sinks.items():
                for connections in split_ints(options.connections):
                    raw = raw_baseline(sink, connections, options.messages)
                    profile = options.profile and connections == max(
                        split_ints(options.connections)
                    )
                    try:
                        ms = mailsage_run(harness, db, sink, connections, options.messages, profile)
                    except Exception as exc:  # one failed run must not lose the others
                        print(f"  {db} {kind} conns={connections}: {exc}", file=sys.stderr)
                        rows.append(
                            [
                                db,
                                kind,
                                connections,
                                options.messages,
                                raw["per_second"],
                                "error",
                                "-",
                                "-",
                                "-",
                                "-",
                                "error",
                                *["-"] * 4,
                                raw["client_us"],
                                raw["client_us"] + raw["sink_us"],
                            ]
                        )
                        continue
                    if ms["profile"]:
                        profiles.append(ms["profile"])
                    rows.append(
                        [
                            db,
                            kind,
                            connections,
                            options.messages,
                            raw["per_second"],
                            ms["per_second"],
                            ms["per_second"] / raw["per_second"],
                            ms["enqueue_seconds"],
                            ms["duplicates"],
                            ms["missing"],
                            "yes" if ms["complete"] else "NO",
                            *ms["cpu"],
                            raw["client_us"],
                            raw["client_us"] + raw["sink_us"],
                        ]
                    )
                    print(
                        f"  {db} {kind} conns={connections}: raw {raw['per_second']:.0f}/s, "
                        f"mailsage {ms['per_second']:.0f}/s",
                        file=sys.stderr,
                        flush=True,
                    )
        header("Delivery throughput: end to end (sendBatch to the sink's last record) vs raw loop")
        print(
            table(
                [
                    "db",
                    "sink",
                    "conns",
                    "messages",
                    "raw msg/s",
                    "mailsage msg/s",
                    "ratio",
                    "enqueue s",
                    "dup",
                    "missing",
                    "complete",
                    "CPU us/msg: serve",
                    "postgres",
                    "sink",
                    "total",
                    "raw: client",
                    "raw total",
                ],
                rows,
            )
        )
        print(
            "\nCPU per delivered message (user + system, from /proc): `mailsage serve` (the "
            "sendBatch requests included), PostgreSQL's processes and the sink; raw: the raw "
            "loop's whole process, and with the sink. Two cores carry at most 2e6 / total "
            "messages a second."
        )
        for path in profiles:
            print(summarize_profile(path))


def target6(options: argparse.Namespace) -> None:
    connections = max(split_ints(options.connections))
    rows = []
    profiles = []
    with Harness() as harness:
        sink = harness.sink(split_strs(options.sink)[0])
        raw = raw_baseline(sink, connections, options.messages)
        base_rate = None
        for workers in split_ints(options.workers):
            stack = start_stack(harness, "postgres", serve_sender="false")
            try:
                stack.api.create_config(port=sink.port, max_connections=connections)
                sink.reset()
                expected, _ = enqueue(stack, options.messages)
                env = stack.env()
                children = [
                    harness.worker(env, concurrency=in_flight(connections)) for _ in range(workers)
                ]
                for child in children:
                    wait_worker_running(child)
                if options.profile and workers == 1:
                    profiles.append(
                        start_profile(harness, children[0].pid, f"worker-{workers}", 15)
                    )
                meter = CpuMeter(
                    workers=functools.partial(list, [child.pid for child in children]),
                    postgres=postgres_pids,
                    sink=lambda: [sink.child.pid],
                )
                meter.start()
                all_running = time.time()
                before = sum(1 for t, _ in sink.poll() if t <= all_running)
                complete = sink.wait_for(options.messages, stall_timeout=STALL)
                meter.stop()
                records = sink.poll()
                last = max(t for t, _ in records)
                rate = (len(records) - before) / max(last - all_running, 1e-9)
                duplicates, missing = duplicates_and_missing(records, expected)
                base_rate = base_rate or rate
                rows.append(
                    [
                        workers,
                        connections,
                        options.messages,
                        before,
                        rate,
                        rate / base_rate,
                        rate / raw["per_second"],
                        duplicates,
                        missing,
                        "yes" if complete else "NO",
                        *cpu_columns(meter.per_message_us(len(records) - before)),
                    ]
                )
                print(f"  workers={workers}: {rate:.0f}/s", file=sys.stderr, flush=True)
                for child in children:
                    child.stop()
            finally:
                stack.api.close()
                stack.serve.stop()
        header(
            "Scale-out on PostgreSQL: `mailsage worker --concurrency "
            f"{in_flight(connections)}` processes, "
            f"config maxConnections {connections}; raw loop ({connections} conns) "
            f"{raw['per_second']:.0f} msg/s"
        )
        print(
            table(
                [
                    "workers",
                    "conns/worker",
                    "messages",
                    "sent before all up",
                    "msg/s",
                    "vs 1 worker",
                    "vs raw",
                    "dup",
                    "missing",
                    "complete",
                    "CPU us/msg: workers",
                    "postgres",
                    "sink",
                    "total",
                ],
                rows,
            )
        )
        print(
            f"\nRaw loop CPU per message: client {raw['client_us']:.0f} us (its whole process), "
            f"sink {raw['sink_us']:.0f} us, total {raw['client_us'] + raw['sink_us']:.0f} us. "
            "Two cores carry at most 2e6 / total messages a second."
        )
        for path in profiles:
            if path:
                print(summarize_profile(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument("--sink", default="fast,aiosmtpd", help="fast,aiosmtpd")
    parser.add_argument("--connections", default="1,4,16")
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--workers", default="", help="scale-out mode (PostgreSQL): e.g. 1,2,4")
    parser.add_argument("--profile", action="store_true", help="py-spy the largest run")
    parser.add_argument("--quick", action="store_true", help="1,000 messages, small matrix")
    options = parser.parse_args()
    if options.quick:
        options.messages = 1000
        options.sink = split_strs(options.sink)[0] if options.sink else "fast"
        options.connections = "4"
        if options.workers:
            options.workers = "1,2"
    if options.workers:
        target6(options)
    else:
        target1(options)


if __name__ == "__main__":
    main()
