"""The durable queue: claiming with leases, quota reservation, attempt outcomes, the outbox.

Every state change of a message and the event that describes it commit in one transaction.
On PostgreSQL any number of workers claim with FOR UPDATE SKIP LOCKED; on SQLite there is one
writer (the embedded server) and the same statements run without the lock clause.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery import leases
from mailsage_gql.delivery.batcher import Refusal, WriteBatcher
from mailsage_gql.delivery.clock import utc_day
from mailsage_gql.delivery.policy import Health
from mailsage_gql.models import MessageStatus

T = TypeVar("T")

_DUE = "status IN ('QUEUED', 'DEFERRED') AND next_attempt_at <= ?"


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


@dataclass(frozen=True)
class AttemptRecord:
    config_id: uuid.UUID
    number: int
    started_at: datetime
    ended_at: datetime
    outcome: str  # sent | failed | deferred | uncertain | failover
    smtp_code: int | None
    enhanced_code: str | None
    reply: str | None
    error_code: str | None

    @property
    def duration_ms(self) -> float:
        return (self.ended_at - self.started_at).total_seconds() * 1000


_EVENT_COLUMNS = (
    "account_id, message_id, type, smtp_config_id, attempt, code, smtp_code, enhanced_code, "
    "detail, at"
)

#: _EVENT_COLUMNS' types.
_EVENT_TYPES = [
    "uuid",
    "uuid",
    "varchar",
    "uuid",
    "integer",
    "varchar",
    "integer",
    "varchar",
    "text",
    "timestamptz",
]

#: _EVENT_COLUMNS from a values_table of _event_row()s aliased `ev`.
_EVENT_VALUES = ", ".join(f"ev.column{i}" for i in range(1, len(_EVENT_TYPES) + 1))

EventRow = tuple[uuid.UUID, uuid.UUID, Event, datetime]  # account, message, event, at


def _event_row(
    account_id: uuid.UUID, message_id: uuid.UUID, e: Event, at: datetime
) -> tuple[object, ...]:
    """An event's values in _EVENT_COLUMNS' order."""
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


async def insert_many_events(
    sql: RawSql, rows: list[tuple[uuid.UUID, uuid.UUID, Event]], at: datetime
) -> None:
    """Events (account, message, event) that happened at `at` (see insert_event_rows)."""
    await insert_event_rows(sql, [(a, m, e, at) for a, m, e in rows])


async def insert_event_rows(sql: RawSql, rows: Sequence[EventRow]) -> None:
    """Store events in the outbox, in order, and queue them for every enabled webhook of
    their account that subscribed to their type, in the caller's transaction. The statements'
    text does not depend on the number of events (one array per column on PostgreSQL, one
    JSON list on SQLite): one statement on PostgreSQL, two on SQLite."""
    if not rows:
        return
    if sql.postgres:
        table, values = sql.values_table([_event_row(*row) for row in rows], _EVENT_TYPES)
        await sql.execute(
            f"WITH e AS (INSERT INTO delivery_event ({_EVENT_COLUMNS}) SELECT {_EVENT_VALUES} "
            f"FROM {table} AS ev ORDER BY ev.ordinal RETURNING id, account_id, type, at) "
            f"{_FAN_OUT.format(events='e')}",
            *values,
        )
        return
    items = ", ".join(f"json_extract(q.value, '$[{i}]')" for i in range(len(_EVENT_TYPES)))
    inserted = await sql.fetch(
        f"INSERT INTO delivery_event ({_EVENT_COLUMNS}) SELECT {items} FROM json_each(?) AS q "
        "ORDER BY q.key RETURNING id",
        json.dumps([[sql.param(value) for value in _event_row(*row)] for row in rows]),
    )
    await sql.execute(
        _FAN_OUT.format(
            events="(SELECT * FROM delivery_event WHERE id IN (SELECT value FROM json_each(?)))"
        ),
        json.dumps([int(r["id"]) for r in inserted]),
    )


def _event_ctes(sql: RawSql, rows: Sequence[EventRow]) -> tuple[list[str], list[object]]:
    """PostgreSQL: CTEs that store the events of the messages a CTE `u` returned, and fan
    them out to webhooks (as insert_event_rows does); and their parameters."""
    if not rows:
        return [], []
    table, values = sql.values_table([_event_row(*row) for row in rows], _EVENT_TYPES)
    return [
        f"e AS (INSERT INTO delivery_event ({_EVENT_COLUMNS}) SELECT {_EVENT_VALUES} "
        f"FROM {table} AS ev JOIN u ON u.id = ev.column2 ORDER BY ev.ordinal "
        "RETURNING id, account_id, type, at)",
        f"fan AS ({_FAN_OUT.format(events='e')})",
    ], values


async def insert_events(
    sql: RawSql, account_id: uuid.UUID, message_id: uuid.UUID, events: list[Event], at: datetime
) -> None:
    """Events of one message (see insert_event_rows)."""
    await insert_event_rows(sql, [(account_id, message_id, e, at) for e in events])


@dataclass(slots=True)
class Claimed:
    """A leased message as the deliverer needs it (read by the claim itself, no ORM)."""

    id: uuid.UUID
    account_id: uuid.UUID
    requested_config_id: uuid.UUID | None
    from_email: str | None
    reply_to: str | None
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    text: str | None
    html: str | None
    headers: list[list[str]]
    message_id_header: str
    attempt_count: int
    recipient_count: int
    deferrals: int
    created_at: datetime
    status: MessageStatus = MessageStatus.SENDING


_CLAIMED_COLUMNS = (
    'id, account_id, requested_config_id, from_email, reply_to, "to", cc, bcc, subject, '
    "text, html, headers, message_id_header, attempt_count, recipient_count, deferrals, "
    "created_at"
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _claimed(sql: RawSql, row: dict[str, Any]) -> Claimed:
    requested = row["requested_config_id"]
    created_at = sql.datetime(row["created_at"])
    assert created_at is not None  # NOT NULL column
    return Claimed(
        id=sql.uuid(row["id"]),
        account_id=sql.uuid(row["account_id"]),
        requested_config_id=None if requested is None else sql.uuid(requested),
        from_email=row["from_email"],
        reply_to=row["reply_to"],
        to=_json(row["to"]),
        cc=_json(row["cc"]),
        bcc=_json(row["bcc"]),
        subject=row["subject"],
        text=row["text"],
        html=row["html"],
        headers=_json(row["headers"]),
        message_id_header=row["message_id_header"],
        attempt_count=row["attempt_count"],
        recipient_count=row["recipient_count"],
        deferrals=row["deferrals"],
        created_at=created_at,
    )


def claim_statement(sql: RawSql) -> str:
    """claim's statement; its parameters: owner, lease expiry, now, now, limit. On PostgreSQL
    the pick reads the partial index `message_due` (migration 1): in due order, and only
    queued and deferred rows: a claim reads the rows it takes, however many wait or were sent."""
    return leases.claim_statement(
        sql,
        "message",
        assignments="status = 'SENDING', lease_owner = ?, lease_expires_at = ?, updated_at = ?",
        due=_DUE,
        returning=_CLAIMED_COLUMNS,
    )


async def claim(*, owner: str, limit: int, now: datetime, lease: timedelta) -> list[Claimed]:
    """Lease up to `limit` due messages to `owner` (status SENDING), earliest due first. Two
    workers never hold the same message: the row lock (PostgreSQL) or the single writer
    (SQLite) decides. One statement claims and reads them."""
    async with in_transaction() as conn:
        sql = RawSql(conn)
        rows = await sql.fetch(
            claim_statement(sql),
            owner,
            now + lease,
            now,
            now,
            limit,
        )
    return [_claimed(sql, row) for row in rows]


async def next_due_at() -> datetime | None:
    """When the earliest queued or deferred message becomes due (None: nothing waits)."""
    async with in_transaction() as conn:
        sql = RawSql(conn)
        # The statuses as literals, as in _DUE: PostgreSQL then reads `message_due` alone.
        rows = await sql.fetch(
            "SELECT MIN(next_attempt_at) AS due FROM message WHERE status IN ('QUEUED', 'DEFERRED')"
        )
    return sql.datetime(rows[0]["due"])


async def recover_expired_leases(*, now: datetime) -> tuple[int, int]:
    """Leases whose worker died: back to the queue when no SMTP transaction had started,
    UNCERTAIN (never resent) when one had. Returns (requeued, uncertain)."""
    async with in_transaction() as conn:
        sql = RawSql(conn)
        lock = " FOR UPDATE SKIP LOCKED" if sql.postgres else ""
        rows = await sql.fetch(
            "SELECT id, account_id, in_flight_since, in_flight_config_id, attempt_count "
            f"FROM message WHERE status = 'SENDING' AND lease_expires_at < ?{lock}",
            now,
        )
        requeued = uncertain = 0
        for row in rows:
            message_id, account_id = sql.uuid(row["id"]), sql.uuid(row["account_id"])
            if row["in_flight_since"] is None:
                await sql.execute(
                    "UPDATE message SET status = 'QUEUED', lease_owner = NULL, "
                    "lease_expires_at = NULL, next_attempt_at = ?, updated_at = ? WHERE id = ?",
                    now,
                    now,
                    message_id,
                )
                await insert_events(
                    sql, account_id, message_id, [Event("QUEUED", detail="lease expired")], now
                )
                requeued += 1
                continue
            detail = (
                "the worker delivering this message stopped during the SMTP transaction; "
                "it may have been delivered, so it is not resent automatically"
            )
            config_id = row["in_flight_config_id"]
            await sql.execute(
                "UPDATE message SET status = 'UNCERTAIN', lease_owner = NULL, "
                "lease_expires_at = NULL, in_flight_since = NULL, last_error_code = ?, "
                "last_error_message = ?, updated_at = ? WHERE id = ?",
                "smtp_uncertain",
                detail,
                now,
                message_id,
            )
            await insert_events(
                sql,
                account_id,
                message_id,
                [
                    Event(
                        "UNCERTAIN",
                        smtp_config_id=sql.uuid(config_id) if config_id else None,
                        attempt=row["attempt_count"],
                        code="smtp_uncertain",
                        detail=detail,
                    )
                ],
                now,
            )
            uncertain += 1
    return requeued, uncertain


async def release_claims(*, owner: str, now: datetime) -> int:
    """On a clean shutdown: messages leased to `owner` with nothing in flight go back."""
    async with in_transaction() as conn:
        return await RawSql(conn).execute(
            "UPDATE message SET status = 'QUEUED', lease_owner = NULL, lease_expires_at = NULL, "
            "updated_at = ? WHERE status = 'SENDING' AND lease_owner = ? "
            "AND in_flight_since IS NULL",
            now,
            owner,
        )


async def _reserve_daily(
    sql: RawSql, config_id: uuid.UUID, day: date, n: int, daily_limit: int
) -> bool:
    """Atomically count `n` recipients against the day, only while the limit allows it. One
    upsert: the day's row is created by its first reservation, so nothing resets counters."""
    if n > daily_limit:
        return False
    return bool(
        await sql.execute(
            "INSERT INTO smtp_usage (config_id, day, sent) VALUES (?, ?, ?) "
            "ON CONFLICT (config_id, day) DO UPDATE SET sent = smtp_usage.sent + excluded.sent "
            "WHERE smtp_usage.sent + excluded.sent <= ?",
            config_id,
            day,
            n,
            daily_limit,
        )
    )


