"""Accounts (tenants) and their API keys."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model


class Account(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class ApiKey(Model):
    """An API key; only a SHA-256 of its secret part is stored, with a short public id."""

    account_id: uuid.UUID

    id = fields.CharField(max_length=16, primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="api_keys", on_delete=fields.CASCADE
    )
    secret_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
