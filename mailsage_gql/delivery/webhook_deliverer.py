"""Posting delivery events to webhooks: signed, host-checked, retried with backoff and jitter."""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from tortoise.transactions import in_transaction

from mailsage_gql import __version__, host_policy
from mailsage_gql.crypto import Keyring
from mailsage_gql.crypto.webhook_signature import signature_header
from mailsage_gql.database import RawSql
from mailsage_gql.delivery.clock import utc_now
from mailsage_gql.errors import MailsageError
from mailsage_gql.models import DeliveryEvent, Webhook, WebhookDelivery
from mailsage_gql.services.webhooks import secrets_in_use
from mailsage_gql.settings import Settings

log = logging.getLogger("mailsage.webhooks")

SNIPPET_BYTES = 512


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status_code: int | None
    error: str | None
    snippet: str | None
    duration_ms: float


def event_payload(event: DeliveryEvent) -> dict[str, object]:
    """The body: Standard Webhooks' {type, timestamp, data}."""
    return {
        "type": f"message.{event.type.lower()}",
        "timestamp": event.at.isoformat(),
        "data": {
            "event_id": str(event.id),
            "type": event.type,
            "message_id": str(event.message_id),
            "smtp_config_id": str(event.smtp_config_id) if event.smtp_config_id else None,
            "attempt": event.attempt,
            "code": event.code,
            "smtp_code": event.smtp_code,
            "enhanced_code": event.enhanced_code,
            "detail": event.detail,
            "at": event.at.isoformat(),
        },
    }


def jittered(seconds: float) -> timedelta:
    """Up to a fifth either way, so retries of many deliveries do not arrive together."""
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


class WebhookDeliverer:
    """Delivers leased webhook deliveries for one worker (`owner`)."""

    def __init__(self, *, settings: Settings, keyring: Keyring, owner: str) -> None:
        self.settings = settings
        self.keyring = keyring
        self.owner = owner
        self.client = httpx.AsyncClient(
            timeout=settings.webhook_timeout, follow_redirects=False, trust_env=False
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def deliver(self, delivery: WebhookDelivery) -> None:
        webhook = await Webhook.get_or_none(id=delivery.webhook_id)
        event = await DeliveryEvent.get_or_none(id=delivery.event_id)
        now = utc_now()
        if webhook is None or event is None or not webhook.enabled:
            await self._finish(delivery, webhook, None, now=now, give_up="the webhook is disabled")
            return
        result = await self.post(webhook, event, now=now)
        await self._finish(delivery, webhook, result, now=now, give_up=None)

    async def post(self, webhook: Webhook, event: DeliveryEvent, *, now: datetime) -> PostResult:
        """One signed POST to the webhook's checked address; never raises for HTTP outcomes.

        Security: the host is resolved and checked against the host policy for every post,
        and the request goes to the checked address (Host header and TLS name kept), so a
        DNS answer cannot point a webhook at an internal service. Redirects are not followed.
        """
        body = json.dumps(event_payload(event), separators=(",", ":")).encode()
        message_id = f"evt_{event.id}"
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": f"MailSage-Webhooks/{__version__}",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                secrets_in_use(webhook, self.keyring, now=now),
                message_id=message_id,
                timestamp=timestamp,
                body=body,
            ),
        }
        started = time.perf_counter()
        try:
            url, extensions = await self._pinned(webhook.url, headers)
            async with self.client.stream(
                "POST", url, content=body, headers=headers, extensions=extensions
            ) as response:
                snippet = b""
                async for chunk in response.aiter_bytes():
                    snippet += chunk
                    if len(snippet) >= SNIPPET_BYTES:
                        break
                ok = 200 <= response.status_code < 300
                return PostResult(
                    ok=ok,
                    status_code=response.status_code,
                    error=None if ok else f"HTTP {response.status_code}",
                    snippet=snippet[:SNIPPET_BYTES].decode("utf-8", "replace"),
                    duration_ms=(time.perf_counter() - started) * 1000,
                )
        except httpx.TimeoutException:
            error = f"no response within {self.settings.webhook_timeout:g}s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except MailsageError as exc:  # the host policy refused, or the name did not resolve
            error = exc.message
        return PostResult(
            ok=False,
            status_code=None,
            error=error,
            snippet=None,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def _pinned(self, url: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await host_policy.resolve(
            host,
            port,
            target=host_policy.WEBHOOK_URL,
            allow_private=self.settings.private_smtp_hosts_allowed,
        )
        headers["host"] = parts.netloc
        literal = f"[{address}]" if ":" in address else address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        return urlunsplit(parts._replace(netloc=netloc)), extensions

    async def _finish(
        self,
        delivery: WebhookDelivery,
        webhook: Webhook | None,
        result: PostResult | None,
        *,
        now: datetime,
        give_up: str | None,
    ) -> None:
        """Record the attempt and the next state, in one transaction: SUCCEEDED, PENDING with
        a jittered backoff, or FAILED after the last attempt; disable the webhook after too
        many consecutive failures."""
        schedule = self.settings.webhook_retry_schedule
        number = delivery.attempt_count + (0 if result is None else 1)
        if result is not None and result.ok:
            status, next_at = "SUCCEEDED", None
        elif give_up is not None or number > len(schedule):
            status, next_at = "FAILED", None
        else:
            status, next_at = "PENDING", now + jittered(schedule[number - 1])
        error = give_up if result is None else result.error
        async with in_transaction() as conn:
            sql = RawSql(conn)
            changed = await sql.execute(
                "UPDATE webhook_delivery SET status = ?, attempt_count = ?, "
                "next_attempt_at = COALESCE(?, next_attempt_at), last_status_code = ?, "
                "last_error = ?, completed_at = ?, lease_owner = NULL, lease_expires_at = NULL "
                "WHERE id = ? AND lease_owner = ?",
                status,
                number,
                next_at,
                result.status_code if result else None,
                error,
                None if status == "PENDING" else now,
                delivery.id,
                self.owner,
            )
            if not changed:
                return  # the lease expired and another worker took it over
            if result is None:
                return
            await sql.execute(
                "INSERT INTO webhook_attempt (delivery_id, number, started_at, duration_ms, "
                "status_code, error, response_snippet) VALUES (?, ?, ?, ?, ?, ?, ?)",
                delivery.id,
                number,
                now,
                result.duration_ms,
                result.status_code,
                result.error,
                result.snippet,
            )
            assert webhook is not None
            if result.ok:
                await sql.execute(
                    "UPDATE webhook SET consecutive_failures = 0 WHERE id = ?", webhook.id
                )
                return
            limit = self.settings.webhook_disable_after
            await sql.execute(
                "UPDATE webhook SET consecutive_failures = consecutive_failures + 1, "
                "enabled = CASE WHEN consecutive_failures + 1 >= ? THEN ? ELSE enabled END, "
                "disabled_reason = CASE WHEN consecutive_failures + 1 >= ? THEN ? "
                "ELSE disabled_reason END WHERE id = ?",
                limit,
                False,
                limit,
                f"disabled after {limit} consecutive failed deliveries; last: {error}",
                webhook.id,
            )
