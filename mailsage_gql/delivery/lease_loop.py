"""The lease loop: claims due jobs of a leased queue, runs them concurrently, renews leases."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from mailsage_gql.delivery.clock import utc_now

log = logging.getLogger("mailsage.lease_loop")


class _HasId(Protocol):
    @property
    def id(self) -> Any: ...


Job = TypeVar("Job", bound=_HasId)


class WorkQueue(Protocol[Job]):
    """A leased queue: `mailsage_gql.delivery.message_queue` and `.webhook_queue` fit it."""

    async def claim(
        self, *, owner: str, limit: int, now: datetime, lease: timedelta
    ) -> list[Job]: ...

    async def next_due_at(self) -> datetime | None: ...

    async def recover_expired_leases(self, *, now: datetime) -> tuple[int, int]: ...

    async def renew_leases(
        self, *, owner: str, now: datetime, lease: timedelta, ids: list[Any]
    ) -> int: ...

    async def release_claims(self, *, owner: str, now: datetime) -> int: ...


def new_owner_id() -> str:
    """Names a worker in leases: host, pid and a random part (a restarted pid is new)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Wakeup:
    """A hint that work may be due (who sets which: `services.engine.Wakeups`).
    Polling stays the truth; a lost hint only delays work by one poll interval."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Until set, or `seconds` pass; then clear."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


class LeaseLoop(Generic[Job]):
    """States: created -> running (run()) -> stopping (stop()) -> stopped.

    Claims at most as many messages as it has free slots, so a crash strands few leases;
    renews its leases every third of the lease, so a slow provider does not lose them.
    """

    def __init__(
        self,
        *,
        work: WorkQueue[Job],
        deliver: Callable[[Job], Awaitable[None]],
        owner: str,
        concurrency: int,
        lease: timedelta,
        poll_interval: float,
        wakeup: Wakeup,
        announce: Callable[[], Awaitable[None]] | None = None,
        min_interval: float = 0.0,
    ) -> None:
        """`announce` is called after a change that stored delivery events (lease recovery)."""
        self.work = work
        self.deliver = deliver
        self.announce = announce
        #: Idle wake-ups closer together than this are merged (webhooks: latency matters less
        #: than not querying on every committed event).
        self.min_interval = min_interval
        self.claim_batch = max(1, concurrency // 4)
        self.owner = owner
        self.concurrency = concurrency
        self.lease = lease
        self.poll_interval = poll_interval
        self.wakeup = wakeup
        #: Deliveries in flight and the id of their job: only these leases are renewed, so a
        #: delivery that crashed lets its lease expire and recovery decide its fate.
        self._active: dict[asyncio.Task[None], Any] = {}
        self._stopping = asyncio.Event()
        self._last_recovery = datetime.min.replace(tzinfo=utc_now().tzinfo)
        self._last_renewal = utc_now()

    async def run(self) -> None:
        log.info("lease loop %s started (concurrency %d)", self.owner, self.concurrency)
        context = contextvars.copy_context()
        failures = 0  # loop errors so far: the first is logged with its traceback
        while not self._stopping.is_set():
            # After an error the loop goes on in a new task with a fresh copy of the starting
            # context: when BEGIN fails on a dead connection, Tortoise leaves its "current
            # transaction" context variable set in the failing task, and every later query of
            # that task (and of the deliveries it starts) would run on the dead connection.
            loop = asyncio.get_running_loop()
            error = await loop.create_task(self._run_until_error(), context=context.copy())
            if error is None:
                continue
            # The database may be away (a restart, a failover): every query of the loop,
            # the idle one included, fails until it is back; keep trying, never exit.
            # A plain sleep, not the wake-up: hints keep coming while the database is away.
            failures += 1
            if failures == 1:
                log.error(
                    "lease loop error; retrying every %.1fs", self.poll_interval, exc_info=error
                )
            elif failures % 50 == 0:
                log.warning("lease loop still failing (%d times): %r", failures, error)
            await asyncio.sleep(self.poll_interval)

    async def _run_until_error(self) -> Exception | None:
        """The loop proper: returns the first error, or None once stopping."""
        try:
            while not self._stopping.is_set():
                claimed = await self._tick()
                if not (claimed and len(self._active) < self.concurrency):
                    await self._idle()  # otherwise more may be due right now
        except Exception as exc:
            return exc
        return None

    async def _tick(self) -> int:
        now = utc_now()
        if now - self._last_recovery >= self.lease / 3:
            self._last_recovery = now
            requeued, uncertain = await self.work.recover_expired_leases(now=now)
            if (requeued or uncertain) and self.announce is not None:
                await self.announce()
            if requeued or uncertain:
                log.warning(
                    "recovered expired leases: %d requeued, %d uncertain", requeued, uncertain
                )
        if now - self._last_renewal >= self.lease / 3 and self._active:
            self._last_renewal = now
            await self.work.renew_leases(
                owner=self.owner, now=now, lease=self.lease, ids=list(self._active.values())
            )
        free = self.concurrency - len(self._active)
        if free <= 0 or (self._active and free < self.claim_batch):
            return 0  # claim in batches: one claim per few completions, not one per message
        jobs = await self.work.claim(owner=self.owner, limit=free, now=now, lease=self.lease)
        for job in jobs:
            task = asyncio.create_task(self._deliver(job))
            self._active[task] = job.id
            task.add_done_callback(self._done)
        return len(jobs)

    async def _deliver(self, job: Job) -> None:
        try:
            await self.deliver(job)
        except Exception:
            # The lease expires and recovery decides: requeue, or UNCERTAIN if in flight.
            log.exception("delivery of %r crashed", job)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._active.pop(task, None)
        self.wakeup.set()  # a free slot: claim again now

    async def _idle(self) -> None:
        # Never longer than a third of the lease: renewing our leases (a slow provider) and
        # recovering dead workers' leases happen on ticks, whatever the poll interval.
        timeout = min(self.poll_interval, self.lease.total_seconds() / 3)
        if self.min_interval:
            await asyncio.sleep(self.min_interval)  # coalesce a burst of wake-up hints
        if not self._active:  # otherwise a finishing delivery wakes us anyway
            due = await self.work.next_due_at()
            if due is not None:
                timeout = min(timeout, max((due - utc_now()).total_seconds(), 0.0))
        await self.wakeup.wait(timeout)

    async def stop(self, *, grace: float = 30.0) -> None:
        """Finish what is in flight (up to `grace` seconds), then give back unstarted claims."""
        self._stopping.set()
        self.wakeup.set()
        if self._active:
            _, pending = await asyncio.wait(set(self._active), timeout=grace)
            for task in pending:
                task.cancel()
        released = await self.work.release_claims(owner=self.owner, now=utc_now())
        if released:
            log.info("released %d unstarted claim(s)", released)
        log.info("lease loop %s stopped", self.owner)
