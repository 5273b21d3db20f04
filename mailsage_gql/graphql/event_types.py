"""Strawberry types for delivery tracking: events and statistics."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from enum import Enum

import strawberry

from mailsage_gql.events.hub import EventRecord
from mailsage_gql.services.stats import ConfigStats, DayStats, StatsRecord


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


@strawberry.type
class ErrorCount:
    code: str
    count: int


def error_counts(errors: Counter[str]) -> list[ErrorCount]:
    return [ErrorCount(code=c, count=n) for c, n in sorted(errors.items())]


@strawberry.type(description="Attempts through one provider.")
class ConfigDeliveryStats:
    smtp_config_id: strawberry.ID
    name: str | None = strawberry.field(description="Null once the config is deleted.")
    attempts: int
    sent: int
    failed: int
    uncertain: int
    failovers: int = strawberry.field(description="Attempts that moved on to another config.")
    delivery_rate: float | None
    errors: list[ErrorCount]

    @classmethod
    def from_record(cls, r: ConfigStats) -> ConfigDeliveryStats:
        return cls(
            smtp_config_id=strawberry.ID(str(r.smtp_config_id)),
            name=r.name,
            attempts=r.attempts,
            sent=r.sent,
            failed=r.failed,
            uncertain=r.uncertain,
            failovers=r.failovers,
            delivery_rate=r.delivery_rate,
            errors=error_counts(r.errors),
        )


@strawberry.type(description="Message outcomes on one UTC day.")
class DayDeliveryStats:
    day: date
    sent: int
    failed: int
    deferred: int
    uncertain: int
    failovers: int
    delivery_rate: float | None

    @classmethod
    def from_record(cls, r: DayStats) -> DayDeliveryStats:
        return cls(
            day=date.fromisoformat(r.day),
            sent=r.sent,
            failed=r.failed,
            deferred=r.deferred,
            uncertain=r.uncertain,
            failovers=r.failovers,
            delivery_rate=r.delivery_rate,
        )


@strawberry.type(
    description="Message outcomes (sent, failed, deferrals, uncertain, failovers) over a "
    "range, with per-provider and per-UTC-day breakdowns. deliveryRate = sent / (sent + "
    "failed + uncertain), null when none ended."
)
class DeliveryStats:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    sent: int
    failed: int
    deferred: int
    uncertain: int
    failovers: int
    delivery_rate: float | None
    errors_by_code: list[ErrorCount]
    per_config: list[ConfigDeliveryStats]
    per_day: list[DayDeliveryStats]

    @classmethod
    def from_record(cls, r: StatsRecord) -> DeliveryStats:
        return cls(
            from_=r.start,
            to=r.end,
            sent=r.totals.sent,
            failed=r.totals.failed,
            deferred=r.totals.deferred,
            uncertain=r.totals.uncertain,
            failovers=r.totals.failovers,
            delivery_rate=r.totals.delivery_rate,
            errors_by_code=error_counts(r.errors),
            per_config=[ConfigDeliveryStats.from_record(c) for c in r.per_config],
            per_day=[DayDeliveryStats.from_record(d) for d in r.per_day],
        )
