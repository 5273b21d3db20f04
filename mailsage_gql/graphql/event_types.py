"""Strawberry types for delivery tracking: events and statistics."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from mailsage_gql.events.hub import EventRecord


@strawberry.enum
class DeliveryEventType(Enum):
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    DEFERRED = "DEFERRED"
    FAILED = "FAILED"
    FAILOVER = strawberry.enum_value(
        "FAILOVER", description="The message moved to another config; detail names both."
    )
    UNCERTAIN = "UNCERTAIN"


@strawberry.type(description="One step in a message's delivery. Ids increase; resume with after.")
class DeliveryEvent:
    id: strawberry.ID
    type: DeliveryEventType
    message_id: strawberry.ID
    smtp_config_id: strawberry.ID | None
    attempt: int | None
    code: str | None
    smtp_code: int | None
    enhanced_code: str | None
    detail: str | None
    at: datetime

    @classmethod
    def from_record(cls, r: EventRecord) -> DeliveryEvent:
        return cls(
            id=strawberry.ID(str(r.id)),
            type=DeliveryEventType(r.type),
            message_id=strawberry.ID(str(r.message_id)),
            smtp_config_id=strawberry.ID(str(r.smtp_config_id)) if r.smtp_config_id else None,
            attempt=r.attempt,
            code=r.code,
            smtp_code=r.smtp_code,
            enhanced_code=r.enhanced_code,
            detail=r.detail,
            at=r.at,
        )
