"""Webhook endpoints: creation with a shown-once secret, rotation with grace, delivery logs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from mailsage_gql import host_policy
from mailsage_gql.crypto import Keyring
from mailsage_gql.crypto.webhook_signature import generate_secret
from mailsage_gql.delivery.clock import utc_now
from mailsage_gql.errors import NotFoundError, ValidationError
from mailsage_gql.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from mailsage_gql.services import validation as v

EVENT_TYPES = ("QUEUED", "SENDING", "SENT", "DEFERRED", "FAILED", "FAILOVER", "UNCERTAIN")
MAX_WEBHOOKS = 20


@dataclass(frozen=True)
class WebhookRecord:
    """What either face may show of a webhook. No secret field, on purpose."""

    id: uuid.UUID
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: Webhook) -> WebhookRecord:
        return cls(
            id=row.id,
            url=row.url,
            events=[e for e in row.events.split(",") if e],
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            consecutive_failures=row.consecutive_failures,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class IssuedSecret:
    webhook: WebhookRecord
    #: `whsec_...`, shown once.
    secret: str

    def __repr__(self) -> str:
        return f"IssuedSecret(webhook={self.webhook.id})"


def secret_context(webhook_id: uuid.UUID, *, previous: bool = False) -> str:
    return f"webhook:{webhook_id}:{'previous_secret' if previous else 'secret'}"


def check_url(value: Any, *, allow_private: bool) -> str:
    """An http(s) URL without credentials whose host passes the host policy (a literal
    refused address is refused here; names are resolved and checked before every post).

    :raises ValidationError: (field="url").
    """
    url = v.check_text(value, field="url", min_length=1, max_length=2048)
    return host_policy.check_url(url, target=host_policy.WEBHOOK_URL, allow_private=allow_private)


def check_events(value: Any) -> str:
    """The subscribed types as the ",SENT,FAILED," column value."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ValidationError("events must list at least one event type", field="events")
    unknown = [e for e in value if e not in EVENT_TYPES]
    if unknown:
        raise ValidationError(f"unknown event type {unknown[0]!r}", field="events")
    return "," + ",".join(e for e in EVENT_TYPES if e in value) + ","


async def _row(account_id: uuid.UUID, webhook_id: uuid.UUID | str) -> Webhook:
    try:
        parsed = uuid.UUID(str(webhook_id))
    except ValueError:
        raise NotFoundError(f"webhook {webhook_id} not found") from None
    row = await Webhook.get_or_none(id=parsed, account_id=account_id)
    if row is None:
        raise NotFoundError(f"webhook {webhook_id} not found")
    return row


async def create_webhook(
    account_id: uuid.UUID,
    *,
    url: Any,
    events: Any,
    keyring: Keyring,
    allow_private: bool,
) -> IssuedSecret:
    """:raises ValidationError: bad url or events, or too many webhooks."""
    clean_url = check_url(url, allow_private=allow_private)
    clean_events = check_events(events)
    if await Webhook.filter(account_id=account_id).count() >= MAX_WEBHOOKS:
        raise ValidationError(f"an account has at most {MAX_WEBHOOKS} webhooks", field="url")
    webhook_id = uuid.uuid4()
    secret = generate_secret()
    row = await Webhook.create(
        id=webhook_id,
        account_id=account_id,
        url=clean_url,
        events=clean_events,
        secret_sealed=keyring.seal(secret, context=secret_context(webhook_id)),
    )
    return IssuedSecret(WebhookRecord.from_model(row), secret)


async def list_webhooks(account_id: uuid.UUID) -> list[WebhookRecord]:
    rows = await Webhook.filter(account_id=account_id).order_by("created_at", "id")
    return [WebhookRecord.from_model(r) for r in rows]


