"""SMTP provider configurations, their per-day usage and their shared health (circuit breaker)."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

from mailsage_gql.models.account import Account


class SmtpConfig(Model):
    """One provider of one account. At most one default per account: a partial unique index
    (`uniq_smtp_config_default`, created by the migrations) enforces it in the database."""

    account_id: uuid.UUID

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="smtp_configs", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    host = fields.CharField(max_length=255)
    port = fields.IntField()
    username = fields.CharField(max_length=320, null=True)
    #: `v1:<key id>:<base64>` sealed with the row id as associated data; never the clear password.
    password_sealed = fields.TextField(null=True)
    use_tls = fields.BooleanField(default=True)
    from_email = fields.CharField(max_length=320)
    is_default = fields.BooleanField(default=False)
    daily_limit = fields.IntField(default=100)
    max_per_minute = fields.IntField(null=True)
    priority = fields.IntField(default=100)
    max_connections = fields.IntField(default=2)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "smtp_config"
        unique_together = (("account", "name"),)


class SmtpUsage(Model):
    """Recipients reserved for a config on one UTC day: no reset job, a new day is a new row."""

    id = fields.BigIntField(primary_key=True)
    config: fields.ForeignKeyRelation[SmtpConfig] = fields.ForeignKeyField(
        "models.SmtpConfig", related_name="usage", on_delete=fields.CASCADE
    )
    day = fields.DateField()
    sent = fields.IntField(default=0)

    class Meta:
        table = "smtp_usage"
        unique_together = (("config", "day"),)


class ProviderHealth(Model):
    """The circuit breaker and quota state of one config, shared by every worker through the DB.

    States: closed (opened_until is null), open (now < opened_until), half-open (now >=
    opened_until: one probe may claim `probe_until`), and exhausted (a quota reply; until
    exhausted_until, the next UTC midnight).
    """

    config: fields.OneToOneRelation[SmtpConfig] = fields.OneToOneField(
        "models.SmtpConfig", related_name="health", on_delete=fields.CASCADE, primary_key=True
    )
    consecutive_failures = fields.IntField(default=0)
    opened_until = fields.DatetimeField(null=True)
    probe_until = fields.DatetimeField(null=True)
    exhausted_until = fields.DatetimeField(null=True)
    minute_start = fields.DatetimeField(null=True)
    minute_count = fields.IntField(default=0)
    last_error_code = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "provider_health"
