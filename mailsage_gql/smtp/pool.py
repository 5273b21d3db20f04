"""Reusable SMTP sessions: a pool per SMTP configuration and a registry of pools."""

from __future__ import annotations

import asyncio
import logging
import ssl

from mailsage_gql.errors import SmtpConnectionError, SmtpError, SmtpTimeoutError
from mailsage_gql.smtp.connection import SmtpConnection, build_tls_context, default_helo_name
from mailsage_gql.smtp.types import OutgoingMessage, SendResult, SmtpEndpoint, TransportOptions

logger = logging.getLogger(__name__)

# asyncio may fire a timer up to its clock resolution early.
_TIMER_SLACK = 0.005


def _server_closed_idle_session(error: SmtpError) -> bool:
    """A pooled session failed at MAIL without a reply: the server dropped it while idle.

    Nothing of the message was sent, so retrying on a fresh session is safe.
    """
    return (
        error.stage == "mail"
        and error.smtp_code is None
        and isinstance(error, SmtpConnectionError)
        and not isinstance(error, SmtpTimeoutError)
    )


class SmtpPool:
    """Up to `max_connections` authenticated sessions to one endpoint, reused across messages.

    A session is in one of three states: idle (in `_idle`, oldest first, reused newest
    first so the oldest ones age out), busy (held by one `send`), or closed (dropped). Sends
    beyond `max_connections` wait for a free session. A session idle for `idle_timeout`
    is closed with QUIT by a single pool timer.
    """

    def __init__(
        self,
        endpoint: SmtpEndpoint,
        options: TransportOptions,
        *,
        max_connections: int,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.endpoint = endpoint
        self.max_connections = max_connections
        self._options = options
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[SmtpConnection] = []
        self._tls_context = tls_context
        self._helo_name = options.helo_name
        self._reaper: asyncio.TimerHandle | None = None
        self._quitting: set[asyncio.Task[None]] = set()
        self._closed = False
        #: Sessions opened over the pool's life (for tests and metrics).
        self.connections_opened = 0

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Send one message on a pooled session, opening one if none is idle.

        A session the server closed while idle is detected at MAIL and the message is
        retried once on a fresh session (nothing of it had been sent).

        :raises SmtpError: classified (see mailsage_gql.smtp.replies.classify).
        :raises ValidationError: an address is unusable, or the host policy refuses the host.
        :raises RuntimeError: the pool is closed.
        """
        if self._closed:
            raise RuntimeError("SMTP pool is closed")
        async with self._slots:
            connection = self._take_idle()
            if connection is not None:
                try:
                    return await connection.send(message)
                except SmtpError as error:
                    if not _server_closed_idle_session(error):
                        raise
                finally:
                    self._put_back(connection)
            connection = await self._open()
            try:
                return await connection.send(message)
            finally:
                self._put_back(connection)

    async def close(self) -> None:
        """QUIT every idle session; busy ones are closed when their send finishes."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        idle, self._idle = self._idle, []
        await asyncio.gather(*(connection.quit() for connection in idle), *self._quitting)

    async def _open(self) -> SmtpConnection:
        if self._tls_context is None and self.endpoint.tls_mode != "none":
            self._tls_context = await asyncio.to_thread(build_tls_context, self._options.ca_file)
        if self._helo_name is None:
            self._helo_name = await asyncio.to_thread(default_helo_name, self._options)
        connection, _ = await SmtpConnection.open(
            self.endpoint, self._options, tls_context=self._tls_context, helo_name=self._helo_name
        )
        self.connections_opened += 1
        return connection

    def _take_idle(self) -> SmtpConnection | None:
        idle = self._idle
        while idle:
            connection = idle.pop()
            if connection.is_open:
                return connection
            connection.abort()
        return None

    def _put_back(self, connection: SmtpConnection) -> None:
        if not connection.is_open:
            connection.abort()
            return
        if self._closed:
            connection.abort()
            return
        loop = asyncio.get_running_loop()
        connection.last_used = loop.time()
        self._idle.append(connection)
        if self._reaper is None:
            self._reaper = loop.call_at(
                connection.last_used + self._options.idle_timeout, self._reap
            )

    def _reap(self) -> None:
        self._reaper = None
        loop = asyncio.get_running_loop()
        cutoff = loop.time() + _TIMER_SLACK - self._options.idle_timeout
        idle = self._idle
        expired = 0
        while expired < len(idle) and idle[expired].last_used <= cutoff:
            expired += 1
        for connection in idle[:expired]:
            task = loop.create_task(connection.quit())
            self._quitting.add(task)
            task.add_done_callback(self._quitting.discard)
        del idle[:expired]
        if idle:
            self._reaper = loop.call_at(idle[0].last_used + self._options.idle_timeout, self._reap)


class SmtpPoolRegistry:
    """One pool per SMTP configuration, replaced when the configuration's version changes.

    `max_connections` is read when a pool is created; a change needs a new version.
    """

    def __init__(self, options: TransportOptions) -> None:
        self._options = options
        self._pools: dict[str, tuple[str, SmtpPool]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._tls_context: ssl.SSLContext | None = None

    def get(
        self, key: str, version: str, endpoint: SmtpEndpoint, *, max_connections: int
    ) -> SmtpPool:
        """The pool for configuration `key` at `version`; an older version's pool is closed."""
        entry = self._pools.get(key)
        if entry is not None and entry[0] == version:
            return entry[1]
        if self._tls_context is None and endpoint.tls_mode != "none":
            # Loads the system CA store once, shared by every pool.
            self._tls_context = build_tls_context(self._options.ca_file)
        pool = SmtpPool(
            endpoint,
            self._options,
            max_connections=max_connections,
            tls_context=self._tls_context,
        )
        self._pools[key] = (version, pool)
        if entry is not None:
            self._close_later(entry[1])
        return pool

    async def discard(self, key: str) -> None:
        """Close and forget the pool of a deleted configuration."""
        entry = self._pools.pop(key, None)
        if entry is not None:
            await entry[1].close()

    async def close(self) -> None:
        pools = [pool for _, pool in self._pools.values()]
        self._pools.clear()
        await asyncio.gather(*(pool.close() for pool in pools), *self._closing)

    def _close_later(self, pool: SmtpPool) -> None:
        task = asyncio.get_running_loop().create_task(pool.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
