"""The durable queue: claiming with leases, quota reservation, attempt outcomes, the outbox.

Every state change of a message and the event that describes it commit in one transaction.
On PostgreSQL any number of workers claim with FOR UPDATE SKIP LOCKED; on SQLite there is one
writer (the embedded server) and the same statements run without the lock clause.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery.clock import utc_day
from mailsage_gql.delivery.policy import Health
from mailsage_gql.models import Message, MessageStatus

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


async def insert_events(
    sql: RawSql, account_id: uuid.UUID, message_id: uuid.UUID, events: list[Event], at: datetime
) -> None:
    """Store events in the outbox and queue them for every enabled webhook of the account that
    subscribed to their type, in the caller's transaction."""
    for e in events:
        rows = await sql.fetch(
            "INSERT INTO delivery_event (account_id, message_id, type, smtp_config_id, attempt, "
            "code, smtp_code, enhanced_code, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
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
        await sql.execute(
            "INSERT INTO webhook_delivery (webhook_id, event_id, status, attempt_count, "
            "next_attempt_at, created_at) SELECT id, ?, 'PENDING', 0, ?, ? FROM webhook "
            "WHERE account_id = ? AND enabled = ? AND events LIKE ?",
            rows[0]["id"],
            at,
            at,
            account_id,
            True,
            f"%,{e.type},%",
        )


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


async def _ensure_rows(sql: RawSql, config_id: uuid.UUID, day: date) -> None:
    await sql.execute(
        "INSERT INTO smtp_usage (config_id, day, sent) VALUES (?, ?, 0) "
        "ON CONFLICT (config_id, day) DO NOTHING",
        config_id,
        day,
    )
    await sql.execute(
        "INSERT INTO provider_health (config_id, consecutive_failures, minute_count) "
        "VALUES (?, 0, 0) ON CONFLICT (config_id) DO NOTHING",
        config_id,
    )


async def _reserve_daily(
    sql: RawSql, config_id: uuid.UUID, day: date, n: int, daily_limit: int
) -> bool:
    """Atomically count `n` recipients against the day, only while the limit allows it."""
    return bool(
        await sql.execute(
            "UPDATE smtp_usage SET sent = sent + ? WHERE config_id = ? AND day = ? "
            "AND sent + ? <= ?",
            n,
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
        sql = RawSql(conn)
        await _ensure_rows(sql, config_id, utc_day(now))
        return await _reserve_daily(sql, config_id, utc_day(now), n, daily_limit)


async def release_daily(config_id: uuid.UUID, *, n: int, reserved_at: datetime) -> None:
    async with in_transaction() as conn:
        await _release_daily(RawSql(conn), config_id, utc_day(reserved_at), n)


class LeaseLostError(Exception):
    """Another worker took the message over (our lease expired); stop touching it."""


@dataclass(frozen=True)
class Reservation:
    ok: bool
    reason: str | None = None  # daily_limit | minute_limit | circuit_open | None


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
) -> Reservation:
    """Reserve the recipients against the config's daily (and per-minute) limit, claim the
    half-open probe slot if `probe`, and mark the message in flight, in one transaction.
    The reservation is atomic: concurrent workers on any database never exceed a limit.

    :raises LeaseLostError: the message is no longer ours.
    """
    n = message.recipient_count
    day = utc_day(now)
    minute = now.replace(second=0, microsecond=0)
    async with in_transaction() as conn:
        sql = RawSql(conn)
        await _ensure_rows(sql, config_id, day)
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
                return Reservation(False, "circuit_open")
        if not await _reserve_daily(sql, config_id, day, n, daily_limit):
            await _undo_probe(sql, config_id, probe)
            return Reservation(False, "daily_limit")
        if max_per_minute is not None:
            counted = await sql.execute(
                "UPDATE provider_health SET "
                "minute_count = CASE WHEN minute_start = ? THEN minute_count + ? ELSE ? END, "
                "minute_start = ? WHERE config_id = ? AND "
                "(minute_start IS NULL OR minute_start <> ? OR minute_count + ? <= ?)",
                minute,
                n,
                n,
                minute,
                config_id,
                minute,
                n,
                max_per_minute,
            )
            if not counted:
                await _release_daily(sql, config_id, day, n)
                await _undo_probe(sql, config_id, probe)
                return Reservation(False, "minute_limit")
        mine = await sql.execute(
            "UPDATE message SET in_flight_since = ?, in_flight_config_id = ?, "
            "attempt_count = attempt_count + 1, updated_at = ? "
            "WHERE id = ? AND lease_owner = ? AND status = 'SENDING'",
            now,
            config_id,
            now,
            message.id,
            owner,
        )
        if not mine:
            raise LeaseLostError(str(message.id))
        message.attempt_count += 1
        await insert_events(
            sql,
            message.account_id,
            message.id,
            [
                *(
                    [
                        Event(
                            "FAILOVER",
                            smtp_config_id=failover_from,
                            attempt=message.attempt_count,
                            detail=f"failed over from {failover_from} to {config_id}",
                        )
                    ]
                    if failover_from is not None
                    else []
                ),
                Event("SENDING", smtp_config_id=config_id, attempt=message.attempt_count),
            ],
            now,
        )
    return Reservation(True)


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
    health: Callable[[Health], Health] | None,
    next_attempt_at: datetime | None = None,
    delivered: bool = False,
    error: tuple[str, str] | None = None,
) -> None:
    """Record an attempt's outcome with its events, in one transaction.

    `status` SENDING keeps the lease (failover continues with another config); any other
    status ends this delivery run. `health`, when given, maps the config's locked breaker
    state to its new state. `release_quota` gives back the reservation of a send that never
    reached the provider.

    :raises LeaseLostError: the message is no longer ours.
    """
    now = attempt.ended_at
    async with in_transaction() as conn:
        sql = RawSql(conn)
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
        if health is not None:
            current = await _lock_health(sql, attempt.config_id)
            updated: Health = health(current)
            if updated != current:
                await sql.execute(
                    "UPDATE provider_health SET consecutive_failures = ?, opened_until = ?, "
                    "exhausted_until = ?, probe_until = NULL, last_error_code = ? "
                    "WHERE config_id = ?",
                    updated.consecutive_failures,
                    updated.opened_until,
                    updated.exhausted_until,
                    attempt.error_code,
                    attempt.config_id,
                )
            elif updated.opened_until is not None:
                await sql.execute(
                    "UPDATE provider_health SET probe_until = NULL WHERE config_id = ?",
                    attempt.config_id,
                )
        await insert_events(sql, message.account_id, message.id, events, now)
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
) -> None:
    """DEFERRED (no config can take it now) or FAILED (too old), with no SMTP attempt.

    :raises LeaseLostError: the message is no longer ours.
    """
    async with in_transaction() as conn:
        sql = RawSql(conn)
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
    message.status = status


async def renew_leases(*, owner: str, now: datetime, lease: timedelta) -> int:
    """Extend every lease `owner` holds (its heartbeat); returns how many."""
    async with in_transaction() as conn:
        return await RawSql(conn).execute(
            "UPDATE message SET lease_expires_at = ? WHERE lease_owner = ? AND status = 'SENDING'",
            now + lease,
            owner,
        )
