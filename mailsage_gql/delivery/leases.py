"""Claiming and lease renewal shared by the leased queues (messages, webhook deliveries)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql


def claim_statement(sql: RawSql, table: str, *, assignments: str, due: str, returning: str) -> str:
    """The UPDATE that leases `table`'s due rows, earliest due first. Its parameters: those
    of `assignments` (the SET list), those of `due` (the condition), then the limit.
    `table` and the clauses are constants of the calling queue, never input.

    PostgreSQL: `FOR UPDATE SKIP LOCKED` lets any number of workers claim side by side, and
    `id = ANY(ARRAY(...))` makes the pick run first, then one primary-key lookup per row.
    With `id IN (...)` a generic plan (asyncpg prepares statements, and PostgreSQL may
    reuse one plan for them), which does not know the limit's value, can hash-join the
    pick to a scan of the whole table: every claim then costs time in proportion to the
    table (the webhook table keeps every delivery ever made)."""
    if sql.postgres:
        pick = f"SELECT id FROM {table} WHERE {due} ORDER BY next_attempt_at LIMIT ? "
        where = f"id = ANY(ARRAY({pick}FOR UPDATE SKIP LOCKED))"
    else:  # one writer: no row locks
        where = f"id IN (SELECT id FROM {table} WHERE {due} ORDER BY next_attempt_at LIMIT ?)"
    return f"UPDATE {table} SET {assignments} WHERE {where} RETURNING {returning}"


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
