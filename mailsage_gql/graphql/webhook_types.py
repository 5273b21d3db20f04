"""Strawberry types for webhooks; no type carries a secret except the shown-once result."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from mailsage_gql.graphql.event_types import DeliveryEventType
from mailsage_gql.graphql.message_types import PageInfo
from mailsage_gql.services.webhooks import DeliveryRecord, IssuedSecret, WebhookRecord


@strawberry.type
class Webhook:
    id: strawberry.ID
    url: str
    events: list[DeliveryEventType]
    enabled: bool
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled (e.g. too many consecutive failures)."
    )
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, r: WebhookRecord) -> Webhook:
        return cls(
            id=strawberry.ID(str(r.id)),
            url=r.url,
            events=[DeliveryEventType(e) for e in r.events],
            enabled=r.enabled,
            disabled_reason=r.disabled_reason,
            consecutive_failures=r.consecutive_failures,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


@strawberry.type(description="The secret is shown here once; store it to verify signatures.")
class WebhookWithSecret:
    webhook: Webhook
    secret: str = strawberry.field(
        description="whsec_...: the HMAC-SHA256 key (base64 after the prefix) of "
        "webhook-signature (v1,<base64 of HMAC over id.timestamp.body>)."
    )

    @classmethod
    def from_issued(cls, issued: IssuedSecret) -> WebhookWithSecret:
        return cls(webhook=Webhook.from_record(issued.webhook), secret=issued.secret)


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type
class WebhookAttempt:
    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_snippet: str | None


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    event_id: strawberry.ID
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempts: list[WebhookAttempt]

    @classmethod
    def from_record(cls, r: DeliveryRecord) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(r.id)),
            event_id=strawberry.ID(str(r.event_id)),
            status=WebhookDeliveryStatus(r.status.value),
            attempt_count=r.attempt_count,
            next_attempt_at=r.next_attempt_at,
            last_status_code=r.last_status_code,
            last_error=r.last_error,
            created_at=r.created_at,
            completed_at=r.completed_at,
            attempts=[
                WebhookAttempt(
                    number=a.number,
                    started_at=a.started_at,
                    duration_ms=a.duration_ms,
                    status_code=a.status_code,
                    error=a.error,
                    response_snippet=a.response_snippet,
                )
                for a in r.attempts
            ],
        )


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo
