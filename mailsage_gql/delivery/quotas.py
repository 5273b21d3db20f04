"""Quota reservations: recipients counted against a config's daily and per-minute limits."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery.clock import utc_day


async def reserve_day(sql: RawSql, config_id: uuid.UUID, day: date, n: int, limit: int) -> bool:
    """Atomically count `n` recipients against the day, only while `limit` allows it, in the
    caller's transaction. One upsert: the day's row is created by its first reservation, so
    nothing resets counters. Concurrent reservations on any database never pass the limit."""
    if n > limit:
        return False
    return bool(
        await sql.execute(
            "INSERT INTO smtp_usage (config_id, day, sent) VALUES (?, ?, ?) "
            "ON CONFLICT (config_id, day) DO UPDATE SET sent = smtp_usage.sent + excluded.sent "
            "WHERE smtp_usage.sent + excluded.sent <= ?",
            config_id,
            day,
            n,
            limit,
        )
    )


async def release_day(sql: RawSql, config_id: uuid.UUID, day: date, n: int) -> None:
    """Give back `n` recipients reserved against the day (reserve_day), in the caller's
    transaction."""
    await sql.execute(
        "UPDATE smtp_usage SET sent = sent - ? WHERE config_id = ? AND day = ? AND sent >= ?",
        n,
        config_id,
        day,
        n,
    )


async def reserve_minute(
    sql: RawSql, config_id: uuid.UUID, now: datetime, n: int, limit: int
) -> bool:
    """Atomically count `n` recipients against the minute of `now`, only while `limit`
    allows it, in the caller's transaction. The count lives in the config's provider_health
    row and starts over with each new minute; it is never given back."""
    if n > limit:
        return False
    return bool(
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
            limit,
        )
    )


async def reserve_daily(config_id: uuid.UUID, *, n: int, daily_limit: int, now: datetime) -> bool:
    """Count `n` recipients against today's limit of a config, if it allows them (test sends),
    in a transaction of its own."""
    async with in_transaction() as conn:
        return await reserve_day(RawSql(conn), config_id, utc_day(now), n, daily_limit)


async def release_daily(config_id: uuid.UUID, *, n: int, reserved_at: datetime) -> None:
    """Give back what reserve_daily reserved at `reserved_at`, in a transaction of its own."""
    async with in_transaction() as conn:
        await release_day(RawSql(conn), config_id, utc_day(reserved_at), n)
