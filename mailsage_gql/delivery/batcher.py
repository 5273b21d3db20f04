"""Group commit: many small queue writes from concurrent deliveries share one transaction."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, cast

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.database.failures import connection_lost

log = logging.getLogger("mailsage.batcher")

T = TypeVar("T")
Operation = Callable[[RawSql], Awaitable[Any]]
Pending = tuple[Operation, "asyncio.Future[Any]"]


@dataclass(frozen=True)
class Refusal:
    """A result that is an error for its own caller only: a combined operation hands it back
    for the members it could not apply (their writes left out), while the rest commit."""

    error: Exception


@dataclass(frozen=True)
class CommitNotice:
    """What a committed flush tells readers: `channel` is NOTIFYed inside the flush's
    transaction (PostgreSQL delivers it to the listening processes at commit; None: no
    NOTIFY), and `local` runs in this process once the flush committed."""

    channel: str | None
    local: Callable[[], None]


class Combinable(Protocol):
    """An operation that can also run together with the others of its `group` in one flush,
    as a few set-based statements instead of several statements each (`run_together`).

    `group` is None when this one must run on its own (an uncommon case). Groups run in the
    order of their `rank` (then first arrival), so every flush takes row locks in one order.
    `run_together` returns one result per member, in order; a `Refusal` fails that member
    alone, and its writes must not have been made. Called alone, the operation does the same
    for itself (it is also a plain Operation).
    """

    rank: ClassVar[int]

    @property
    def group(self) -> Hashable | None: ...

    async def __call__(self, sql: RawSql) -> Any: ...

    @classmethod
    async def run_together(cls, sql: RawSql, members: Sequence[Any]) -> list[Any]: ...


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
    `notice` is given once per committed flush (delivery events were stored).

    A flush that fails because the database connection was lost runs again, for as long as
    the database does not answer and up to `reconnect_tries` times when it does: a restart of
    the server must not turn every in-flight delivery into a crashed one whose lease is then
    renewed forever by its live worker. A flush is a unit: rolled back, it runs again whole.
    (A connection lost during COMMIT leaves it unknown whether the flush committed; running
    it again then meets the changed rows: terminal writes raise LeaseLostError, harmless.)
    """

    def __init__(
        self,
        *,
        parallel: int = 1,
        max_batch: int = 64,
        notice: CommitNotice | None = None,
        reconnect_tries: int = 3,
    ) -> None:
        self.parallel = parallel
        self.max_batch = max_batch
        self.notice = notice
        self.reconnect_tries = reconnect_tries
        #: Every transaction runs in a copy of this context (no transaction open in it): when
        #: BEGIN fails on a dead connection, Tortoise leaves its "current transaction" context
        #: variable set in the task that tried, and every later query of that task then runs
        #: on the dead connection. A fresh context per transaction cannot inherit that.
        self._context = contextvars.copy_context()
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
            results = await self._transaction_retrying(batch)
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
                value = await self._isolated(self._alone(operation))
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
                return
            results = [value]
        self.flushes += 1
        self.operations += len(batch)
        if self.notice is not None:
            try:
                self.notice.local()
            except Exception:  # a lost wake-up hint only delays readers until they poll
                log.exception("after-commit notice failed")
        for (_, future), value in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(value, Refusal):
                future.set_exception(value.error)
            else:
                future.set_result(value)

    async def _transaction_retrying(self, batch: list[Pending]) -> list[Any]:
        """`_transaction`, run again after a lost connection (see the class docstring)."""
        delay = 0.05
        tries = 0
        while True:
            try:
                return await self._isolated(self._transaction(batch))
            except Exception as exc:
                if not connection_lost(exc):
                    raise
                if await self._database_answers():
                    tries += 1
                    if tries > self.reconnect_tries:
                        raise
                log.warning(
                    "database connection lost during a flush (%s: %s); running it again",
                    type(exc).__name__,
                    exc,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _database_answers(self) -> bool:
        try:
            await self._isolated(self._ping())
        except Exception:
            return False
        return True

    @staticmethod
    async def _ping() -> None:
        async with in_transaction() as conn:
            await conn.execute_query("SELECT 1")

    @staticmethod
    async def _alone(operation: Operation) -> Any:
        async with in_transaction() as conn:
            return await operation(RawSql(conn))

    async def _isolated(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` in a task of its own, in a fresh copy of the construction context."""
        task = asyncio.get_running_loop().create_task(work, context=self._context.copy())
        return await task

    async def _transaction(self, batch: list[Pending]) -> list[Any]:
        async with in_transaction() as conn:
            sql = RawSql(conn)
            results = await _run_batch(sql, [operation for operation, _ in batch])
            if self.notice is not None and self.notice.channel is not None:
                await conn.execute_query(f"NOTIFY {self.notice.channel}")
        return results


async def _run_batch(sql: RawSql, operations: list[Operation]) -> list[Any]:
    """Plain operations one by one in arrival order, then each group of combinable ones
    together (by rank); results in the operations' order."""
    results: list[Any] = [None] * len(operations)
    groups: dict[tuple[int, Hashable], list[tuple[int, Combinable]]] = {}
    for index, operation in enumerate(operations):
        # Not isinstance(operation, Combinable): a runtime protocol check looks up each of
        # its members, on every operation of every flush.
        group = getattr(operation, "group", None)
        if group is not None:
            combinable = cast(Combinable, operation)
            groups.setdefault((combinable.rank, group), []).append((index, combinable))
        else:
            results[index] = await operation(sql)
    for key in sorted(groups, key=lambda k: k[0]):  # stable: arrival order within a rank
        members = [operation for _, operation in groups[key]]
        outcomes = await members[0].run_together(sql, members)
        for (index, _), outcome in zip(groups[key], outcomes, strict=True):
            results[index] = outcome
    return results