async def _release_daily(sql: RawSql, config_id: uuid.UUID, day: date, n: int) -> None:
    await sql.execute(
        "UPDATE smtp_usage SET sent = sent - ? WHERE config_id = ? AND day = ? AND sent >= ?",
        n,
        config_id,
        day,
        n,
    )


async def reserve_daily(config_id: uuid.UUID, *, n: int, daily_limit: int, now: datetime) -> bool:
    """Count `n` recipients against today's limit of a config, if it allows them (test sends)."""
    async with in_transaction() as conn:
        return await _reserve_daily(RawSql(conn), config_id, utc_day(now), n, daily_limit)


async def release_daily(config_id: uuid.UUID, *, n: int, reserved_at: datetime) -> None:
    async with in_transaction() as conn:
        await _release_daily(RawSql(conn), config_id, utc_day(reserved_at), n)


class LeaseLostError(Exception):
    """Another worker took the message over (our lease expired); stop touching it."""


@dataclass(frozen=True)
class Reservation:
    ok: bool
    reason: str | None = None  # daily_limit | minute_limit | circuit_open | None


async def _run(operation: Callable[[RawSql], Awaitable[T]], batcher: WriteBatcher | None) -> T:
    """Run a write in the group commit when there is one, else in its own transaction."""
    if batcher is not None:
        return await batcher.run(operation)
    async with in_transaction() as conn:
        return await operation(RawSql(conn))


