"""Given the send API on both faces, when input is good, repeated or hostile, then messages are
queued durably once, and bad input gets a coded error naming its field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mailsage_gql.models import DeliveryEvent, Message
from tests.integration.delivery.conftest import create_config
from tests.support.api import GraphQL, Tenant

SEND = """
mutation($input: SendEmailInput!) {
  sendEmail(input: $input) { id status to subject idempotencyKey smtpConfigId }
}
"""
BATCH = """
mutation($messages: [SendEmailInput!]!) {
  sendBatch(messages: $messages) {
    queued failed
    items { index message { id status } error { code field } }
  }
}
"""
RELAY = {
    "name": "Relay",
    "host": "relay.example.com",
    "port": 25,
    "useTls": False,
    "fromEmail": "noreply@example.com",
}


def message(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"to": ["ann@example.org"], "subject": "Hi", "text": "Hello"}
    data.update(fields)
    return data


@pytest.fixture
async def relay_id(gql: GraphQL, tenant: Tenant) -> str:
    return await create_config(gql, tenant, RELAY)


async def test_send_email_answers_with_a_committed_queued_message(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    body = await gql(SEND, {"input": message()}, tenant=tenant)

    sent = body["data"]["sendEmail"]
    assert (sent["status"], sent["to"], sent["smtpConfigId"]) == (
        "QUEUED",
        ["ann@example.org"],
        relay_id,
    )
    stored = await Message.get(id=sent["id"])
    assert stored.status == "QUEUED"
    assert await DeliveryEvent.filter(message_id=sent["id"], type="QUEUED").count() == 1


async def test_same_idempotency_key_and_payload_returns_the_original(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    first = await gql(SEND, {"input": message(idempotencyKey="order-42")}, tenant=tenant)
    again = await gql(SEND, {"input": message(idempotencyKey="order-42")}, tenant=tenant)

    assert again["data"]["sendEmail"]["id"] == first["data"]["sendEmail"]["id"]
    assert await Message.all().count() == 1


async def test_same_idempotency_key_with_another_payload_is_a_conflict(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    await gql(SEND, {"input": message(idempotencyKey="order-42")}, tenant=tenant)
    other = await gql(
        SEND, {"input": message(idempotencyKey="order-42", subject="Other")}, tenant=tenant
    )

    assert other["errors"][0]["extensions"] == {"code": "conflict", "field": "idempotencyKey"}
    assert await Message.all().count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject": "Hi\r\nBcc: victim@example.org"}, "subject"),
        ({"to": ["ann@example.org\r\nRCPT TO:<x@example.org>"]}, "to"),
        ({"headers": [{"name": "X-Tag", "value": "a\nBcc: victim@example.org"}]}, "headers"),
        ({"headers": [{"name": "Bcc", "value": "victim@example.org"}]}, "headers"),
        ({"headers": [{"name": "X Bad", "value": "x"}]}, "headers"),
        ({"to": []}, "to"),
        ({"to": [f"u{i}@example.org" for i in range(51)]}, "to"),
        ({"to": ["not-an-address"]}, "to"),
        ({"cc": ["nope@"]}, "cc"),
        ({"replyTo": "nope"}, "replyTo"),
        ({"fromEmail": "a@b@c"}, "fromEmail"),
        ({"text": None, "html": None}, "text"),
        ({"text": "nul\x00byte"}, "text"),
    ],
)
async def test_bad_message_input_is_refused_with_its_field_and_nothing_is_queued(
    gql: GraphQL, tenant: Tenant, relay_id: str, fields: dict[str, Any], field: str
) -> None:
    body = await gql(SEND, {"input": message(**fields)}, tenant=tenant)

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "smtp_validation_failed"
    assert body["errors"][0]["extensions"]["field"] == field
    assert await Message.all().count() == 0


async def test_without_default_or_config_id_sending_is_refused(
    gql: GraphQL, tenant: Tenant
) -> None:
    body = await gql(SEND, {"input": message()}, tenant=tenant)

    assert body["errors"][0]["extensions"] == {
        "code": "smtp_validation_failed",
        "field": "smtpConfigId",
    }


async def test_another_accounts_config_id_is_not_found(
    gql: GraphQL, tenant: Tenant, other_tenant: Tenant, relay_id: str
) -> None:
    await create_config(gql, other_tenant, RELAY)
    body = await gql(SEND, {"input": message(smtpConfigId=relay_id)}, tenant=other_tenant)

    assert body["errors"][0]["extensions"]["code"] == "not_found"


async def test_batch_reports_each_item_and_queues_the_good_ones(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    items = [message(), message(to=["bad"]), message(subject="3")]
    body = await gql(BATCH, {"messages": items}, tenant=tenant)

    result = body["data"]["sendBatch"]
    assert (result["queued"], result["failed"]) == (2, 1)
    assert [i["error"] for i in result["items"]] == [
        None,
        {"code": "smtp_validation_failed", "field": "to"},
        None,
    ]
    assert await Message.all().count() == 2


async def test_batch_over_the_limit_is_refused(gql: GraphQL, tenant: Tenant, relay_id: str) -> None:
    body = await gql(BATCH, {"messages": [message()] * 1001}, tenant=tenant)

    assert body["errors"][0]["extensions"] == {
        "code": "smtp_validation_failed",
        "field": "messages",
    }
    assert await Message.all().count() == 0


async def test_rest_send_and_read_back_use_snake_case(
    client: httpx.AsyncClient, tenant: Tenant, relay_id: str
) -> None:
    created = await client.post(
        "/api/v1/emails",
        json={
            "to": ["ann@example.org"],
            "subject": "Hi",
            "text": "Hello",
            "reply_to": "b@example.org",
        },
        headers=tenant.headers,
    )
    assert created.status_code == 202, created.text
    fetched = await client.get(f"/api/v1/emails/{created.json()['id']}", headers=tenant.headers)

    assert fetched.status_code == 200
    assert fetched.json()["status"] == "QUEUED"
    assert fetched.json()["smtp_config_id"] == relay_id


async def test_rest_batch_and_header_injection(
    client: httpx.AsyncClient, tenant: Tenant, relay_id: str
) -> None:
    response = await client.post(
        "/api/v1/emails/batch",
        json={"messages": [{"to": ["a@example.org"], "subject": "x\ny", "text": "t"}]},
        headers=tenant.headers,
    )

    assert response.status_code == 202
    assert response.json()["items"][0]["error"]["code"] == "smtp_validation_failed"
    assert response.json()["items"][0]["error"]["field"] == "subject"


async def test_another_accounts_message_is_not_found_on_both_faces(
    client: httpx.AsyncClient, gql: GraphQL, tenant: Tenant, other_tenant: Tenant, relay_id: str
) -> None:
    sent = await gql(SEND, {"input": message()}, tenant=tenant)
    message_id = sent["data"]["sendEmail"]["id"]

    rest = await client.get(f"/api/v1/emails/{message_id}", headers=other_tenant.headers)
    graphql = await gql(
        "query($id: ID!) { message(id: $id) { id } }", {"id": message_id}, tenant=other_tenant
    )
    listing = await gql("{ messages { edges { node { id } } } }", tenant=other_tenant)

    assert rest.status_code == 404 and rest.json()["error"]["code"] == "not_found"
    assert graphql == {"data": {"message": None}}
    assert listing == {"data": {"messages": {"edges": []}}}


async def test_messages_paginate_newest_first(gql: GraphQL, tenant: Tenant, relay_id: str) -> None:
    ids = [
        (await gql(SEND, {"input": message(subject=str(i))}, tenant=tenant))["data"]["sendEmail"][
            "id"
        ]
        for i in range(5)
    ]
    query = (
        "query($after: String) { messages(first: 2, after: $after) "
        "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }"
    )
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(query, {"after": after}, tenant=tenant))["data"]["messages"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == list(reversed(ids))


async def test_a_key_repeated_inside_one_batch_queues_once_or_conflicts(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    same = message(idempotencyKey="k-1")
    other = message(idempotencyKey="k-1", subject="Different")
    body = await gql(BATCH, {"messages": [same, same, other]}, tenant=tenant)

    items = body["data"]["sendBatch"]["items"]
    assert items[0]["message"]["id"] == items[1]["message"]["id"]
    assert items[2]["error"] == {"code": "conflict", "field": "idempotencyKey"}
    assert await Message.all().count() == 1
