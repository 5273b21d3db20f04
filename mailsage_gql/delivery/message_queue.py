"""The message queue's leases: claiming due messages, renewal, recovery of expired, release."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery import leases
from mailsage_gql.delivery.outbox import Event, insert_events
from mailsage_gql.models import MessageStatus

_DUE = "status IN ('QUEUED', 'DEFERRED') AND next_attempt_at <= ?"


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


async def renew_leases(*, owner: str, now: datetime, lease: timedelta, ids: list[Any]) -> int:
    """Extend the leases `owner` holds on `ids` (see leases.renew)."""
    return await leases.renew("message", "SENDING", owner=owner, now=now, lease=lease, ids=ids)


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