@dataclass(frozen=True, eq=False)
class _Begin:
    """begin_attempt's writes for one message (see there). The common case (no breaker
    probe, no per-minute limit) combines: one reservation per config for the whole flush,
    one in-flight update, one event insert."""

    rank: ClassVar[int] = 0  # before _FinishSent: usage rows are locked before health rows

    message_id: uuid.UUID
    account_id: uuid.UUID
    owner: str
    config_id: uuid.UUID
    recipients: int
    daily_limit: int
    max_per_minute: int | None
    probe: bool
    probe_timeout: timedelta
    failover_from: uuid.UUID | None
    attempt: int
    now: datetime
    day: date = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", utc_day(self.now))

    @property
    def group(self) -> str | None:
        return None if self.probe or self.max_per_minute is not None else "begin"

    def events(self) -> list[EventRow]:
        rows: list[EventRow] = []
        if self.failover_from is not None:
            failover = Event(
                "FAILOVER",
                smtp_config_id=self.failover_from,
                attempt=self.attempt,
                detail=f"failed over from {self.failover_from} to {self.config_id}",
            )
            rows.append((self.account_id, self.message_id, failover, self.now))
        sending = Event("SENDING", smtp_config_id=self.config_id, attempt=self.attempt)
        rows.append((self.account_id, self.message_id, sending, self.now))
        return rows

    async def __call__(self, sql: RawSql) -> Reservation:
        config_id, day, n, now = self.config_id, self.day, self.recipients, self.now
        if not await _reserve_daily(sql, config_id, day, n, self.daily_limit):
            return Reservation(False, "daily_limit")
        if self.probe:
            claimed = await sql.execute(
                "UPDATE provider_health SET probe_until = ? WHERE config_id = ? AND "
                "opened_until <= ? AND (probe_until IS NULL OR probe_until < ?)",
                now + self.probe_timeout,
                config_id,
                now,
                now,
            )
            if not claimed:
                await _release_daily(sql, config_id, day, n)
                return Reservation(False, "circuit_open")
        if self.max_per_minute is not None:
            counted = (
                await sql.execute(
                    "INSERT INTO provider_health (config_id, consecutive_failures, minute_start, "
                    "minute_count) VALUES (?, 0, ?, ?) ON CONFLICT (config_id) DO UPDATE SET "
                    "minute_count = CASE WHEN provider_health.minute_start = excluded.minute_start "
                    "THEN provider_health.minute_count + excluded.minute_count "
                    "ELSE excluded.minute_count END, minute_start = excluded.minute_start "
                    "WHERE provider_health.minute_start IS NULL "
                    "OR provider_health.minute_start <> excluded.minute_start "
                    "OR provider_health.minute_count + excluded.minute_count <= ?",
                    config_id,
                    now.replace(second=0, microsecond=0),
                    n,
                    self.max_per_minute,
                )
                if n <= self.max_per_minute
                else 0
            )
            if not counted:
                await _release_daily(sql, config_id, day, n)
                await _undo_probe(sql, config_id, self.probe)
                return Reservation(False, "minute_limit")
        if self.message_id not in await _mark_in_flight(sql, [self]):
            raise LeaseLostError(str(self.message_id))
        return Reservation(True)

    @classmethod
    async def run_together(cls, sql: RawSql, members: Sequence[_Begin]) -> list[object]:
        """Each config's members reserve their recipients in one upsert; when that would pass
        the limit, they reserve one by one (exactly up to it). Then the reserved members are
        marked in flight in one statement; those whose lease was lost give their places back."""
        results: dict[int, object] = {}
        reserved: list[_Begin] = []
        by_config: dict[tuple[uuid.UUID, date], list[_Begin]] = {}
        for member in members:
            by_config.setdefault((member.config_id, member.day), []).append(member)
        for (config_id, day), group in sorted(by_config.items(), key=lambda kv: str(kv[0][0])):
            total = sum(m.recipients for m in group)
            limit = min(m.daily_limit for m in group)
            if await _reserve_daily(sql, config_id, day, total, limit):
                reserved += group
                continue
            for member in group:  # near the limit: first come, first served, exactly
                try:
                    results[id(member)] = await member(sql)
                except LeaseLostError as exc:  # raised after its reservation: give it back
                    await _release_daily(sql, member.config_id, member.day, member.recipients)
                    results[id(member)] = Refusal(exc)
        if reserved:
            mine = await _mark_in_flight(sql, reserved)
            for member in reserved:
                if member.message_id in mine:
                    results[id(member)] = Reservation(True)
                    continue
                await _release_daily(sql, member.config_id, member.day, member.recipients)
                results[id(member)] = Refusal(LeaseLostError(str(member.message_id)))
        return [results[id(m)] for m in members]


