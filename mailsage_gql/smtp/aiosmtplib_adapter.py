"""All we use of aiosmtplib below its public API: raw bytes on a session, and when they left."""

from __future__ import annotations

import asyncio
from typing import cast

from aiosmtplib import SMTP, SMTPResponse, SMTPServerDisconnected
from aiosmtplib.protocol import SMTPProtocol

#: The aiosmtplib release whose internals this module was checked against; pyproject.toml
#: pins the same one, and tests/integration/smtp/test_aiosmtplib_adapter.py fails when either
#: moves without the other or when an internal below no longer behaves as relied on.
CHECKED_VERSION = "5.1.3"


class SessionWire:
    """The byte stream under one connected aiosmtplib session, for what `SMTP` cannot say:
    whether bytes we wrote have left this process.

    Contract:
    - `write(data)` raises SMTPServerDisconnected or ConnectionError, or is cancelled, only
      while the end of `data` is still in this process: the peer cannot have received all
      of it. A hang-up that arrived with the previous reply raises before anything is written.
      Raising or cancelled, it aborts the connection, so the rest of `data` is never sent.
    - When `write` returns, the peer may have received all of `data`: the transport's write
      buffer is empty, or asyncio closed the connection without an error. Over TLS that
      buffer is the TLS layer's: encrypted bytes may still be queued below it, so a loss
      after `write` returned is counted after the end of `data` (never the unsafe side).
      asyncio's TLS transport never resumes writing under a high-water mark of 0, so the
      drain must only be reached when the TLS layer itself holds bytes, which it does not
      once every earlier command has had its reply.
    - The reply to what `write` sent is kept for `read_reply`, however early it arrives.
    - `read_reply()` waits without a timeout of its own (the caller bounds it) and raises
      SMTPServerDisconnected when the session closes first.
    - One `write` then one `read_reply` at a time, never while an aiosmtplib command runs on
      the same session.

    What it relies on inside aiosmtplib (`SMTPProtocol`, the object behind `SMTP.protocol`):
    - `_response_pending`: while False, data from the server is dropped as unsolicited; set
      True before writing so that an early reply is kept (as aiosmtplib's own commands do).
    - `_drain_helper()`: the stdlib flow-control wait. It raises ConnectionResetError when
      the connection is already lost, returns at once unless writing is paused, else waits
      for `resume_writing` (with a write-buffer high-water mark of 0: an empty buffer) or
      `connection_lost` (raising its error, returning when there is none).
    - `write()` raises SMTPServerDisconnected on a closed transport; `read_response()`
      returns the pending reply, or raises SMTPServerDisconnected after connection loss.
    """

    __slots__ = ("_protocol", "_transport")

    def __init__(self, client: SMTP) -> None:
        """Take the session's protocol and transport as they are now (after any STARTTLS).

        :raises SMTPServerDisconnected: the session is not connected.
        """
        protocol, transport = client.protocol, client.transport
        if protocol is None or transport is None:
            raise SMTPServerDisconnected("Connection lost")
        self._protocol: SMTPProtocol = protocol
        # Duck-typed on purpose: uvloop's transports (what uvicorn picks) are not subclasses
        # of asyncio.WriteTransport, and an isinstance check refused every message there.
        self._transport = cast(asyncio.WriteTransport, transport)

    async def write(self, data: bytes) -> None:
        """Write `data` in one piece; return when all of it has left this process (see the
        class docstring for TLS).

        :raises SMTPServerDisconnected: the session closed before anything was written.
        :raises ConnectionError: the connection was lost while some of `data` was buffered.
        """
        # One event-loop turn first, so that what arrived with the previous reply is
        # processed: a server that hung up right after it is a closed transport here.
        await asyncio.sleep(0)
        protocol, transport = self._protocol, self._transport
        if transport.is_closing():
            raise SMTPServerDisconnected("Connection lost")
        # Pause (and resume) only on an empty buffer: whenever the drain returns, all is out.
        transport.set_write_buffer_limits(high=0)
        protocol._response_pending = True
        protocol.write(data)
        if transport.get_write_buffer_size():
            try:
                await protocol._drain_helper()
            except BaseException:
                # Cancelled (a timeout) or lost: what is still buffered must never be sent
                # now that the caller learns it was not; close() would flush it, abort drops it.
                transport.abort()
                raise

    async def read_reply(self) -> SMTPResponse:
        """The server's reply to what `write` sent (kept even if it came during the drain).

        :raises SMTPServerDisconnected: the session closed before a whole reply arrived.
        """
        return await self._protocol.read_response(timeout=None)
