"""GraphQL limits: depth, aliases, tokens, batching, introspection and websocket protocols."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from mailsage_gql.app import create_app
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.configs import LIST, error_of
from tests.support.recording import ResponseLog, guard_responses

INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


def nested_query(depth: int) -> str:
    """A query `depth` selection levels deep; past `id` the fields are made up, and the depth
    rule must refuse it whatever else is wrong with it (the schema itself is shallow)."""
    inner = "leaf"
    for level in range(depth - 3):
        inner = f"f{level} {{ {inner} }}"
    return f"{{ smtpConfigs {{ id {{ {inner} }} }} }}"


def codes(body: dict[str, object]) -> set[str]:
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    return {e["extensions"]["code"] for e in errors}


async def test_query_over_depth_limit_is_refused_with_code(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql(nested_query(12), tenant=tenant)

    assert body.get("data") is None
    assert codes(body) == {"graphql_validation_failed"}
    assert any("exceeds maximum operation depth of 10" in e["message"] for e in body["errors"])


async def test_query_at_depth_limit_is_not_refused_for_depth(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql(nested_query(10), tenant=tenant)

    assert not any("depth" in e["message"] for e in body["errors"])


async def test_depth_limit_follows_the_setting(settings: Settings, tenant: Tenant) -> None:
    async with client_for(dataclasses.replace(settings, graphql_max_depth=0)) as shallow:
        response = await shallow.post("/graphql", json={"query": LIST}, headers=tenant.headers)

    assert codes(response.json()) == {"graphql_validation_failed"}


async def test_aliases_over_limit_are_refused_with_code(gql: GraphQL, tenant: Tenant) -> None:
    query = "{ " + " ".join(f"a{i}: smtpConfigs {{ id }}" for i in range(16)) + " }"

    body = await gql(query, tenant=tenant)

    assert codes(body) == {"graphql_validation_failed"}
    assert "alias" in error_of(body)["message"].lower()


async def test_aliases_within_limit_run(gql: GraphQL, tenant: Tenant) -> None:
    query = "{ " + " ".join(f"a{i}: smtpConfigs {{ id }}" for i in range(15)) + " }"

    body = await gql(query, tenant=tenant)

    assert "errors" not in body, body


OVER_TOKEN_LIMIT = "{ smtpConfigs { " + " ".join(["id"] * 2100) + " } }"


async def test_query_over_token_limit_is_refused(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql(OVER_TOKEN_LIMIT, tenant=tenant)

    assert body.get("data") is None
    assert "more than 2000 tokens" in error_of(body)["message"]


async def test_query_over_token_limit_carries_a_code(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql(OVER_TOKEN_LIMIT, tenant=tenant)

    assert codes(body) == {"graphql_parse_failed"}


async def test_batched_json_list_is_refused_with_code(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/graphql", json=[{"query": LIST}, {"query": LIST}], headers=tenant.headers
    )

    assert response.status_code == 400
    assert codes(response.json()) == {"bad_request"}


async def test_introspection_works_in_development(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql(INTROSPECTION, tenant=tenant)

    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of an app built with `settings`, its responses guarded too."""
    log = ResponseLog()
    transport = httpx.ASGITransport(app=create_app(settings, own_database=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://mailsage.test") as c:
        log.watch(c)
        yield c
    log.assert_no_password()


@pytest.fixture
async def production_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(dataclasses.replace(settings, env="production")) as c:
        yield c


async def test_introspection_is_refused_in_production(
    production_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await production_client.post(
        "/graphql", json={"query": INTROSPECTION}, headers=tenant.headers
    )

    body = response.json()
    assert body.get("data") is None
    assert codes(body) == {"graphql_validation_failed"}


async def test_production_still_answers_ordinary_queries(
    production_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await production_client.post(
        "/graphql", json={"query": LIST}, headers=tenant.headers
    )

    assert response.json() == {"data": {"smtpConfigs": []}}


def ws_url(live_server: LiveServer) -> str:
    return live_server.url.replace("http://", "ws://") + "/graphql"


async def test_websocket_offering_only_legacy_protocol_is_not_accepted_with_it(
    live_server: LiveServer, responses: ResponseLog
) -> None:
    try:
        async with connect(ws_url(live_server), subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
            negotiated = ws.subprotocol
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            close_code = closed.value.rcvd.code if closed.value.rcvd else None
    except InvalidStatus as refused:
        negotiated, close_code = None, refused.response.status_code

    assert negotiated != "graphql-ws"
    assert close_code in {4406, 403}


async def test_websocket_with_transport_ws_and_valid_key_is_acknowledged(
    live_server: LiveServer, tenant: Tenant, responses: ResponseLog
) -> None:
    async with connect(ws_url(live_server), subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {tenant.api_key}"},
                }
            )
        )
        reply = str(await ws.recv())
        responses.record("ws connection_init", reply)

    assert ws.subprotocol == "graphql-transport-ws"
    assert json.loads(reply)["type"] == "connection_ack"
