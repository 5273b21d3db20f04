"""An aiosmtpd sink in its own process; records `<time> <Message-ID>` lines like fast_sink.

Run: `python -m bench.aiosmtpd_sink --port 0 --record FILE` prints {"port": N}. The handler
does the least work possible (a regex for the Message-ID) so aiosmtpd itself is what costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import time
from typing import IO, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(\S+)")


class _Handler:
    def __init__(self, record: IO[str]) -> None:
        self.record = record

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        header_end = content.find(b"\r\n\r\n")
        match = _MESSAGE_ID.search(content, 0, header_end if header_end >= 0 else len(content))
        message_id = match.group(1).decode(errors="replace") if match else "-"
        self.record.write(f"{time.time():.6f} {message_id}\n")
        self.record.flush()
        return "250 2.0.0 OK queued"


async def serve(port: int, record_path: str) -> None:
    record = open(record_path, "a", encoding="ascii")  # noqa: SIM115 - open until killed
    handler = _Handler(record)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="localhost", ident="aiosmtpd bench sink", loop=loop),
        "127.0.0.1",
        port,
        backlog=1024,
    )
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record", required=True)
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(options.port, options.record))


if __name__ == "__main__":
    main()
