"""Strawberry types and inputs; each output type is built from a service record by one function."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from mailsage_gql.services.smtp_configs import SmtpConfigRecord


@strawberry.type(description="An SMTP provider of the account. The password is write-only.")
class SmtpConfig:
    id: strawberry.ID
    name: str
    host: str
    port: int
    username: str | None
    use_tls: bool
    from_email: str
    is_default: bool
    daily_limit: int
    max_per_minute: int | None
    sent_today: int = strawberry.field(description="Recipients handed to it this UTC day.")
    remaining_today: int
    resets_at: datetime = strawberry.field(description="Next midnight UTC.")
    has_password: bool
    priority: int = strawberry.field(description="Lower is tried first in failover.")
    max_connections: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: SmtpConfigRecord) -> SmtpConfig:
        return cls(
            id=strawberry.ID(str(record.id)),
            name=record.name,
            host=record.host,
            port=record.port,
            username=record.username,
            use_tls=record.use_tls,
            from_email=record.from_email,
            is_default=record.is_default,
            daily_limit=record.daily_limit,
            max_per_minute=record.max_per_minute,
            sent_today=record.sent_today,
            remaining_today=record.remaining_today,
            resets_at=record.resets_at,
            has_password=record.has_password,
            priority=record.priority,
            max_connections=record.max_connections,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


@strawberry.input(description="A new SMTP provider configuration.")
class SmtpConfigInput:
    name: str
    host: str
    port: int
    from_email: str
    username: str | None = None
    password: str | None = strawberry.field(
        default=None, description="Write-only: sealed at rest, never returned."
    )
    use_tls: bool = True
    is_default: bool = False
    daily_limit: int = 100
    max_per_minute: int | None = None
    priority: int = 100
    max_connections: int = 2


@strawberry.input(description="Fields to change; omitted fields keep their value.")
class SmtpConfigUpdateInput:
    name: str | None = strawberry.UNSET
    host: str | None = strawberry.UNSET
    port: int | None = strawberry.UNSET
    from_email: str | None = strawberry.UNSET
    username: str | None = strawberry.UNSET
    password: str | None = strawberry.field(
        default=strawberry.UNSET,
        description='Omit to keep the stored password; "" or null clears it.',
    )
    use_tls: bool | None = strawberry.UNSET
    is_default: bool | None = strawberry.UNSET
    daily_limit: int | None = strawberry.UNSET
    max_per_minute: int | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET
    max_connections: int | None = strawberry.UNSET


def input_values(data: object) -> dict[str, Any]:
    """The fields a client actually sent, snake_case, for the service layer."""
    return {
        name: value
        for name, value in vars(data).items()
        if value is not strawberry.UNSET and not name.startswith("_")
    }
