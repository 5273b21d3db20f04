"""Tortoise models, one module per aggregate."""

from mailsage_gql.models.account import Account, ApiKey
from mailsage_gql.models.message import DeliveryAttempt, DeliveryEvent, Message, MessageStatus
from mailsage_gql.models.smtp_config import ProviderHealth, SmtpConfig, SmtpUsage

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
]
