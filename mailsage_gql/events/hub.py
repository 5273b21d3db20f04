"""In-process fan-out of delivery events: one reader per process, many subscribers.

The outbox rows are the truth. The hub reads new rows once per wake-up (a local publish or a
PostgreSQL NOTIFY, with polling as a fallback) and hands each to the subscribers of its
account, so the cost of a wake-up does not grow with the number of subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from mailsage_gql.errors import SubscriberOverflowError
from mailsage_gql.models import DeliveryEvent

log = logging.getLogger("mailsage.events")

#: How long an id gap may stay open before the hub stops waiting for it. On PostgreSQL ids
#: come from a sequence at insert time, so a transaction that committed late can fill a gap
#: below ids already seen; a gap that never fills is an id taken by a rolled-back insert.
GAP_WAIT_SECONDS = 5.0
_READ_BATCH = 2000


@dataclass(frozen=True)
class EventRecord:
    id: int
    account_id: uuid.UUID
    message_id: uuid.UUID
    type: str
    smtp_config_id: uuid.UUID | None
    attempt: int | None
    code: str | None
    smtp_code: int | None
    enhanced_code: str | None
    detail: str | None
    at: datetime

    @classmethod
    def from_model(cls, row: DeliveryEvent) -> EventRecord:
        return cls(
            id=row.id,
            account_id=row.account_id,
            message_id=row.message_id,
            type=row.type,
            smtp_config_id=row.smtp_config_id,
            attempt=row.attempt,
            code=row.code,
            smtp_code=row.smtp_code,
            enhanced_code=row.enhanced_code,
            detail=row.detail,
            at=row.at,
        )


class Subscription:
    """Live events of one account (optionally one message), in id order."""

    def __init__(
        self, hub: EventHub, account_id: uuid.UUID, message_id: uuid.UUID | None, capacity: int
    ) -> None:
        self.hub = hub
        self.account_id = account_id
        self.message_id = message_id
        self._queue: asyncio.Queue[EventRecord | None] = asyncio.Queue(capacity)
        self.overflowed = False

    def offer(self, event: EventRecord) -> None:
        if self.message_id is not None and event.message_id != self.message_id:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.hub.unsubscribe(self)
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.get_nowait()
                self._queue.put_nowait(None)

    def close(self) -> None:
        self.hub.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[EventRecord]:
        while True:
            event = await self._queue.get()
            if event is None:
                raise SubscriberOverflowError(
                    "this subscriber fell behind; reconnect with `after` to catch up"
                )
            yield event


class EventHub:
    """States: stopped -> running (start()) -> stopped (stop())."""

    def __init__(self, *, poll_interval: float = 1.0, capacity: int = 10_000) -> None:
        self.poll_interval = poll_interval
        self.capacity = capacity
        #: Keyed by account (whole-account subscribers) or by message (one message's): an
        #: event reaches its interested subscribers without a scan of all the others.
        self._subscribers: dict[uuid.UUID, set[Subscription]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._floor: int | None = None  # every id <= floor has been dispatched or given up
        self._seen: set[int] = set()  # dispatched ids above the floor
        self._gaps: dict[int, float] = {}  # missing id -> when first noticed

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        self._wake.set()

    async def subscribe(
        self, account_id: uuid.UUID, message_id: uuid.UUID | None = None
    ) -> Subscription:
        """Register first, so nothing committed from now on is missed."""
        if self._floor is None:
            self._floor = await _max_event_id()
        subscription = Subscription(self, account_id, message_id, self.capacity)
        self._subscribers.setdefault(message_id or account_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        key = subscription.message_id or subscription.account_id
        subscribers = self._subscribers.get(key)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[key]

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()
            if not self._subscribers:
                self._floor = None  # nobody listens: start afresh at the next subscriber
                self._seen.clear()
                self._gaps.clear()
                continue
            try:
                await self.read_new()
            except Exception:
                log.exception("reading delivery events failed; retrying")
                await asyncio.sleep(self.poll_interval)

    async def read_new(self) -> None:
        """Dispatch rows above the floor not seen yet, then advance the floor past ids that are
        dispatched or whose gap has waited long enough."""
        if self._floor is None:
            self._floor = await _max_event_id()
        while True:
            rows = await DeliveryEvent.filter(id__gt=self._floor).order_by("id").limit(_READ_BATCH)
            fresh = [r for r in rows if r.id not in self._seen]
            for row in fresh:
                self._seen.add(row.id)
                event = EventRecord.from_model(row)
                for key in (event.account_id, event.message_id):
                    for subscription in list(self._subscribers.get(key, ())):
                        if subscription.account_id == event.account_id:
                            subscription.offer(event)
            self._advance_floor(max((r.id for r in rows), default=self._floor))
            if len(rows) < _READ_BATCH or not fresh:
                return

    def _advance_floor(self, highest: int) -> None:
        assert self._floor is not None
        now = time.monotonic()
        for missing in range(self._floor + 1, highest):
            if missing not in self._seen:
                self._gaps.setdefault(missing, now)
        for missing, since in list(self._gaps.items()):
            if missing in self._seen or now - since > GAP_WAIT_SECONDS:
                del self._gaps[missing]
        floor = (min(self._gaps) - 1) if self._gaps else highest
        self._floor = max(self._floor, floor)
        self._seen = {i for i in self._seen if i > self._floor}


async def _max_event_id() -> int:
    row = await DeliveryEvent.all().order_by("-id").first().values("id")
    return int(row["id"]) if row else 0


async def history(
    account_id: uuid.UUID, *, after: int, message_id: uuid.UUID | None = None, limit: int = 500
) -> list[EventRecord]:
    """Stored events after `after`, oldest first, one page."""
    query = DeliveryEvent.filter(account_id=account_id, id__gt=after)
    if message_id is not None:
        query = query.filter(message_id=message_id)
    return [EventRecord.from_model(r) for r in await query.order_by("id").limit(limit)]
