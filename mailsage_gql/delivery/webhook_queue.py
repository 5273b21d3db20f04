"""The webhook delivery queue: the same lease discipline as messages, over webhook_delivery."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery import leases
from mailsage_gql.models import WebhookDelivery, WebhookDeliveryStatus


def claim_statement(sql: RawSql) -> str:
    """claim's statement; its parameters: owner, lease expiry, now, now, limit."""
    return leases.claim_statement(
        sql,
        "webhook_delivery",
        assignments="lease_owner = ?, lease_expires_at = ?",
        due="status = 'PENDING' AND next_attempt_at <= ? "
        "AND (lease_expires_at IS NULL OR lease_expires_at < ?)",
        returning="id",
    )


async def claim(
    *, owner: str, limit: int, now: datetime, lease: timedelta
) -> list[WebhookDelivery]:
    """Lease up to `limit` due deliveries to `owner`."""
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
    if not rows:
        return []
    return await WebhookDelivery.filter(id__in=[int(r["id"]) for r in rows]).order_by("id")


async def next_due_at() -> datetime | None:
    row = (
        await WebhookDelivery.filter(status=WebhookDeliveryStatus.PENDING)
        .order_by("next_attempt_at")
        .first()
        .values("next_attempt_at")
    )
    return None if row is None else row["next_attempt_at"]


async def recover_expired_leases(*, now: datetime) -> tuple[int, int]:
    """Expired leases need no work: a pending delivery whose lease ran out is claimable again
    (a webhook may receive an event twice; receivers dedupe on webhook-id)."""
    return 0, 0


async def renew_leases(*, owner: str, now: datetime, lease: timedelta, ids: list[Any]) -> int:
    """Extend the leases `owner` holds on `ids` (see leases.renew)."""
    return await leases.renew(
        "webhook_delivery", "PENDING", owner=owner, now=now, lease=lease, ids=ids
    )


async def release_claims(*, owner: str, now: datetime) -> int:
    async with in_transaction() as conn:
        return await RawSql(conn).execute(
            "UPDATE webhook_delivery SET lease_owner = NULL, lease_expires_at = NULL "
            "WHERE lease_owner = ? AND status = 'PENDING'",
            owner,
        )
