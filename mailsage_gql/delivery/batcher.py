"""Group commit: many small queue writes from concurrent deliveries share one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql

log = logging.getLogger("mailsage.batcher")

T = TypeVar("T")
Operation = Callable[[RawSql], Awaitable[Any]]
Pending = tuple[Operation, "asyncio.Future[Any]"]


class WriteBatcher:
    """Runs queued write operations together, one transaction per flush.

    Why: with SQLite in WAL and synchronous=FULL every commit is an fsync, and on PostgreSQL a
    commit is a round trip and a WAL flush; one commit for every attempt of every in-flight
    message caps delivery far below what the SMTP side can do. While flushes run, new
    operations wait and go together in the next one (no timer: an idle system commits at
    once). Up to `parallel` flushes run at a time (one for SQLite, a single writer; several
    on PostgreSQL, whose transactions on different rows proceed side by side).

    Guarantees: an operation's result is handed back only after its transaction committed,
    so callers act on durable state only. When an operation raises, its whole flush is
    rolled back and every operation of it runs again in a transaction of its own, so one
    failure never takes the others down and each caller gets its own outcome.
    `after_commit` runs once per committed flush (the event publisher).
    """

    def __init__(
        self,
        *,
        parallel: int = 1,
        max_batch: int = 64,
        after_commit: Callable[[], Awaitable[None]] | None = None,
        notify_channel: str | None = None,
    ) -> None:
        self.parallel = parallel
        self.max_batch = max_batch
        self.after_commit = after_commit
        #: PostgreSQL: a NOTIFY inside the transaction, delivered at commit, once per flush.
        self.notify_channel = notify_channel
        self._pending: list[Pending] = []
        self._flushers = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.flushes = 0
        self.operations = 0

    async def run(self, operation: Callable[[RawSql], Awaitable[T]]) -> T:
        """Run `operation` in the next flush; returns its result after the commit."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((operation, future))
        if self._flushers < self.parallel:
            self._flushers += 1
            task = loop.create_task(self._flush_all())
            self._tasks.add(task)  # keep a reference: the loop holds tasks only weakly
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._flush(batch)
        finally:
            self._flushers -= 1

    async def _flush(self, batch: list[Pending]) -> None:
        try:
            results = await self._transaction(batch)
        except Exception:
            if len(batch) == 1:
                results = None
            else:
                for pending in batch:  # isolate the failing operation
                    await self._flush([pending])
                return
        if results is None:
            # A single operation failed: run it alone once more to hand back its error.
            operation, future = batch[0]
            try:
                async with in_transaction() as conn:
                    value = await operation(RawSql(conn))
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
                return
            results = [value]
        self.flushes += 1
        self.operations += len(batch)
        if self.after_commit is not None:
            try:
                await self.after_commit()
            except Exception:  # a lost wake-up hint only delays readers until they poll
                log.exception("after-commit hook failed")
        for (_, future), value in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(value)

    async def _transaction(self, batch: list[Pending]) -> list[Any]:
        async with in_transaction() as conn:
            sql = RawSql(conn)
            results = [await operation(sql) for operation, _ in batch]
            if self.notify_channel is not None:
                await conn.execute_query(f"NOTIFY {self.notify_channel}")
        return results
