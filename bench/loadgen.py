"""HTTP load generator (own process): C keep-alive connections for T seconds, raw asyncio.

`python -m bench.loadgen --url http://127.0.0.1:P/graphql --method POST --body '{...}'
--header 'Authorization: Bearer ...' --connections 32 --seconds 10` prints one JSON line:
requests, errors, per_second, p50_ms, p99_ms, rows_in_first_response. HTTP/1.1 is written
by hand (no client library) so the generator costs less than the server under test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


async def worker(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    latencies: list[float],
    errors: list[str],
    sample: list[bytes],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200") or b'"errors"' in body:
                errors.append(head.split(b"\r\n", 1)[0].decode() + " " + body[:200].decode())
            if not sample:
                sample.append(body)
    finally:
        writer.close()


async def run(options: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(options.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    body = options.body.encode()
    lines = [
        f"{options.method} {url.path or '/'} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *options.header,
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    errors: list[str] = []
    sample: list[bytes] = []
    # Warm-up (connections, caches), not counted.
    warm = time.perf_counter() + options.warmup
    await asyncio.gather(
        *(worker(host, port, request, warm, [], errors, sample) for _ in range(options.connections))
    )
    started = time.perf_counter()
    deadline = started + options.seconds
    await asyncio.gather(
        *(
            worker(host, port, request, deadline, latencies, errors, sample)
            for _ in range(options.connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return 1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[:1],
        "per_second": len(latencies) / elapsed,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "rows_in_first_response": sample[0].count(b'"fromEmail"') if sample else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=1)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
