"""Given account A with a config, a sent message and a webhook, when account B calls every
query, mutation, subscription and REST route with A's ids, then B gets null or not_found, sees
nothing of A, and A's data is unchanged. The matrix is checked against the schema and the
routes, so a new field or route without a row here fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from mailsage_gql.graphql.schema import build_schema
from mailsage_gql.settings import Settings
from tests.security.conftest import Victim, coded, victim_state
from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.ws import graphql_ws

MESSAGE_FIELDS = "id status from to subject smtpConfigId attempts { smtpConfigId reply }"
CONFIG_FIELDS = "id name host username fromEmail isDefault sentToday hasPassword"
WEBHOOK_FIELDS = "id url events enabled"
CONFIG_INPUT = {"name": "Victim Provider", "host": "smtp.example.com", "port": 587}


@dataclass(frozen=True)
class Call:
    """One GraphQL root field called by B: the document, its variables from A's ids, and
    what B must get (`null`, `not_found`, or `own` for a call that only touches B's data)."""

    document: str
    variables: Callable[[Victim], dict[str, Any]]
    expect: str


def stats_range() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(days=2)).isoformat(),
        "to": (now + timedelta(days=2)).isoformat(),
    }


def no_args(_: Victim) -> dict[str, Any]:
    return {}


QUERIES: dict[str, Call] = {
    "smtpConfigs": Call(f"{{ smtpConfigs {{ {CONFIG_FIELDS} }} }}", no_args, "own"),
    "smtpConfig": Call(
        f"query($id: ID!) {{ smtpConfig(id: $id) {{ {CONFIG_FIELDS} }} }}",
        lambda v: {"id": v.config_id},
        "null",
    ),
    "message": Call(
        f"query($id: ID!) {{ message(id: $id) {{ {MESSAGE_FIELDS} }} }}",
        lambda v: {"id": v.message_id},
        "null",
    ),
    "messageEvents": Call(
        "query($id: ID!) { messageEvents(messageId: $id) { id type messageId detail } }",
        lambda v: {"id": v.message_id},
        "not_found",
    ),
    "deliveryStats": Call(
        """query($id: ID!, $from: DateTime!, $to: DateTime!) {
          deliveryStats(from: $from, to: $to,
                        smtpConfigId: $id) {
            sent failed deferred uncertain failovers deliveryRate errorsByCode { code count }
            perConfig { smtpConfigId name attempts sent } perDay { day sent }
          }
        }""",
        lambda v: {"id": v.config_id, **stats_range()},
        "own",
    ),
    "webhooks": Call(f"{{ webhooks {{ {WEBHOOK_FIELDS} }} }}", no_args, "own"),
    "webhookDeliveries": Call(
        "query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { node { id status } } } }",
        lambda v: {"id": v.webhook_id},
        "not_found",
    ),
    "messages": Call(
        f"{{ messages {{ edges {{ cursor node {{ {MESSAGE_FIELDS} }} }} }} }}", no_args, "own"
    ),
}

MUTATIONS: dict[str, Call] = {
    "createSmtpConfig": Call(
        "mutation($input: SmtpConfigInput!) { createSmtpConfig(input: $input) { id isDefault } }",
        lambda v: {
            "input": {**CONFIG_INPUT, "fromEmail": "b@example.com", "isDefault": True},
        },
        "own",
    ),
    "updateSmtpConfig": Call(
        'mutation($id: ID!) { updateSmtpConfig(id: $id, input: {name: "Hijacked", '
        'password: "hijacked-password", isDefault: true}) { id } }',
        lambda v: {"id": v.config_id},
        "not_found",
    ),
    "deleteSmtpConfig": Call(
        "mutation($id: ID!) { deleteSmtpConfig(id: $id) }",
        lambda v: {"id": v.config_id},
        "not_found",
    ),
    "setDefaultSmtpConfig": Call(
        "mutation($id: ID!) { setDefaultSmtpConfig(id: $id) { id } }",
        lambda v: {"id": v.config_id},
        "not_found",
    ),
    "testSmtpConfig": Call(
        'mutation($id: ID!) { testSmtpConfig(id: $id, recipient: "b@example.com") { ok } }',
        lambda v: {"id": v.config_id},
        "not_found",
    ),
    "verifySmtpConfig": Call(
        "mutation($input: SmtpConfigInput!) { verifySmtpConfig(input: $input) { ok } }",
        lambda v: {"input": {**CONFIG_INPUT, "fromEmail": "b@example.com"}},
        "own",
    ),
    "createWebhook": Call(
        'mutation { createWebhook(url: "https://hooks.example.com/b", events: [SENT]) '
        "{ webhook { id url } } }",
        no_args,
        "own",
    ),
    "updateWebhook": Call(
        'mutation($id: ID!) { updateWebhook(id: $id, url: "https://evil.example.com/", '
        "enabled: false, events: [FAILED]) { id } }",
        lambda v: {"id": v.webhook_id},
        "not_found",
    ),
    "deleteWebhook": Call(
        "mutation($id: ID!) { deleteWebhook(id: $id) }",
        lambda v: {"id": v.webhook_id},
        "not_found",
    ),
    "rotateWebhookSecret": Call(
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        lambda v: {"id": v.webhook_id},
        "not_found",
    ),
    "sendEmail": Call(
        "mutation($input: SendEmailInput!) { sendEmail(input: $input) { id } }",
        lambda v: {
            "input": {
                "to": ["b@example.com"],
                "subject": "s",
                "text": "t",
                "smtpConfigId": v.config_id,
            }
        },
        "not_found",
    ),
    "sendBatch": Call(
        "mutation($m: [SendEmailInput!]!) { sendBatch(messages: $m) "
        "{ queued failed items { message { id } error { code } } } }",
        lambda v: {
            "m": [
                {"to": ["b@example.com"], "subject": "s", "text": "t", "smtpConfigId": v.config_id}
            ]
        },
        "batch_not_found",
    ),
}

