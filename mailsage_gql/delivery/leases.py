"""Lease renewal shared by the leased queues (messages, webhook deliveries)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql


async def renew(
    table: str, active_status: str, *, owner: str, now: datetime, lease: timedelta, ids: list[Any]
) -> int:
    """Extend the leases `owner` holds on `ids` (its deliveries still running) in `table`;
    returns how many. A crashed delivery's lease is left to expire. `table` and
    `active_status` are constants of the calling queue, never input."""
    if not ids:
        return 0
    marks = ", ".join("?" * len(ids))
    async with in_transaction() as conn:
        return await RawSql(conn).execute(
            f"UPDATE {table} SET lease_expires_at = ? WHERE lease_owner = ? "
            f"AND status = '{active_status}' AND id IN ({marks})",
            now + lease,
            owner,
            *ids,
        )