async def _mark_in_flight(sql: RawSql, members: Sequence[_Begin]) -> set[uuid.UUID]:
    """Mark the members' messages in flight, with their SENDING (and FAILOVER) events, for
    those still leased to their owner; returns the ids marked. One statement on PostgreSQL
    (the update's RETURNING selects the events), two or three on SQLite."""
    table, values = sql.values_table(
        [(m.message_id, m.config_id, m.attempt, m.now, m.owner) for m in members],
        ("uuid", "uuid", "integer", "timestamptz", "varchar"),
    )
    update = (
        "UPDATE message SET in_flight_since = v.column4, in_flight_config_id = v.column2, "
        "attempt_count = v.column3, updated_at = v.column4 FROM {values} "
        "WHERE message.id = v.column1 AND message.lease_owner = v.column5 "
        "AND message.status = 'SENDING' RETURNING message.id"
    )
    events = [row for m in members for row in m.events()]
    if sql.postgres:
        event_ctes, event_values = _event_ctes(sql, events)
        ctes = [f"v AS {table}", f"u AS ({update.format(values='v')})", *event_ctes]
        rows = await sql.fetch(f"WITH {', '.join(ctes)} SELECT id FROM u", *values, *event_values)
        return {sql.uuid(r["id"]) for r in rows}
    rows = await sql.fetch(update.format(values=f"{table} AS v"), *values)
    mine = {sql.uuid(r["id"]) for r in rows}
    await insert_event_rows(sql, [e for e in events if e[1] in mine])
    return mine


