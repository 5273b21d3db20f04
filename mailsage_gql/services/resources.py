"""The process-wide resources the faces hand to services; built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailsage_gql.crypto import Keyring
from mailsage_gql.events.hub import EventHub
from mailsage_gql.services.accounts import AuthCache
from mailsage_gql.services.engine import Wakeups
from mailsage_gql.services.rate_limit import RateLimiter
from mailsage_gql.services.smtp_configs import RecordCache, record_cache
from mailsage_gql.settings import Settings
from mailsage_gql.smtp import TransportOptions


@dataclass
class Resources:
    settings: Settings
    keyring: Keyring
    #: What wakes what, in this process and across processes (the one LISTEN connection).
    wakeups: Wakeups
    transport: TransportOptions
    #: Fans delivery events out to this process's subscribers.
    hub: EventHub
    limiter: RateLimiter
    auth_cache: AuthCache
    #: SMTP config records by the exact row they were made from (see smtp_configs).
    config_records: RecordCache = field(default_factory=record_cache)
