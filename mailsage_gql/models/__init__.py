"""Tortoise models, one module per aggregate."""

from mailsage_gql.models.account import Account, ApiKey
from mailsage_gql.models.message import DeliveryAttempt, DeliveryEvent, Message, MessageStatus
from mailsage_gql.models.smtp_config import ProviderHealth, SmtpConfig, SmtpUsage
from mailsage_gql.models.webhook import (
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
)

__all__ = [
    "Account",
    "ApiKey",
    "DeliveryAttempt",
    "DeliveryEvent",
    "Message",
    "MessageStatus",
    "ProviderHealth",
    "SmtpConfig",
    "SmtpUsage",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
]