async def begin_attempt(
    message: Claimed,
    *,
    owner: str,
    config_id: uuid.UUID,
    daily_limit: int,
    max_per_minute: int | None,
    probe: bool,
    probe_timeout: timedelta,
    failover_from: uuid.UUID | None = None,
    now: datetime,
    batcher: WriteBatcher | None = None,
) -> Reservation:
    """Reserve the recipients against the config's daily (and per-minute) limit, claim the
    half-open probe slot if `probe`, and mark the message in flight, in one transaction.
    The reservation is atomic: concurrent workers on any database never exceed a limit.
    Rows are always locked usage first, then health (as finish_attempt does): no deadlock.

    :raises LeaseLostError: the message is no longer ours.
    """
    operation = _Begin(
        message_id=message.id,
        account_id=message.account_id,
        owner=owner,
        config_id=config_id,
        recipients=message.recipient_count,
        daily_limit=daily_limit,
        max_per_minute=max_per_minute,
        probe=probe,
        probe_timeout=probe_timeout,
        failover_from=failover_from,
        attempt=message.attempt_count + 1,
        now=now,
    )
    reservation = await _run(operation, batcher)
    if reservation.ok:
        message.attempt_count = operation.attempt
    return reservation


async def _undo_probe(sql: RawSql, config_id: uuid.UUID, probe: bool) -> None:
    if probe:
        await sql.execute(
            "UPDATE provider_health SET probe_until = NULL WHERE config_id = ?", config_id
        )


