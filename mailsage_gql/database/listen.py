"""PostgreSQL LISTEN on a connection of its own: notifications as hints, the rows the truth."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

log = logging.getLogger("mailsage.listen")


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgres://", "postgresql://", 1)


class PgListener:
    """Keeps one connection LISTENing on `channels`, calling a channel's callback on each of
    its notifications (payloads are not used); reconnects after errors. Missing a notification
    only delays work until the next poll."""

    def __init__(self, database_url: str, channels: dict[str, Callable[[], None]]) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.channels = channels
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5)

    async def _run(self) -> None:
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(self.dsn)
                closed = asyncio.Event()
                conn.add_termination_listener(lambda _c, done=closed: done.set())
                for channel, callback in self.channels.items():
                    await conn.add_listener(channel, lambda _c, _pid, _ch, _p, cb=callback: cb())
                self._connected.set()
                # Wake everyone once: notifications sent while we were away are lost.
                for callback in self.channels.values():
                    callback()
                await closed.wait()
            except asyncio.CancelledError:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                raise
            except Exception as exc:
                # Not only OSError and PostgresError: a server restart can also surface as
                # asyncpg.InterfaceError ("connection is closed") while the listeners are
                # added, and this loop must outlive any of them.
                log.warning("LISTEN connection failed (%s); retrying in 1s", type(exc).__name__)
                if conn is not None:
                    conn.terminate()  # never leave a half-set-up connection behind
            self._connected.clear()
            await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
