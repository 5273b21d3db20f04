"""The guide's "Test Configuration": a real test send, and a check of unsaved settings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailsage_gql.crypto import Keyring, UnsealError
from mailsage_gql.delivery import quotas
from mailsage_gql.delivery.clock import next_reset, utc_now
from mailsage_gql.delivery.rendering import MessageParts, new_message_id, render
from mailsage_gql.errors import SmtpAuthError, SmtpError, SmtpRateLimitError
from mailsage_gql.services import smtp_configs
from mailsage_gql.services import validation as v
from mailsage_gql.smtp import (
    OutgoingMessage,
    SmtpEndpoint,
    TransportOptions,
    send_test_message,
    verify_endpoint,
)

#: Stages at which nothing reached the provider: the test send is not counted.
_NOT_REACHED = frozenset({"connect", "tls", "auth", "mail", "rcpt"})


@dataclass(frozen=True)
class SmtpTestResult:
    ok: bool
    duration_ms: float
    smtp_response: str


async def test_config(
    account_id: uuid.UUID,
    config_id: uuid.UUID | str,
    recipient: Any,
    *,
    keyring: Keyring,
    options: TransportOptions,
) -> SmtpTestResult:
    """Stage one (connect, TLS, AUTH) then a real short message to `recipient`. It counts
    against the config's daily limit; at the limit it answers smtp_rate_limit without
    connecting.

    :raises NotFoundError: unknown or not yours. :raises ValidationError: bad recipient.
    :raises SmtpError: the stage that failed and the server's reply (never the password).
    """
    recipient = v.check_email(recipient, field="recipient")
    row = await smtp_configs.require_row(account_id, config_id)
    now = utc_now()
    if not await quotas.reserve_daily(row.id, n=1, daily_limit=row.daily_limit, now=now):
        raise SmtpRateLimitError(
            f"daily limit of {row.daily_limit} reached for {row.name!r}; it resets at "
            f"{next_reset(now).isoformat()}",
            stage="limit",
        )
    try:
        password = smtp_configs.open_password(row, keyring)
    except UnsealError:
        await quotas.release_daily(row.id, n=1, reserved_at=now)
        raise SmtpAuthError(
            "the stored SMTP password cannot be opened with the configured secret keys",
            stage="auth",
        ) from None
    endpoint = SmtpEndpoint(
        host=row.host,
        port=row.port,
        use_tls=row.use_tls,
        username=row.username,
        password=password,
    )
    data = render(
        MessageParts(
            from_email=row.from_email,
            to=[recipient],
            cc=[],
            subject=f"MailSage test of {row.name}",
            text=(
                f"This is a test message from MailSage, sent through the SMTP configuration "
                f"{row.name!r} ({row.host}:{row.port}). If you can read it, the configuration "
                "works.\n"
            ),
            html=None,
            reply_to=None,
            headers=[],
            message_id=new_message_id(row.from_email.rsplit("@", 1)[1], uuid.uuid4().hex),
            date=now,
        )
    )
    try:
        result = await send_test_message(
            endpoint,
            options,
            OutgoingMessage(sender=row.from_email, recipients=(recipient,), data=data),
        )
    except SmtpError as exc:
        if exc.stage in _NOT_REACHED:
            await quotas.release_daily(row.id, n=1, reserved_at=now)
        raise
    except Exception:
        await quotas.release_daily(row.id, n=1, reserved_at=now)
        raise
    return SmtpTestResult(ok=True, duration_ms=result.duration_ms, smtp_response=result.response)


async def verify_config(data: Mapping[str, Any], *, options: TransportOptions) -> SmtpTestResult:
    """Stage one only (connect, TLS, AUTH) on settings not saved yet.

    :raises ValidationError: a field breaks its rule. :raises SmtpError: as test_config.
    """
    values = smtp_configs.clean_input(data)
    endpoint = SmtpEndpoint(
        host=values["host"],
        port=values["port"],
        use_tls=values["use_tls"],
        username=values["username"],
        password=values["password"],
    )
    result = await verify_endpoint(endpoint, options)
    return SmtpTestResult(ok=True, duration_ms=result.duration_ms, smtp_response=result.response)
