"""The durable queue: claiming with leases, quota reservation, attempt outcomes, the outbox.

Every state change of a message and the event that describes it commit in one transaction.
On PostgreSQL any number of workers claim with FOR UPDATE SKIP LOCKED; on SQLite there is one
writer (the embedded server) and the same statements run without the lock clause.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery import leases
from mailsage_gql.delivery.batcher import WriteBatcher
from mailsage_gql.delivery.clock import utc_day
from mailsage_gql.delivery.policy import Health
from mailsage_gql.models import Message, MessageStatus

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


def _event_values(
    rows: list[tuple[uuid.UUID, uuid.UUID, Event]], at: datetime
) -> tuple[str, list[object]]:
    placeholders = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
    values: list[object] = []
    for account_id, message_id, e in rows:
        values += [
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
        ]
    return placeholders, values


_FAN_OUT = (
    "INSERT INTO webhook_delivery (webhook_id, event_id, status, attempt_count, "
    "next_attempt_at, created_at) SELECT w.id, e.id, 'PENDING', 0, e.at, e.at "
    "FROM {events} e JOIN webhook w ON w.account_id = e.account_id AND w.enabled "
    "AND w.events LIKE '%,' || e.type || ',%'"
)
_EVENTS_PER_STATEMENT = 500  # 10 parameters each: well inside both dialects' limits


async def insert_many_events(
    sql: RawSql, rows: list[tuple[uuid.UUID, uuid.UUID, Event]], at: datetime
) -> None:
    """Store events (account, message, event) in the outbox and queue them for every enabled
    webhook of their account that subscribed to their type, in the caller's transaction:
    one statement per 500 events on PostgreSQL, two on SQLite."""
    for start in range(0, len(rows), _EVENTS_PER_STATEMENT):
        chunk = rows[start : start + _EVENTS_PER_STATEMENT]
        placeholders, values = _event_values(chunk, at)
        if sql.postgres:
            await sql.execute(
                f"WITH e AS (INSERT INTO delivery_event ({_EVENT_COLUMNS}) VALUES {placeholders} "
                f"RETURNING id, account_id, type, at) {_FAN_OUT.format(events='e')}",
                *values,
            )
            continue
        inserted = await sql.fetch(
            f"INSERT INTO delivery_event ({_EVENT_COLUMNS}) VALUES {placeholders} RETURNING id",
            *values,
        )
        ids = [int(r["id"]) for r in inserted]
        marks = ", ".join("?" * len(ids))
        await sql.execute(
            _FAN_OUT.format(events=f"(SELECT * FROM delivery_event WHERE id IN ({marks}))"), *ids
        )


async def insert_queued_events(
    sql: RawSql,
    account_id: uuid.UUID,
    rows: list[tuple[uuid.UUID, uuid.UUID]],
    at: datetime,
) -> None:
    """The QUEUED events of newly queued messages (message, config), with their webhook fan-out,
    in the caller's transaction: what insert_many_events stores, in one statement of a fixed
    text (one array or JSON list per column) instead of ten parameters per event."""
    if not rows:
        return
    if sql.postgres:
        await sql.execute(
            "WITH e AS (INSERT INTO delivery_event (account_id, message_id, type, smtp_config_id, "
            "at) SELECT ?, q.message_id, 'QUEUED', q.config_id, ? FROM unnest(?::uuid[], "
            "?::uuid[]) WITH ORDINALITY AS q(message_id, config_id, n) ORDER BY q.n "
            f"RETURNING id, account_id, type, at) {_FAN_OUT.format(events='e')}",
            account_id,
            at,
            [m for m, _ in rows],
            [c for _, c in rows],
        )
        return
    # SQLite: the ids of one JSON list, in order (json_each keeps it).
    inserted = await sql.fetch(
        "INSERT INTO delivery_event (account_id, message_id, type, smtp_config_id, at) "
        "SELECT ?, json_extract(q.value, '$[0]'), 'QUEUED', json_extract(q.value, '$[1]'), ? "
        "FROM json_each(?) AS q ORDER BY q.key RETURNING id",
        account_id,
        at,
        json.dumps([[str(m), str(c)] for m, c in rows]),
    )
    await sql.execute(
        _FAN_OUT.format(
            events="(SELECT * FROM delivery_event WHERE id IN (SELECT value FROM json_each(?)))"
        ),
        json.dumps([r["id"] for r in inserted]),
    )


async def insert_events(
    sql: RawSql, account_id: uuid.UUID, message_id: uuid.UUID, events: list[Event], at: datetime
) -> None:
    """Events of one message (see insert_many_events)."""
    await insert_many_events(sql, [(account_id, message_id, e) for e in events], at)


async def claim(*, owner: str, limit: int, now: datetime, lease: timedelta) -> list[Message]:
    """Lease up to `limit` due messages to `owner` (status SENDING). Two workers never hold
    the same message: the row lock (PostgreSQL) or the single writer (SQLite) decides."""
    async with in_transaction() as conn:
        sql = RawSql(conn)
        lock = " FOR UPDATE SKIP LOCKED" if sql.postgres else ""
        rows = await sql.fetch(
            "UPDATE message SET status = 'SENDING', lease_owner = ?, lease_expires_at = ?, "
            "updated_at = ? WHERE id IN (SELECT id FROM message WHERE "
            f"{_DUE} ORDER BY next_attempt_at LIMIT ?{lock}) RETURNING id",
            owner,
            now + lease,
            now,
            now,
            limit,
        )
    if not rows:
        return []
    return await Message.filter(id__in=[sql.uuid(r["id"]) for r in rows])


async def next_due_at() -> datetime | None:
    """When the earliest queued or deferred message becomes due (None: nothing waits)."""
    row = (
        await Message.filter(status__in=[MessageStatus.QUEUED, MessageStatus.DEFERRED])
        .order_by("next_attempt_at")
        .first()
        .values("next_attempt_at")
    )
    return None if row is None else row["next_attempt_at"]


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


async def begin_attempt(
    message: Message,
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
    n = message.recipient_count
    day = utc_day(now)
    minute = now.replace(second=0, microsecond=0)
    attempt = message.attempt_count + 1

    async def operation(sql: RawSql) -> Reservation:
        if not await _reserve_daily(sql, config_id, day, n, daily_limit):
            return Reservation(False, "daily_limit")
        if probe:
            claimed = await sql.execute(
                "UPDATE provider_health SET probe_until = ? WHERE config_id = ? AND "
                "opened_until <= ? AND (probe_until IS NULL OR probe_until < ?)",
                now + probe_timeout,
                config_id,
                now,
                now,
            )
            if not claimed:
                await _release_daily(sql, config_id, day, n)
                return Reservation(False, "circuit_open")
        if max_per_minute is not None:
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
                    minute,
                    n,
                    max_per_minute,
                )
                if n <= max_per_minute
                else 0
            )
            if not counted:
                await _release_daily(sql, config_id, day, n)
                await _undo_probe(sql, config_id, probe)
                return Reservation(False, "minute_limit")
        mine = await sql.execute(
            "UPDATE message SET in_flight_since = ?, in_flight_config_id = ?, "
            "attempt_count = ?, updated_at = ? "
            "WHERE id = ? AND lease_owner = ? AND status = 'SENDING'",
            now,
            config_id,
            attempt,
            now,
            message.id,
            owner,
        )
        if not mine:
            raise LeaseLostError(str(message.id))
        events = [Event("SENDING", smtp_config_id=config_id, attempt=attempt)]
        if failover_from is not None:
            events.insert(
                0,
                Event(
                    "FAILOVER",
                    smtp_config_id=failover_from,
                    attempt=attempt,
                    detail=f"failed over from {failover_from} to {config_id}",
                ),
            )
        await insert_events(sql, message.account_id, message.id, events, now)
        return Reservation(True)

    reservation = await _run(operation, batcher)
    if reservation.ok:
        message.attempt_count = attempt
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


async def finish_attempt(
    message: Message,
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
    message: Message,
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
