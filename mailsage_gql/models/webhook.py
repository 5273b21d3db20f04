"""Webhook endpoints of an account, their deliveries (a durable queue) and every attempt."""

from __future__ import annotations

import uuid
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from mailsage_gql.models.account import Account
from mailsage_gql.models.message import DeliveryEvent


class Webhook(Model):
    """An endpoint that receives delivery events, signed the Standard Webhooks way."""

    account_id: uuid.UUID

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="webhooks", on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=2048)
    #: Subscribed event types as ",SENT,FAILED," so SQL can match one with LIKE on any dialect.
    events = fields.CharField(max_length=200)
    #: `whsec_...` sealed with the row id as associated data.
    secret_sealed = fields.TextField()
    #: The secret before the last rotation: it still signs until previous_secret_expires_at.
    previous_secret_sealed = fields.TextField(null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.TextField(null=True)
    consecutive_failures = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook"


class WebhookDeliveryStatus(StrEnum):
    """PENDING (queued or retry scheduled) -> SUCCEEDED | FAILED (attempts exhausted or the
    webhook was disabled or deleted)."""

    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class WebhookDelivery(Model):
    """One event for one webhook; written in the transaction that stored the event."""

    webhook_id: uuid.UUID
    event_id: int

    id = fields.BigIntField(primary_key=True)
    webhook: fields.ForeignKeyRelation[Webhook] = fields.ForeignKeyField(
        "models.Webhook", related_name="deliveries", on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyRelation[DeliveryEvent] = fields.ForeignKeyField(
        "models.DeliveryEvent", related_name=False, on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(
        WebhookDeliveryStatus, max_length=16, default=WebhookDeliveryStatus.PENDING
    )
    attempt_count = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"
        indexes = (("status", "next_attempt_at"), ("webhook", "id"))


class WebhookAttempt(Model):
    delivery_id: int

    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[WebhookDelivery] = fields.ForeignKeyField(
        "models.WebhookDelivery", related_name="attempts", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    started_at = fields.DatetimeField()
    duration_ms = fields.FloatField()
    status_code = fields.IntField(null=True)
    error = fields.TextField(null=True)
    response_snippet = fields.TextField(null=True)

    class Meta:
        table = "webhook_attempt"
