"""Given webhooks pointing at a real HTTP receiver, when messages are delivered, then events are
posted signed (Standard Webhooks), retried on schedule, and a failing endpoint gets disabled."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from mailsage_gql.services.engine import Engine
from mailsage_gql.settings import Settings
from tests.integration.delivery.conftest import create_config, send, sink_config
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver, verify_signature

CREATE = """
mutation($url: String!, $events: [DeliveryEventType!]!) {
  createWebhook(url: $url, events: $events) { secret webhook { id url events enabled } }
}
"""
WEBHOOKS = "{ webhooks { id enabled disabledReason consecutiveFailures } }"
DELIVERIES = """
query($id: ID!) {
  webhookDeliveries(webhookId: $id) {
    edges { node { status attemptCount attempts { number statusCode error responseSnippet } } }
  }
}
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, webhook_retry_schedule=(0.2, 0.4, 0.8), webhook_disable_after=3
    )


async def finished_delivery(gql: GraphQL, tenant: Tenant, webhook_id: str) -> dict[str, Any]:
    """The webhook's one delivery once it left PENDING: its last attempt is committed then
    (the receiver sees a request before the sender records it)."""

    async def read() -> list[dict[str, Any]]:
        body = await gql(DELIVERIES, {"id": webhook_id}, tenant=tenant)
        return [edge["node"] for edge in body["data"]["webhookDeliveries"]["edges"]]

    (delivery,) = await eventually(
        read,
        lambda nodes: len(nodes) == 1 and nodes[0]["status"] != "PENDING",
        what="the webhook delivery finished",
    )
    return delivery


async def create_webhook(
    gql: GraphQL, tenant: Tenant, url: str, events: list[str]
) -> dict[str, Any]:
    body = await gql(CREATE, {"url": url, "events": events}, tenant=tenant)
    assert "errors" not in body, body
    created: dict[str, Any] = body["data"]["createWebhook"]
    return created


async def test_sent_event_is_posted_with_a_valid_standard_webhooks_signature(
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    engine: Engine,
    webhook_receiver: WebhookReceiver,
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    created = await create_webhook(gql, tenant, webhook_receiver.url, ["SENT"])

    message_id = await send(gql, tenant)

    (received,) = await webhook_receiver.wait_for(1)
    payload = json.loads(received.body)
    assert payload["type"] == "message.sent"
    assert payload["data"]["message_id"] == message_id
    assert received.headers["webhook-id"] == f"evt_{payload['data']['event_id']}"
    assert verify_signature(created["secret"], received.headers, received.body) == [True]
    assert not verify_signature(created["secret"], received.headers, received.body + b" ")[0]
    assert created["secret"] not in str(await gql(WEBHOOKS, tenant=tenant))


async def test_failing_receiver_gets_retries_on_schedule_and_every_attempt_is_logged(
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    engine: Engine,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.statuses = [500, 503, 200]
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    created = await create_webhook(gql, tenant, webhook_receiver.url, ["SENT"])

    await send(gql, tenant)

    first, second, third = await webhook_receiver.wait_for(3)
    # Backoff 0.2 s then 0.4 s, each jittered by up to a fifth.
    assert second.at - first.at >= 0.16
    assert third.at - second.at >= 0.32
    assert len({r.headers["webhook-id"] for r in (first, second, third)}) == 1
    delivery = await finished_delivery(gql, tenant, created["webhook"]["id"])
    assert delivery["status"] == "SUCCEEDED"
    assert [(a["number"], a["statusCode"]) for a in delivery["attempts"]] == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]
    assert delivery["attempts"][0]["responseSnippet"] == "status 500"


async def test_receiver_that_keeps_failing_gets_the_webhook_disabled_with_a_reason(
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    engine: Engine,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.statuses = [500]
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    created = await create_webhook(gql, tenant, webhook_receiver.url, ["QUEUED", "SENDING", "SENT"])

    await send(gql, tenant)

    async def read() -> list[dict[str, Any]]:
        hooks: list[dict[str, Any]] = (await gql(WEBHOOKS, tenant=tenant))["data"]["webhooks"]
        return hooks

    (hook,) = await eventually(
        read, lambda hooks: not hooks[0]["enabled"], what="the webhook disabled"
    )
    assert len(webhook_receiver.received) >= 3
    assert hook["consecutiveFailures"] >= 3
    assert "disabled after 3 consecutive failed deliveries" in hook["disabledReason"]
    assert hook["id"] == created["webhook"]["id"]


async def test_redirects_are_not_followed(
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    engine: Engine,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.statuses = [302, 200]
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    created = await create_webhook(gql, tenant, webhook_receiver.url, ["SENT"])

    await send(gql, tenant)

    delivery = await finished_delivery(gql, tenant, created["webhook"]["id"])
    assert delivery["status"] == "SUCCEEDED"
    assert [(a["statusCode"], a["error"]) for a in delivery["attempts"]] == [
        (302, "HTTP 302"),
        (200, None),
    ]
    assert len(webhook_receiver.received) == 2


async def test_rotated_secret_signs_beside_the_old_one_during_the_grace_period(
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    engine: Engine,
    webhook_receiver: WebhookReceiver,
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    created = await create_webhook(gql, tenant, webhook_receiver.url, ["SENT"])
    rotated = await gql(
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        {"id": created["webhook"]["id"]},
        tenant=tenant,
    )
    new_secret = rotated["data"]["rotateWebhookSecret"]["secret"]

    await send(gql, tenant)

    (received,) = await webhook_receiver.wait_for(1)
    assert new_secret != created["secret"]
    assert verify_signature(new_secret, received.headers, received.body) == [True, False]
    assert verify_signature(created["secret"], received.headers, received.body) == [False, True]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",
        "http://0177.0.0.1/hook",
        "http://localhost/hook",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
        "not a url",
    ],
)
async def test_private_or_bad_webhook_urls_are_refused_when_private_hosts_are_off(
    gql: GraphQL, tenant: Tenant, app: Any, url: str
) -> None:
    app.state.resources.settings = dataclasses.replace(
        app.state.resources.settings, allow_private_smtp_hosts=False
    )
    body = await gql(CREATE, {"url": url, "events": ["SENT"]}, tenant=tenant)

    assert body["errors"][0]["extensions"] == {"code": "smtp_validation_failed", "field": "url"}