EVENTS = """
subscription($messageId: ID, $after: ID) {
  deliveryEvents(messageId: $messageId, after: $after) { id type messageId smtpConfigId detail }
}
"""
SUBSCRIPTIONS = {"deliveryEvents"}


@dataclass(frozen=True)
class RestCall:
    """One REST route called by B with A's ids: body, and the status and code B must get."""

    path: Callable[[Victim], str]
    body: Callable[[Victim], Any]
    status: int
    code: str | None


CONFIGS = "/api/v1/smtp/configs"
REST: dict[tuple[str, str], RestCall] = {
    ("GET", CONFIGS): RestCall(lambda v: CONFIGS, lambda v: None, 200, None),
    ("POST", CONFIGS): RestCall(
        lambda v: CONFIGS,
        lambda v: {
            "name": "Victim Provider",
            "host": "smtp.example.com",
            "port": 587,
            "from_email": "b@example.com",
            "is_default": True,
        },
        201,
        None,
    ),
    ("GET", CONFIGS + "/{config_id}"): RestCall(
        lambda v: f"{CONFIGS}/{v.config_id}", lambda v: None, 404, "not_found"
    ),
    ("PATCH", CONFIGS + "/{config_id}"): RestCall(
        lambda v: f"{CONFIGS}/{v.config_id}",
        lambda v: {"name": "Hijacked", "password": "hijacked-password"},
        404,
        "not_found",
    ),
    ("DELETE", CONFIGS + "/{config_id}"): RestCall(
        lambda v: f"{CONFIGS}/{v.config_id}", lambda v: None, 404, "not_found"
    ),
    ("POST", CONFIGS + "/{config_id}/default"): RestCall(
        lambda v: f"{CONFIGS}/{v.config_id}/default", lambda v: None, 404, "not_found"
    ),
    ("POST", CONFIGS + "/{config_id}/test"): RestCall(
        lambda v: f"{CONFIGS}/{v.config_id}/test",
        lambda v: {"recipient": "b@example.com"},
        404,
        "not_found",
    ),
    ("POST", "/api/v1/emails"): RestCall(
        lambda v: "/api/v1/emails",
        lambda v: {
            "to": ["b@example.com"],
            "subject": "s",
            "text": "t",
            "smtp_config_id": v.config_id,
        },
        404,
        "not_found",
    ),
    ("POST", "/api/v1/emails/batch"): RestCall(
        lambda v: "/api/v1/emails/batch",
        lambda v: {
            "messages": [
                {
                    "to": ["b@example.com"],
                    "subject": "s",
                    "text": "t",
                    "smtp_config_id": v.config_id,
                }
            ]
        },
        202,
        None,
    ),
    ("GET", "/api/v1/emails/{message_id}"): RestCall(
        lambda v: f"/api/v1/emails/{v.message_id}", lambda v: None, 404, "not_found"
    ),
}


def leaked(text: str, victim: Victim, request: object) -> list[str]:
    """A's markers (and ids B did not send itself) found in `text`."""
    sent = json.dumps(request)
    return [m for m in (*victim.markers, *victim.ids) if m in text and m not in sent]


