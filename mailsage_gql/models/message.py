"""Messages in the durable queue, their delivery attempts and their delivery events (outbox)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from mailsage_gql.models.account import Account
from mailsage_gql.models.smtp_config import SmtpConfig


class MessageStatus(StrEnum):
    """QUEUED -> SENDING -> SENT | DEFERRED (retry scheduled) | FAILED | UNCERTAIN."""

    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    DEFERRED = "DEFERRED"
    FAILED = "FAILED"
    UNCERTAIN = "UNCERTAIN"


class Message(Model):
    account_id: uuid.UUID
    requested_config_id: uuid.UUID | None
    delivered_config_id: uuid.UUID | None
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="messages", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(MessageStatus, max_length=16, default=MessageStatus.QUEUED)
    from_email = fields.CharField(max_length=320, null=True)
    reply_to = fields.CharField(max_length=320, null=True)
    to: fields.JSONField[list[str]] = fields.JSONField()
    cc: fields.JSONField[list[str]] = fields.JSONField()
    bcc: fields.JSONField[list[str]] = fields.JSONField()
    subject = fields.TextField()
    text = fields.TextField(null=True)
    html = fields.TextField(null=True)
    headers: fields.JSONField[list[list[str]]] = fields.JSONField()
    message_id_header = fields.CharField(max_length=255)
    requested_config: fields.ForeignKeyNullableRelation[SmtpConfig] = fields.ForeignKeyField(
        "models.SmtpConfig", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    delivered_config: fields.ForeignKeyNullableRelation[SmtpConfig] = fields.ForeignKeyField(
        "models.SmtpConfig", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    idempotency_key = fields.CharField(max_length=255, null=True)
    payload_hash = fields.CharField(max_length=64)
    attempt_count = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    #: Set (committed) before an SMTP transaction starts, cleared when its outcome is recorded.
    #: A lease that expires with this set may have been delivered: UNCERTAIN, never resent.
    in_flight_since = fields.DatetimeField(null=True)
    #: Config of the transaction in flight (for releasing or keeping its quota reservation).
    in_flight_config_id = fields.UUIDField(null=True)
    recipient_count = fields.IntField()
    #: How many times delivery was put off (DEFERRED): indexes the retry schedule.
    deferrals = fields.IntField(default=0)
    last_error_code = fields.CharField(max_length=64, null=True)
    last_error_message = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "message"
        unique_together = (("account", "idempotency_key"),)
        indexes = (("status", "next_attempt_at"), ("account", "created_at"))


class DeliveryAttempt(Model):
    message_id: uuid.UUID
    config_id: uuid.UUID | None
    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="attempts", on_delete=fields.CASCADE
    )
    config: fields.ForeignKeyNullableRelation[SmtpConfig] = fields.ForeignKeyField(
        "models.SmtpConfig", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    number = fields.IntField()
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField()
    outcome = fields.CharField(max_length=16)
    smtp_code = fields.IntField(null=True)
    enhanced_code = fields.CharField(max_length=16, null=True)
    reply = fields.TextField(null=True)
    error_code = fields.CharField(max_length=64, null=True)
    duration_ms = fields.FloatField()

    class Meta:
        table = "delivery_attempt"


class DeliveryEvent(Model):
    """Outbox: written in the transaction of the state change it describes; ids order them."""

    account_id: uuid.UUID
    message_id: uuid.UUID

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name=False, on_delete=fields.CASCADE
    )
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="events", on_delete=fields.CASCADE
    )
    type = fields.CharField(max_length=16)
    smtp_config_id = fields.UUIDField(null=True)
    attempt = fields.IntField(null=True)
    code = fields.CharField(max_length=64, null=True)
    smtp_code = fields.IntField(null=True)
    enhanced_code = fields.CharField(max_length=16, null=True)
    detail = fields.TextField(null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "delivery_event"
        indexes = (("account", "id"),)