async def update_webhook(
    account_id: uuid.UUID,
    webhook_id: uuid.UUID | str,
    *,
    url: Any = None,
    events: Any = None,
    enabled: bool | None = None,
    allow_private: bool,
) -> WebhookRecord:
    """Only what is given changes. Enabling a disabled webhook resets its failure count."""
    row = await _row(account_id, webhook_id)
    if url is not None:
        row.url = check_url(url, allow_private=allow_private)
    if events is not None:
        row.events = check_events(events)
    if enabled is not None:
        if enabled and not row.enabled:
            row.consecutive_failures = 0
            row.disabled_reason = None  # type: ignore[assignment]
        row.enabled = enabled
    await row.save()
    return WebhookRecord.from_model(row)


async def delete_webhook(account_id: uuid.UUID, webhook_id: uuid.UUID | str) -> None:
    row = await _row(account_id, webhook_id)
    await row.delete()


async def rotate_secret(
    account_id: uuid.UUID, webhook_id: uuid.UUID | str, *, keyring: Keyring, grace: float
) -> IssuedSecret:
    """A new secret; the old one keeps signing (beside the new) for `grace` seconds."""
    async with in_transaction():
        row = await _row(account_id, webhook_id)
        old = keyring.open(row.secret_sealed, context=secret_context(row.id))
        secret = generate_secret()
        row.previous_secret_sealed = keyring.seal(
            old, context=secret_context(row.id, previous=True)
        )
        row.previous_secret_expires_at = utc_now() + timedelta(seconds=grace)
        row.secret_sealed = keyring.seal(secret, context=secret_context(row.id))
        await row.save()
    return IssuedSecret(WebhookRecord.from_model(row), secret)


def secrets_in_use(row: Webhook, keyring: Keyring, *, now: datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    current = [keyring.open(row.secret_sealed, context=secret_context(row.id))]
    if (
        row.previous_secret_sealed is not None
        and row.previous_secret_expires_at is not None
        and now < row.previous_secret_expires_at
    ):
        current.append(
            keyring.open(row.previous_secret_sealed, context=secret_context(row.id, previous=True))
        )
    return current


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_snippet: str | None


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    event_id: int
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempts: list[AttemptRecord]


async def list_deliveries(
    account_id: uuid.UUID, webhook_id: uuid.UUID | str, *, first: int, after: int | None
) -> tuple[list[DeliveryRecord], bool]:
    """Newest first, `first` at a time after the delivery id `after`; with their attempts."""
    if not 1 <= first <= 200:
        raise ValidationError("first must be between 1 and 200", field="first")
    row = await _row(account_id, webhook_id)
    query = WebhookDelivery.filter(webhook_id=row.id)
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(first + 1)
    page = rows[:first]
    attempts: dict[int, list[AttemptRecord]] = {r.id: [] for r in page}
    for a in await WebhookAttempt.filter(delivery_id__in=list(attempts)).order_by("id"):
        attempts[a.delivery_id].append(
            AttemptRecord(
                number=a.number,
                started_at=a.started_at,
                duration_ms=a.duration_ms,
                status_code=a.status_code,
                error=a.error,
                response_snippet=a.response_snippet,
            )
        )
    records = [
        DeliveryRecord(
            id=d.id,
            event_id=d.event_id,
            status=WebhookDeliveryStatus(d.status),
            attempt_count=d.attempt_count,
            next_attempt_at=d.next_attempt_at
            if d.status == WebhookDeliveryStatus.PENDING
            else None,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            completed_at=d.completed_at,
            attempts=attempts[d.id],
        )
        for d in page
    ]
    return records, len(rows) > first


async def reseal_all(keyring: Keyring) -> int:
    """Re-seal webhook secrets not sealed with the newest key; returns how many changed."""
    changed = 0
    async with in_transaction():
        for row in await Webhook.all().select_for_update():
            updates: dict[str, str] = {}
            for column, previous in (("secret_sealed", False), ("previous_secret_sealed", True)):
                token = getattr(row, column)
                if token is None or not keyring.needs_reseal(token):
                    continue
                context = secret_context(row.id, previous=previous)
                updates[column] = keyring.seal(
                    keyring.open(token, context=context), context=context
                )
            if updates:
                await Webhook.filter(id=row.id).update(**updates)
                changed += len(updates)
    return changed
