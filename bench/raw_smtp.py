"""Baseline: a raw aiosmtplib loop over N persistent connections, pre-rendered ~2 KB messages.

Run: `python -m bench.raw_smtp --port P --connections N --messages M` prints one JSON line
{"messages", "seconds", "per_second", "message_ids_prefix"}. Each connection sends its share
with `sendmail` (no queue, no database): what the SMTP client alone can do against the sink.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import email.utils
import json
import time
import uuid
from email.message import EmailMessage

import aiosmtplib

from bench._common import BODY, HOST

_PLACEHOLDER = "<placeholder0id@raw.mailsage.test>"


def template() -> bytes:
    """The message as MailSage renders one (same headers and body), with an id placeholder."""
    msg = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    msg["From"] = "bench@mailsage.test"
    msg["To"] = "rcpt0@example.org"
    msg["Subject"] = "Benchmark message 0"
    msg["Date"] = email.utils.format_datetime(email.utils.localtime())
    msg["Message-ID"] = _PLACEHOLDER
    msg.set_content(BODY)
    return msg.as_bytes()


async def run(port: int, connections: int, messages: int, prefix: str) -> float:
    raw = template()
    before, _, after = raw.partition(_PLACEHOLDER.encode())
    bodies = [
        before + f"<{prefix}.{i}@raw.mailsage.test>".encode() + after for i in range(messages)
    ]
    clients = [
        aiosmtplib.SMTP(hostname=HOST, port=port, use_tls=False, start_tls=False)
        for _ in range(connections)
    ]
    for client in clients:
        await client.connect()
        await client.ehlo()

    async def loop(client: aiosmtplib.SMTP, start: int) -> None:
        for i in range(start, messages, connections):
            await client.sendmail("bench@mailsage.test", [f"rcpt{i}@example.org"], bodies[i])

    started = time.perf_counter()
    await asyncio.gather(*(loop(c, k) for k, c in enumerate(clients)))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.quit()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--messages", type=int, default=1000)
    options = parser.parse_args()
    prefix = uuid.uuid4().hex[:12]
    seconds = asyncio.run(run(options.port, options.connections, options.messages, prefix))
    print(
        json.dumps(
            {
                "messages": options.messages,
                "seconds": seconds,
                "per_second": options.messages / seconds,
                "message_ids_prefix": prefix,
            }
        )
    )


if __name__ == "__main__":
    main()