async def read_health(config_ids: list[uuid.UUID]) -> dict[uuid.UUID, Health]:
    from mailsage_gql.models import ProviderHealth

    rows = await ProviderHealth.filter(config_id__in=config_ids).values(
        "config_id", "consecutive_failures", "opened_until", "exhausted_until"
    )
    return {
        uuid.UUID(str(r["config_id"])): Health(
            consecutive_failures=r["consecutive_failures"],
            opened_until=r["opened_until"],
            exhausted_until=r["exhausted_until"],
        )
        for r in rows
    }


async def _lock_health(sql: RawSql, config_id: uuid.UUID) -> Health:
    lock = " FOR UPDATE" if sql.postgres else ""
    rows = await sql.fetch(
        "SELECT consecutive_failures, opened_until, exhausted_until FROM provider_health "
        f"WHERE config_id = ?{lock}",
        config_id,
    )
    if not rows:
        return Health()
    row = rows[0]
    return Health(
        consecutive_failures=row["consecutive_failures"],
        opened_until=sql.datetime(row["opened_until"]),
        exhausted_until=sql.datetime(row["exhausted_until"]),
    )


_ATTEMPT_COLUMNS = (
    "message_id, config_id, number, started_at, ended_at, outcome, smtp_code, enhanced_code, "
    "reply, error_code, duration_ms"
)


#: _FinishSent's VALUES: message, config, ended_at, owner, then the attempt's other columns.
_FINISH_TYPES = [
    "uuid",
    "uuid",
    "timestamptz",
    "varchar",
    "integer",
    "timestamptz",
    "varchar",
    "integer",
    "varchar",
    "text",
    "varchar",
    "float8",
]
_FINISH_UPDATE = (
    "UPDATE message SET status = 'SENT', in_flight_since = NULL, in_flight_config_id = NULL, "
    "lease_owner = NULL, lease_expires_at = NULL, delivered_config_id = v.column2, "
    "sent_at = v.column3, last_error_code = NULL, last_error_message = NULL, "
    "updated_at = v.column3 FROM {values} WHERE message.id = v.column1 "
    "AND message.lease_owner = v.column4 RETURNING message.id"
)
#: delivery_attempt's columns (_ATTEMPT_COLUMNS) from _FinishSent's VALUES.
_FINISH_ATTEMPT = (
    "v.column1, v.column2, v.column5, v.column6, v.column3, v.column7, v.column8, v.column9, "
    "v.column10, v.column11, v.column12"
)
#: The providers answered: close their breakers (a closed one, the common case, is untouched).
_CLOSE_BREAKERS = (
    "UPDATE provider_health SET consecutive_failures = 0, opened_until = NULL, "
    "probe_until = NULL WHERE config_id IN ({configs}) AND (consecutive_failures <> 0 "
    "OR opened_until IS NOT NULL OR probe_until IS NOT NULL)"
)
_DONE_CONFIGS = "SELECT v.column2 FROM v JOIN u ON u.id = v.column1"