def root_fields(settings: Settings) -> dict[str, set[str]]:
    schema = build_schema(settings)._schema
    return {
        kind: set(root.fields) if root else set()
        for kind, root in (
            ("query", schema.query_type),
            ("mutation", schema.mutation_type),
            ("subscription", schema.subscription_type),
        )
    }


def test_matrix_covers_every_query_field(settings: Settings) -> None:
    assert set(QUERIES) == root_fields(settings)["query"]


def test_matrix_covers_every_mutation_field(settings: Settings) -> None:
    assert set(MUTATIONS) == root_fields(settings)["mutation"]


def test_matrix_covers_every_subscription_field(settings: Settings) -> None:
    assert root_fields(settings)["subscription"] == SUBSCRIPTIONS


def test_matrix_covers_every_rest_route(app: Starlette) -> None:
    routes = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in route.methods or ()
        if method != "HEAD"
    }

    assert routes == set(REST)


def check_graphql(call: Call, field: str, body: dict[str, Any]) -> None:
    if call.expect == "null":
        assert body == {"data": {field: None}}
    elif call.expect == "not_found":
        assert coded(body) == "not_found"
        assert body.get("data") is None
    elif call.expect == "batch_not_found":
        result = body["data"][field]
        assert (result["queued"], result["items"][0]["error"]["code"]) == (0, "not_found")
    else:
        errors = body.get("errors") or []
        assert all(e["extensions"]["code"] != "internal_error" for e in errors), body


@pytest.mark.parametrize("field", [*QUERIES, *MUTATIONS])
async def test_account_b_calling_with_a_ids_gets_null_or_not_found_and_a_is_unchanged(
    gql: GraphQL, victim: Victim, other_tenant: Tenant, field: str
) -> None:
    call = QUERIES.get(field) or MUTATIONS[field]
    variables = call.variables(victim)
    before = await victim_state(gql, victim)

    body = await gql(call.document, variables, tenant=other_tenant)

    check_graphql(call, field, body)
    assert leaked(json.dumps(body), victim, variables) == []
    assert await victim_state(gql, victim) == before


@pytest.mark.parametrize("route", REST, ids=lambda r: f"{r[0]} {r[1]}")
async def test_account_b_on_rest_route_with_a_ids_gets_not_found_and_a_is_unchanged(
    client: httpx.AsyncClient,
    gql: GraphQL,
    victim: Victim,
    other_tenant: Tenant,
    route: tuple[str, str],
) -> None:
    call = REST[route]
    body = call.body(victim)
    before = await victim_state(gql, victim)

    response = await client.request(
        route[0], call.path(victim), json=body, headers=other_tenant.headers
    )

    assert response.status_code == call.status, response.text
    if call.code is not None:
        assert response.json()["error"]["code"] == call.code
    if route[1].endswith("/batch"):
        assert response.json()["items"][0]["error"]["code"] == "not_found"
    assert leaked(response.text, victim, [call.path(victim), body]) == []
    assert await victim_state(gql, victim) == before


async def test_subscription_to_a_message_of_a_is_refused_with_not_found(
    live_server: LiveServer, victim: Victim, other_tenant: Tenant
) -> None:
    async with graphql_ws(live_server.url, authorization=f"Bearer {other_tenant.api_key}") as ws:
        await ws.subscribe(EVENTS, {"messageId": victim.message_id})
        message = await ws.receive()

    assert message["type"] == "next", message
    assert message["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["not_found"]


async def test_subscription_of_b_replaying_from_the_start_shows_only_its_own_events(
    live_server: LiveServer, gql: GraphQL, victim: Victim, other_tenant: Tenant
) -> None:
    async with graphql_ws(live_server.url, authorization=f"Bearer {other_tenant.api_key}") as ws:
        await ws.subscribe(EVENTS, {"after": "0"})
        await gql(
            'mutation { createSmtpConfig(input: {name: "B", host: "smtp.example.com", '
            'port: 587, fromEmail: "b@example.com"}) { id } }',
            tenant=other_tenant,
        )
        sent = await gql(
            'mutation { sendEmail(input: {to: ["b@example.com"], subject: "s", text: "t"}) '
            "{ id } }",
            tenant=other_tenant,
        )
        (first,) = await ws.next_payloads(1)

    event = first["data"]["deliveryEvents"]
    assert (event["messageId"], event["type"]) == (sent["data"]["sendEmail"]["id"], "QUEUED")
    assert leaked(json.dumps(first), victim, {}) == []
