"""A minimal asyncio SMTP sink that only speaks enough SMTP; records `<time> <Message-ID>` lines.

Run: `python -m bench.fast_sink --port 0 --record FILE` prints {"port": N}. It answers EHLO,
HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT with minimal parsing, so the sink is not the
ceiling. The wall-clock time (time.time(), comparable across processes on one machine) is
taken when the final dot arrives, just before the 250 reply is written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import time
from typing import IO

_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(\S+)")
_EHLO = b"250-fast-sink\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n"
_END = b"\r\n.\r\n"


class _Session(asyncio.Protocol):
    def __init__(self, record: IO[str]) -> None:
        self.record = record
        self.buffer = bytearray()
        self.in_data = False
        self.searched = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 fast-sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        transport = self.transport
        assert transport is not None
        while buf:
            if self.in_data:
                # The message may be empty: DATA's "\r\n" was consumed, so accept a bare ".\r\n".
                if buf.startswith(b".\r\n"):
                    end, skip = 0, 3
                else:
                    end = buf.find(_END, self.searched)
                    skip = 5
                    if end < 0:
                        self.searched = max(0, len(buf) - 4)
                        return
                body = bytes(buf[:end])
                del buf[: end + skip]
                self.in_data = False
                self.searched = 0
                stamp = time.time()
                header_end = body.find(b"\r\n\r\n")
                match = _MESSAGE_ID.search(body, 0, header_end if header_end >= 0 else len(body))
                message_id = match.group(1).decode(errors="replace") if match else "-"
                self.record.write(f"{stamp:.6f} {message_id}\n")
                self.record.flush()
                transport.write(b"250 2.0.0 OK queued\r\n")
                continue
            end = buf.find(b"\r\n")
            if end < 0:
                return
            verb = bytes(buf[:4]).upper()
            del buf[: end + 2]
            if verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP", b"HELO"):
                transport.write(b"250 2.0.0 OK\r\n")
            elif verb == b"EHLO":
                transport.write(_EHLO)
            elif verb == b"DATA":
                self.in_data = True
                transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                transport.write(b"221 2.0.0 Bye\r\n")
                transport.close()
                return
            else:
                transport.write(b"502 5.5.2 Command not implemented\r\n")


async def serve(port: int, record_path: str) -> None:
    record = open(record_path, "a", encoding="ascii")  # noqa: SIM115 - open until killed
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Session(record), "127.0.0.1", port, backlog=1024)
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