@dataclass(frozen=True, eq=False)
class _FinishSent:
    """finish_attempt for a delivered message whose provider answered (the common case).
    Combined over a flush: one message update, one attempt insert, one breaker update,
    one event insert."""

    rank: ClassVar[int] = 1
    group: ClassVar[str] = "sent"

    message_id: uuid.UUID
    account_id: uuid.UUID
    owner: str
    attempt: AttemptRecord
    events: list[Event]

    def row(self) -> tuple[object, ...]:
        """This member's row of the VALUES table (types: _FINISH_TYPES)."""
        a = self.attempt
        return (
            self.message_id,
            a.config_id,
            a.ended_at,
            self.owner,
            a.number,
            a.started_at,
            a.outcome,
            a.smtp_code,
            a.enhanced_code,
            a.reply,
            a.error_code,
            a.duration_ms,
        )

    async def __call__(self, sql: RawSql) -> None:
        (result,) = await self.run_together(sql, [self])
        if isinstance(result, Refusal):
            raise result.error

    @classmethod
    async def run_together(cls, sql: RawSql, members: Sequence[_FinishSent]) -> list[object]:
        table, values = sql.values_table([m.row() for m in members], _FINISH_TYPES)
        if sql.postgres:
            # One round trip: the update's RETURNING feeds the other writes.
            event_ctes, event_values = _event_ctes(
                sql,
                [
                    (m.account_id, m.message_id, e, m.attempt.ended_at)
                    for m in members
                    for e in m.events
                ],
            )
            ctes = [
                f"v AS {table}",
                f"u AS ({_FINISH_UPDATE.format(values='v')})",
                f"a AS (INSERT INTO delivery_attempt ({_ATTEMPT_COLUMNS}) "
                f"SELECT {_FINISH_ATTEMPT} FROM v JOIN u ON u.id = v.column1)",
                f"h AS ({_CLOSE_BREAKERS.format(configs=_DONE_CONFIGS)})",
                *event_ctes,
            ]
            query = f"WITH {', '.join(ctes)} SELECT id FROM u"
            rows = await sql.fetch(query, *values, *event_values)
            mine = {sql.uuid(r["id"]) for r in rows}
        else:
            rows = await sql.fetch(_FINISH_UPDATE.format(values=f"{table} AS v"), *values)
            mine = {sql.uuid(r["id"]) for r in rows}
            done = [m for m in members if m.message_id in mine]
            if done:
                marks = ", ".join("?" * len(done))
                await sql.execute(
                    f"INSERT INTO delivery_attempt ({_ATTEMPT_COLUMNS}) SELECT {_FINISH_ATTEMPT} "
                    f"FROM {table} AS v WHERE v.column1 IN ({marks})",
                    *values,
                    *(m.message_id for m in done),
                )
                configs = sorted({m.attempt.config_id for m in done}, key=str)
                await sql.execute(
                    _CLOSE_BREAKERS.format(configs=", ".join("?" * len(configs))), *configs
                )
                await insert_event_rows(
                    sql,
                    [
                        (m.account_id, m.message_id, e, m.attempt.ended_at)
                        for m in done
                        for e in m.events
                    ],
                )
        return [
            None if m.message_id in mine else Refusal(LeaseLostError(str(m.message_id)))
            for m in members
        ]


