"""Security campaign fixtures: an app without the per-key rate limit, a sender, a victim account."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from mailsage_gql.services.engine import Engine
from mailsage_gql.services.resources import Resources
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, Tenant
from tests.support.configs import error_of
from tests.support.recording import new_password
from tests.support.smtp_sink import SinkFactory
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def settings(db: Settings, smtp_ca_file: str) -> Settings:
    """The campaign sends many requests per key: the rate limit is proved on its own."""
    return dataclasses.replace(
        db,
        rate_limit_per_second=0,
        smtp_ca_file=smtp_ca_file,
        smtp_connect_timeout=2.0,
        smtp_command_timeout=2.0,
        smtp_message_timeout=5.0,
        poll_interval=0.05,
        lease_seconds=10.0,
        retry_schedule=(60.0,),
        webhook_retry_schedule=(0.2,),
    )


@pytest.fixture
async def engine(app: Starlette, settings: Settings) -> AsyncIterator[Engine]:
    """A sender in this process, woken by the app's enqueues."""
    resources: Resources = app.state.resources
    engine = Engine(settings=settings, keyring=resources.keyring, wakeups=resources.wakeups)
    await engine.start()
    yield engine
    await engine.stop()


CREATE_CONFIG = "mutation($input: SmtpConfigInput!) { createSmtpConfig(input: $input) { id } }"
SEND = "mutation($input: SendEmailInput!) { sendEmail(input: $input) { id } }"
CREATE_WEBHOOK = """
mutation($url: String!) { createWebhook(url: $url, events: [SENT]) { webhook { id } secret } }
"""
STATE = """
query($messageId: ID!, $webhookId: ID!, $from: DateTime!, $to: DateTime!) {
  smtpConfigs {
    id name host port username useTls fromEmail isDefault dailyLimit maxPerMinute sentToday
    remainingToday resetsAt hasPassword priority maxConnections createdAt updatedAt
  }
  webhooks { id url events enabled disabledReason consecutiveFailures createdAt updatedAt }
  messages {
    edges { cursor node {
      id status from to cc bcc subject rfcMessageId smtpConfigId idempotencyKey createdAt sentAt
      nextAttemptAt lastError { code message }
      attempts { number smtpConfigId outcome smtpCode enhancedCode reply errorCode }
    } }
  }
  messageEvents(messageId: $messageId) { id type messageId smtpConfigId attempt code detail at }
  webhookDeliveries(webhookId: $webhookId) {
    edges { node { id eventId status attemptCount lastStatusCode lastError createdAt
      attempts { number statusCode error responseSnippet } } }
  }
  deliveryStats(from: $from, to: $to) {
    sent failed deferred uncertain failovers deliveryRate
    errorsByCode { code count }
    perConfig { smtpConfigId name attempts sent failed }
    perDay { day sent failed }
  }
}
"""


@dataclasses.dataclass(frozen=True)
class Victim:
    """Account A with a delivering config (password sealed), a SENT message and a webhook
    that received its delivery; `markers` are strings only A's data contains."""

    tenant: Tenant
    config_id: str
    message_id: str
    webhook_id: str
    markers: tuple[str, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.config_id, self.message_id, self.webhook_id)


async def ok(gql: GraphQL, tenant: Tenant, document: str, variables: dict[str, Any]) -> Any:
    body = await gql(document, variables, tenant=tenant)
    assert "errors" not in body, body
    return body["data"]


async def victim_state(gql: GraphQL, victim: Victim) -> dict[str, Any]:
    """Everything account A can read about its own data."""
    now = datetime.now(UTC)
    body = await gql(
        STATE,
        {
            "messageId": victim.message_id,
            "webhookId": victim.webhook_id,
            "from": (now - timedelta(days=2)).isoformat(),
            "to": (now + timedelta(days=2)).isoformat(),
        },
        tenant=victim.tenant,
    )
    assert "errors" not in body, body
    state: dict[str, Any] = body["data"]
    return state


@pytest.fixture
async def victim(
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    engine: Engine,
    webhook_receiver: WebhookReceiver,
) -> Victim:
    sink = await smtp_sink(tls="starttls", auth=("victim-user", new_password("victim")))
    user, password = sink.auth or ("", "")
    config = {
        "name": "Victim Provider",
        "host": sink.host,
        "port": sink.port,
        "useTls": True,
        "fromEmail": "victim-sender@victim.example",
        "username": user,
        "password": password,
    }
    config_id = (await ok(gql, tenant, CREATE_CONFIG, {"input": config}))["createSmtpConfig"]["id"]
    hook = (await ok(gql, tenant, CREATE_WEBHOOK, {"url": webhook_receiver.url}))["createWebhook"]
    message = {
        "to": ["victim-rcpt@victim.example"],
        "subject": "Victim subject",
        "text": "Victim body",
        "idempotencyKey": "victim-idempotency",
    }
    message_id = (await ok(gql, tenant, SEND, {"input": message}))["sendEmail"]["id"]
    result = Victim(
        tenant=tenant,
        config_id=config_id,
        message_id=message_id,
        webhook_id=hook["webhook"]["id"],
        markers=("Victim", "victim", webhook_receiver.url),
    )

    # Settle: the message is SENT and its webhook delivery SUCCEEDED, so A's state is stable.
    def stable(state: dict[str, Any]) -> bool:
        deliveries = state["webhookDeliveries"]["edges"]
        return bool(
            state["messages"]["edges"][0]["node"]["status"] == "SENT"
            and deliveries
            and deliveries[0]["node"]["status"] == "SUCCEEDED"
        )

    await eventually(
        lambda: victim_state(gql, result), stable, timeout=15, what="A's message and webhook done"
    )
    return result


def coded(body: dict[str, Any]) -> str:
    """The code of the single error of a GraphQL response."""
    code: str = error_of(body)["extensions"]["code"]
    return code
