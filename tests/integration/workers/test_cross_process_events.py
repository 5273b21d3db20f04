"""Given an API process that does not send and a worker in a separate process (PostgreSQL),
when a message is delivered by the worker, then the API process's subscriber receives its
events live (LISTEN/NOTIFY as the hint, the outbox rows as the truth)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette

from mailsage_gql.app import create_app
from mailsage_gql.events.hub import EventHub
from mailsage_gql.settings import Settings
from tests.integration.delivery.conftest import create_config, send, sink_config
from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.workers import WorkerPool
from tests.support.ws import graphql_ws

EVENTS = "subscription { deliveryEvents { type messageId smtpCode } }"


@pytest.fixture
def app(settings: Settings) -> Starlette:
    """The API face only: every delivery is the worker's."""
    return create_app(settings, own_database=False, run_sender=False)


async def test_subscriber_on_the_api_process_receives_a_workers_events(
    app: Starlette,
    live_server: LiveServer,
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    workers: WorkerPool,
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    # A long poll interval: only NOTIFY can make this quick.
    await workers.start(concurrency=2, env={"poll_interval": 30})
    hub: EventHub = app.state.resources.hub
    async with graphql_ws(live_server.url, authorization=f"Bearer {tenant.api_key}") as ws:
        await ws.subscribe(EVENTS)
        async with asyncio.timeout(5):
            while hub.subscriber_count < 1:
                await asyncio.sleep(0.01)

        message_id = await send(gql, tenant)
        payloads = await ws.next_payloads(3, timeout=10)

    events = [p["data"]["deliveryEvents"] for p in payloads]
    assert [(e["type"], e["messageId"]) for e in events] == [
        ("QUEUED", message_id),
        ("SENDING", message_id),
        ("SENT", message_id),
    ]
    assert events[2]["smtpCode"] == 250
    assert len(await sink.wait_for_messages(1)) == 1
