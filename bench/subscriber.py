"""Subscriber process for bench/subscriptions.py: N graphql-transport-ws clients, one message each.

`python -m bench.subscriber --url ws://H:P/graphql --key ms_... --ids FILE --out FILE`:
subscribes `deliveryEvents(messageId: X)` for each id in FILE (one per line), prints "ready"
once every subscription is acknowledged by a connection, then writes `<wall time> <id>` for
each SENT frame to --out, and exits when all arrived or after --timeout seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

QUERY = "subscription($m: ID) { deliveryEvents(messageId: $m) { type messageId } }"


async def one(
    url: str,
    key: str,
    message_id: str,
    ready: asyncio.Semaphore,
    connected: list[int],
    received: dict[str, float],
    done: asyncio.Event,
) -> None:
    async with ready:
        socket = await connect(
            url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            max_queue=None,
            open_timeout=60,
            ping_interval=None,
        )
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        )
        ack = json.loads(await socket.recv())
        assert ack["type"] == "connection_ack", ack
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": QUERY, "variables": {"m": message_id}},
                }
            )
        )
    connected[0] += 1
    try:
        async for raw in socket:
            frame = json.loads(raw)
            if frame["type"] == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif frame["type"] == "next":
                event = frame["payload"]["data"]["deliveryEvents"]
                if event["type"] == "SENT":
                    received[message_id] = time.time()
                    done.set()
                    break
            elif frame["type"] in ("error", "complete"):
                break
    finally:
        await socket.close()


async def run(options: argparse.Namespace) -> None:
    with open(options.ids) as f:
        ids = [line.strip() for line in f if line.strip()]
    ready = asyncio.Semaphore(20)
    connected = [0]
    received: dict[str, float] = {}
    done = asyncio.Event()
    tasks = [
        asyncio.create_task(one(options.url, options.key, m, ready, connected, received, done))
        for m in ids
    ]
    while connected[0] < len(ids):
        await asyncio.sleep(0.05)
        for task in tasks:
            if task.done() and task.exception():
                raise task.exception()  # type: ignore[misc]
    await asyncio.sleep(0.5)  # let the last subscribe frames reach the server
    print("ready", flush=True)
    deadline = time.monotonic() + options.timeout
    while len(received) < len(ids) and time.monotonic() < deadline:
        done.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.5)
    with open(options.out, "w") as out:
        for message_id, stamp in received.items():
            out.write(f"{stamp:.6f} {message_id}\n")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=120)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
