"""Each provider's circuit breaker as stored in provider_health: read, probe slot, close, fail."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from mailsage_gql.database import RawSql
from mailsage_gql.delivery.policy import Health

#: Close the breakers of the configs `{configs}` (a list of placeholders or a subquery): their
#: providers answered. A closed breaker, the common case, is not written.
CLOSE = (
    "UPDATE provider_health SET consecutive_failures = 0, opened_until = NULL, "
    "probe_until = NULL WHERE config_id IN ({configs}) AND (consecutive_failures <> 0 "
    "OR opened_until IS NOT NULL OR probe_until IS NOT NULL)"
)


async def read_health(config_ids: list[uuid.UUID]) -> dict[uuid.UUID, Health]:
    """The breaker states of `config_ids` that have one (planning only: no lock)."""
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


async def claim_probe(sql: RawSql, config_id: uuid.UUID, *, now: datetime, until: datetime) -> bool:
    """Take the half-open breaker's one probe slot until `until`, if its cooldown is over
    and no other probe holds it, in the caller's transaction."""
    return bool(
        await sql.execute(
            "UPDATE provider_health SET probe_until = ? WHERE config_id = ? AND "
            "opened_until <= ? AND (probe_until IS NULL OR probe_until < ?)",
            until,
            config_id,
            now,
            now,
        )
    )


async def release_probe(sql: RawSql, config_id: uuid.UUID) -> None:
    """Give the probe slot back (claim_probe) without an attempt, in the caller's transaction."""
    await sql.execute(
        "UPDATE provider_health SET probe_until = NULL WHERE config_id = ?", config_id
    )


async def close(sql: RawSql, config_ids: list[uuid.UUID]) -> None:
    """Close the breakers of `config_ids` (see CLOSE), in the caller's transaction."""
    if config_ids:
        await sql.execute(CLOSE.format(configs=", ".join("?" * len(config_ids))), *config_ids)


async def count_failure(
    sql: RawSql,
    config_id: uuid.UUID,
    *,
    after_failure: Callable[[Health], Health],
    error_code: str | None,
) -> None:
    """A provider failure: lock the config's breaker state, map it through `after_failure`
    and store the result, in the caller's transaction."""
    lock = " FOR UPDATE" if sql.postgres else ""
    rows = await sql.fetch(
        "SELECT consecutive_failures, opened_until, exhausted_until FROM provider_health "
        f"WHERE config_id = ?{lock}",
        config_id,
    )
    current = Health()
    if rows:
        row = rows[0]
        current = Health(
            consecutive_failures=row["consecutive_failures"],
            opened_until=sql.datetime(row["opened_until"]),
            exhausted_until=sql.datetime(row["exhausted_until"]),
        )
    updated = after_failure(current)
    await sql.execute(
        "INSERT INTO provider_health (config_id, consecutive_failures, opened_until, "
        "exhausted_until, last_error_code, minute_count) VALUES (?, ?, ?, ?, ?, 0) "
        "ON CONFLICT (config_id) DO UPDATE SET "
        "consecutive_failures = excluded.consecutive_failures, "
        "opened_until = excluded.opened_until, exhausted_until = excluded.exhausted_until, "
        "last_error_code = excluded.last_error_code, probe_until = NULL",
        config_id,
        updated.consecutive_failures,
        updated.opened_until,
        updated.exhausted_until,
        error_code,
    )
