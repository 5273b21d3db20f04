"""The outbox: delivery events stored with the change they describe, fanned out to webhooks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mailsage_gql.database import RawSql


@dataclass(frozen=True)
class Event:
    """A delivery event to store in the outbox with the change it describes."""

    type: str
    smtp_config_id: uuid.UUID | None = None
    attempt: int | None = None
    code: str | None = None
    smtp_code: int | None = None
    enhanced_code: str | None = None
    detail: str | None = None


EventRow = tuple[uuid.UUID, uuid.UUID, Event, datetime]  # account, message, event, at

#: delivery_event's columns as an EventRow gives them (see _event_values), with their types.
_EVENT_COLUMNS = (
    ("account_id", "uuid"),
    ("message_id", "uuid"),
    ("type", "varchar"),
    ("smtp_config_id", "uuid"),
    ("attempt", "integer"),
    ("code", "varchar"),
    ("smtp_code", "integer"),
    ("enhanced_code", "varchar"),
    ("detail", "text"),
    ("at", "timestamptz"),
)
_EVENT_NAMES = ", ".join(name for name, _ in _EVENT_COLUMNS)

#: The events' columns from a values_table of _event_values aliased `ev`.
_FROM_EV = ", ".join(f"ev.{name}" for name, _ in _EVENT_COLUMNS)


def _event_values(row: EventRow) -> tuple[object, ...]:
    """An event's values in _EVENT_COLUMNS' order."""
    account_id, message_id, e, at = row
    return (
        account_id,
        message_id,
        e.type,
        e.smtp_config_id,
        e.attempt,
        e.code,
        e.smtp_code,
        e.enhanced_code,
        e.detail,
        at,
    )


_FAN_OUT = (
    "INSERT INTO webhook_delivery (webhook_id, event_id, status, attempt_count, "
    "next_attempt_at, created_at) SELECT w.id, e.id, 'PENDING', 0, e.at, e.at "
    "FROM {events} e JOIN webhook w ON w.account_id = e.account_id AND w.enabled "
    "AND w.events LIKE '%,' || e.type || ',%'"
)


async def insert_event_rows(sql: RawSql, rows: Sequence[EventRow]) -> None:
    """Store events in the outbox, in order, and queue them for every enabled webhook of
    their account that subscribed to their type, in the caller's transaction. The statements'
    text does not depend on the number of events (one array per column on PostgreSQL, one
    JSON list on SQLite): one statement on PostgreSQL, two on SQLite."""
    if not rows:
        return
    if sql.postgres:
        table, values = sql.values_table([_event_values(row) for row in rows], _EVENT_COLUMNS)
        await sql.execute(
            f"WITH e AS (INSERT INTO delivery_event ({_EVENT_NAMES}) SELECT {_FROM_EV} "
            f"FROM {table} AS ev ORDER BY ev.ordinal RETURNING id, account_id, type, at) "
            f"{_FAN_OUT.format(events='e')}",
            *values,
        )
        return
    # Each event is a JSON list of its values in _EVENT_COLUMNS' order.
    items = ", ".join(
        f"json_extract(q.value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(_EVENT_COLUMNS)
    )
    inserted = await sql.fetch(
        f"INSERT INTO delivery_event ({_EVENT_NAMES}) SELECT {items} FROM json_each(?) AS q "
        "ORDER BY q.key RETURNING id",
        json.dumps([[sql.param(value) for value in _event_values(row)] for row in rows]),
    )
    await sql.execute(
        _FAN_OUT.format(
            events="(SELECT * FROM delivery_event WHERE id IN (SELECT value FROM json_each(?)))"
        ),
        json.dumps([int(r["id"]) for r in inserted]),
    )


async def insert_events(
    sql: RawSql, account_id: uuid.UUID, message_id: uuid.UUID, events: list[Event], at: datetime
) -> None:
    """Events of one message (see insert_event_rows)."""
    await insert_event_rows(sql, [(account_id, message_id, e, at) for e in events])


async def insert_many_events(
    sql: RawSql, rows: list[tuple[uuid.UUID, uuid.UUID, Event]], at: datetime
) -> None:
    """Events (account, message, event) that happened at `at` (see insert_event_rows)."""
    await insert_event_rows(sql, [(a, m, e, at) for a, m, e in rows])


def event_ctes(sql: RawSql, rows: Sequence[EventRow]) -> tuple[list[str], list[object]]:
    """PostgreSQL: CTEs that store the events of the messages a CTE `u` returned (their `id`),
    and fan them out to webhooks (as insert_event_rows does); and their parameters, which
    follow those of the statement's earlier CTEs."""
    if not rows:
        return [], []
    table, values = sql.values_table([_event_values(row) for row in rows], _EVENT_COLUMNS)
    return [
        f"e AS (INSERT INTO delivery_event ({_EVENT_NAMES}) SELECT {_FROM_EV} "
        f"FROM {table} AS ev JOIN u ON u.id = ev.message_id ORDER BY ev.ordinal "
        "RETURNING id, account_id, type, at)",
        f"fan AS ({_FAN_OUT.format(events='e')})",
    ], values
