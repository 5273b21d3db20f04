"""Delivery tracking: a message's stored history and live subscriptions with resume."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from mailsage_gql.errors import NotFoundError, ValidationError
from mailsage_gql.events.hub import EventHub, EventRecord, history
from mailsage_gql.models import Message


async def _own_message(account_id: uuid.UUID, message_id: str) -> uuid.UUID:
    """:raises NotFoundError: unknown, malformed or another account's message."""
    try:
        parsed = uuid.UUID(message_id)
    except ValueError:
        raise NotFoundError(f"message {message_id} not found", field="message_id") from None
    if not await Message.exists(id=parsed, account_id=account_id):
        raise NotFoundError(f"message {message_id} not found", field="message_id")
    return parsed


def _event_id(value: str) -> int:
    try:
        parsed = int(value)
    except ValueError:
        raise ValidationError("after must be a delivery event id", field="after") from None
    if parsed < 0:
        raise ValidationError("after must be a delivery event id", field="after")
    return parsed


async def message_events(account_id: uuid.UUID, message_id: str) -> list[EventRecord]:
    """The stored history of one message, oldest first."""
    parsed = await _own_message(account_id, message_id)
    events: list[EventRecord] = []
    while True:
        page = await history(
            account_id, after=events[-1].id if events else 0, message_id=parsed, limit=500
        )
        events += page
        if len(page) < 500:
            return events


async def follow(
    hub: EventHub,
    account_id: uuid.UUID,
    *,
    message_id: str | None,
    after: str | None,
) -> AsyncIterator[EventRecord]:
    """The account's events (or one message's), live; with `after`, first everything stored
    after that id. Subscribes before reading history so that nothing falls in between, and
    skips live events the history already gave."""
    message = await _own_message(account_id, message_id) if message_id is not None else None
    start = _event_id(after) if after is not None else None
    subscription = await hub.subscribe(account_id, message)
    try:
        last = 0
        if start is not None:
            last = start
            while True:
                page = await history(account_id, after=last, message_id=message)
                for event in page:
                    yield event
                    last = event.id
                if len(page) < 500:
                    break
        async for event in subscription:
            if event.id > last:
                last = event.id
                yield event
    finally:
        subscription.close()