async def finish_attempt(
    message: Claimed,
    *,
    owner: str,
    attempt: AttemptRecord,
    status: MessageStatus,
    events: list[Event],
    release_quota: bool,
    health: Callable[[Health], Health] | None = None,
    healthy: bool = False,
    next_attempt_at: datetime | None = None,
    delivered: bool = False,
    error: tuple[str, str] | None = None,
    batcher: WriteBatcher | None = None,
) -> None:
    """Record an attempt's outcome with its events, in one transaction.

    `status` SENDING keeps the lease (failover continues with another config); any other
    status ends this delivery run. `healthy` closes the config's breaker (the provider
    answered); `health`, for a provider failure, maps its locked breaker state to the new
    one. `release_quota` gives back the reservation of a send that never reached the provider.

    :raises LeaseLostError: the message is no longer ours.
    """
    now = attempt.ended_at
    if (
        status == MessageStatus.SENT
        and delivered
        and healthy
        and not release_quota
        and health is None
        and next_attempt_at is None
        and error is None
    ):
        # The common case, combined with the flush's other deliveries (see _FinishSent).
        await _run(_FinishSent(message.id, message.account_id, owner, attempt, events), batcher)
        message.status = status
        return

    async def operation(sql: RawSql) -> None:
        keep_lease = status == MessageStatus.SENDING
        changed = await sql.execute(
            "UPDATE message SET status = ?, in_flight_since = NULL, in_flight_config_id = NULL, "
            "lease_owner = CASE WHEN ? THEN lease_owner ELSE NULL END, "
            "lease_expires_at = CASE WHEN ? THEN lease_expires_at ELSE NULL END, "
            "next_attempt_at = COALESCE(?, next_attempt_at), "
            "delivered_config_id = CASE WHEN ? THEN ? ELSE delivered_config_id END, "
            "sent_at = CASE WHEN ? THEN ? ELSE sent_at END, "
            "last_error_code = CASE WHEN ? THEN NULL ELSE COALESCE(?, last_error_code) END, "
            "last_error_message = CASE WHEN ? THEN NULL ELSE COALESCE(?, last_error_message) END, "
            "deferrals = deferrals + CASE WHEN ? = 'DEFERRED' THEN 1 ELSE 0 END, "
            "updated_at = ? WHERE id = ? AND lease_owner = ?",
            status.value,
            keep_lease,
            keep_lease,
            next_attempt_at,
            delivered,
            attempt.config_id,
            delivered,
            now,
            delivered,
            error[0] if error else None,
            delivered,
            error[1] if error else None,
            status.value,
            now,
            message.id,
            owner,
        )
        if not changed:
            raise LeaseLostError(str(message.id))
        await sql.execute(
            "INSERT INTO delivery_attempt (message_id, config_id, number, started_at, ended_at, "
            "outcome, smtp_code, enhanced_code, reply, error_code, duration_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            message.id,
            attempt.config_id,
            attempt.number,
            attempt.started_at,
            attempt.ended_at,
            attempt.outcome,
            attempt.smtp_code,
            attempt.enhanced_code,
            attempt.reply,
            attempt.error_code,
            attempt.duration_ms,
        )
        if release_quota:
            await _release_daily(
                sql, attempt.config_id, utc_day(attempt.started_at), message.recipient_count
            )
        if healthy:
            # The provider answered: a closed breaker (the common case) writes nothing.
            await sql.execute(
                "UPDATE provider_health SET consecutive_failures = 0, opened_until = NULL, "
                "probe_until = NULL WHERE config_id = ? AND (consecutive_failures <> 0 "
                "OR opened_until IS NOT NULL OR probe_until IS NOT NULL)",
                attempt.config_id,
            )
        elif health is not None:
            current = await _lock_health(sql, attempt.config_id)
            updated: Health = health(current)
            await sql.execute(
                "INSERT INTO provider_health (config_id, consecutive_failures, opened_until, "
                "exhausted_until, last_error_code, minute_count) VALUES (?, ?, ?, ?, ?, 0) "
                "ON CONFLICT (config_id) DO UPDATE SET "
                "consecutive_failures = excluded.consecutive_failures, "
                "opened_until = excluded.opened_until, exhausted_until = excluded.exhausted_until, "
                "last_error_code = excluded.last_error_code, probe_until = NULL",
                attempt.config_id,
                updated.consecutive_failures,
                updated.opened_until,
                updated.exhausted_until,
                attempt.error_code,
            )
        await insert_events(sql, message.account_id, message.id, events, now)

    await _run(operation, batcher)
    message.status = status


async def end_without_attempt(
    message: Claimed,
    *,
    owner: str,
    status: MessageStatus,
    event: Event,
    now: datetime,
    next_attempt_at: datetime | None,
    error: tuple[str, str],
    batcher: WriteBatcher | None = None,
) -> None:
    """DEFERRED (no config can take it now) or FAILED (too old), with no SMTP attempt.

    :raises LeaseLostError: the message is no longer ours.
    """

    async def operation(sql: RawSql) -> None:
        changed = await sql.execute(
            "UPDATE message SET status = ?, lease_owner = NULL, lease_expires_at = NULL, "
            "next_attempt_at = COALESCE(?, next_attempt_at), last_error_code = ?, "
            "last_error_message = ?, updated_at = ?, "
            "deferrals = deferrals + CASE WHEN ? = 'DEFERRED' THEN 1 ELSE 0 END "
            "WHERE id = ? AND lease_owner = ?",
            status.value,
            next_attempt_at,
            error[0],
            error[1],
            now,
            status.value,
            message.id,
            owner,
        )
        if not changed:
            raise LeaseLostError(str(message.id))
        await insert_events(sql, message.account_id, message.id, [event], now)

    await _run(operation, batcher)
    message.status = status


async def renew_leases(*, owner: str, now: datetime, lease: timedelta, ids: list[Any]) -> int:
    """Extend the leases `owner` holds on `ids` (see leases.renew)."""
    return await leases.renew("message", "SENDING", owner=owner, now=now, lease=lease, ids=ids)
