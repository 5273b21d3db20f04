"""Given a real uvicorn with its sender, when subscribers follow delivery over
graphql-transport-ws, then they see their own account's events live, in order, and can resume."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from mailsage_gql.events.hub import EventHub
from tests.integration.delivery.conftest import create_config, send, sink_config, wait_for_status
from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.waiting import eventually
from tests.support.ws import graphql_ws

EVENTS = """
subscription($messageId: ID, $after: ID) {
  deliveryEvents(messageId: $messageId, after: $after) {
    id type messageId smtpConfigId attempt code smtpCode detail
  }
}
"""


@pytest.fixture
def hub(app: Starlette) -> EventHub:
    return app.state.resources.hub  # type: ignore[no-any-return]


async def subscribed(hub: EventHub, count: int = 1) -> None:
    """Wait until the server has registered `count` subscribers (subscribe is asynchronous)."""

    async def read() -> int:
        return hub.subscriber_count

    await eventually(read, lambda n: n >= count, timeout=5, what=f"{count} subscribers")


def events_of(payloads: list[dict]) -> list[tuple[str, str]]:
    return [
        (p["data"]["deliveryEvents"]["type"], p["data"]["deliveryEvents"]["messageId"])
        for p in payloads
    ]


async def test_subscriber_sees_queued_sending_sent_for_a_delivered_message(
    hub: EventHub, live_server: LiveServer, gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    async with graphql_ws(live_server.url, authorization=f"Bearer {tenant.api_key}") as ws:
        await ws.subscribe(EVENTS)
        await subscribed(hub)
        message_id = await send(gql, tenant)

        payloads = await ws.next_payloads(3)

    assert events_of(payloads) == [
        ("QUEUED", message_id),
        ("SENDING", message_id),
        ("SENT", message_id),
    ]
    sent = payloads[2]["data"]["deliveryEvents"]
    assert sent["smtpCode"] == 250 and sent["attempt"] == 1
    ids = [int(p["data"]["deliveryEvents"]["id"]) for p in payloads]
    assert ids == sorted(ids)


async def test_failover_is_pushed_when_the_primary_is_down(
    live_server: LiveServer, gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    primary = await smtp_sink(fault="refuse")
    secondary = await smtp_sink()
    primary_id = await create_config(gql, tenant, sink_config(primary, "Primary", priority=1))
    backup_id = await create_config(gql, tenant, sink_config(secondary, "Backup", priority=2))
    async with graphql_ws(live_server.url, authorization=f"Bearer {tenant.api_key}") as ws:
        message_id = await send(gql, tenant)
        await ws.subscribe(EVENTS, {"messageId": message_id, "after": "0"})

        payloads = await ws.next_payloads(5)

    assert [t for t, _ in events_of(payloads)] == [
        "QUEUED",
        "SENDING",
        "FAILOVER",
        "SENDING",
        "SENT",
    ]
    failover = payloads[2]["data"]["deliveryEvents"]
    assert failover["smtpConfigId"] == primary_id  # the config left; detail names both
    assert primary_id in failover["detail"] and backup_id in failover["detail"]


async def test_another_accounts_events_never_arrive(
    hub: EventHub,
    live_server: LiveServer,
    gql: GraphQL,
    tenant: Tenant,
    other_tenant: Tenant,
    smtp_sink: SinkFactory,
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    await create_config(gql, other_tenant, sink_config(sink, "Theirs"))
    async with graphql_ws(live_server.url, authorization=f"Bearer {other_tenant.api_key}") as ws:
        await ws.subscribe(EVENTS)
        await subscribed(hub)
        mine = await send(gql, tenant)
        await wait_for_status(gql, tenant, mine, {"SENT"})
        theirs = await send(gql, other_tenant)

        payloads = await ws.next_payloads(3)

    assert {m for _, m in events_of(payloads)} == {theirs}


async def test_another_accounts_message_id_is_not_found(
    live_server: LiveServer,
    gql: GraphQL,
    tenant: Tenant,
    other_tenant: Tenant,
    smtp_sink: SinkFactory,
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    message_id = await send(gql, tenant)
    async with graphql_ws(live_server.url, authorization=f"Bearer {other_tenant.api_key}") as ws:
        await ws.subscribe(EVENTS, {"messageId": message_id, "after": "0"})
        message = await ws.receive()

    # graphql-core reports errors raised by the event source as a `next` frame with errors.
    assert message["type"] == "next", message
    assert message["payload"]["data"] is None
    assert message["payload"]["errors"][0]["extensions"]["code"] == "not_found"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ms_bad", "Bearer ms_000000000000_nope", "Basic abc"]
)
async def test_bad_key_closes_the_socket_with_4403(
    live_server: LiveServer, authorization: str | None
) -> None:
    async with graphql_ws(live_server.url, authorization=authorization, ack=False) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.receive()

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_resuming_with_after_misses_nothing(
    hub: EventHub, live_server: LiveServer, gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    async with graphql_ws(live_server.url, authorization=f"Bearer {tenant.api_key}") as ws:
        await ws.subscribe(EVENTS)
        await subscribed(hub)
        first = await send(gql, tenant)
        seen = await ws.next_payloads(1)  # QUEUED of the first; then the socket drops
    last_id = seen[0]["data"]["deliveryEvents"]["id"]
    await wait_for_status(gql, tenant, first, {"SENT"})
    second = await send(gql, tenant)  # sent while nobody listens

    async with graphql_ws(live_server.url, authorization=f"Bearer {tenant.api_key}") as ws:
        await ws.subscribe(EVENTS, {"after": last_id})
        resumed = await ws.next_payloads(5)

    assert events_of(resumed) == [
        ("SENDING", first),
        ("SENT", first),
        ("QUEUED", second),
        ("SENDING", second),
        ("SENT", second),
    ]


async def test_message_events_query_returns_the_stored_history(
    live_server: LiveServer, gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Primary"))
    message_id = await send(gql, tenant)
    await wait_for_status(gql, tenant, message_id, {"SENT"})

    body = await gql(
        "query($id: ID!) { messageEvents(messageId: $id) { type } }",
        {"id": message_id},
        tenant=tenant,
    )

    assert [e["type"] for e in body["data"]["messageEvents"]] == ["QUEUED", "SENDING", "SENT"]
    assert json.dumps(body).count("QUEUED") == 1
