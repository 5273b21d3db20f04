"""Given the send API on both faces, when input is good, repeated or hostile, then messages are
queued durably once, and bad input gets a coded error naming its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mailsage_gql.models import DeliveryEvent, Message, WebhookDelivery
from tests.integration.delivery.conftest import create_config
from tests.integration.delivery.test_webhooks import create_webhook
from tests.support.api import GraphQL, Tenant
from tests.support.webhook_receiver import WebhookReceiver

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


FULL_MESSAGE = """
  id status from to cc bcc subject rfcMessageId smtpConfigId attempts { number }
  lastError { code message } idempotencyKey createdAt sentAt nextAttemptAt
"""


async def test_batch_answers_exactly_what_reading_each_message_back_gives(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    items = [
        message(),
        message(
            to=["Ann@Example.ORG", "b@example.org"],
            cc=["c@bücher.example"],
            bcc=["d@xn--bcher-kva.example"],
            fromEmail="sender@example.com",
            replyTo="r@example.org",
            headers=[{"name": "X-Tag", "value": "t ü"}],
            html="<p>Hi</p>",
            idempotencyKey="k-all",
        ),
        message(text=None, html="<b>only html</b>", subject="Ünïcode \u2603"),
    ]
    body = await gql(
        f"mutation($m: [SendEmailInput!]!) {{ sendBatch(messages: $m) "
        f"{{ queued items {{ message {{ {FULL_MESSAGE} }} }} }} }}",
        {"m": items},
        tenant=tenant,
    )
    assert "errors" not in body, body
    answered = [item["message"] for item in body["data"]["sendBatch"]["items"]]

    for sent in answered:
        read = await gql(
            f"query($id: ID!) {{ message(id: $id) {{ {FULL_MESSAGE} }} }}",
            {"id": sent["id"]},
            tenant=tenant,
        )
        assert read["data"]["message"] == sent
    assert answered[1]["to"] == ["Ann@example.org", "b@example.org"]
    assert answered[1]["cc"] == ["c@bücher.example"]
    assert answered[1]["bcc"] == ["d@bücher.example"]
    assert answered[0]["from"] == "noreply@example.com"


async def test_batch_rows_hold_what_send_email_stores(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    fields = {
        "to": ["a@example.org"],
        "cc": ["b@example.org"],
        "headers": [{"name": "X-Tag", "value": "v"}],
        "html": "<p>x</p>",
        "replyTo": "r@example.org",
        "idempotencyKey": "same-row",
    }
    single = await gql(SEND, {"input": message(**fields)}, tenant=tenant)
    batch = await gql(
        BATCH, {"messages": [message(**{**fields, "idempotencyKey": "other"})]}, tenant=tenant
    )
    one = await Message.get(id=single["data"]["sendEmail"]["id"])
    other = await Message.get(id=batch["data"]["sendBatch"]["items"][0]["message"]["id"])

    ignored = {"id", "idempotency_key", "message_id_header", "created_at", "updated_at"}
    ignored |= {"next_attempt_at", "payload_hash"}
    for name in set(Message._meta.db_fields) - ignored:
        assert getattr(other, name) == getattr(one, name), name
    assert len(other.payload_hash) == 64
    assert other.next_attempt_at == other.created_at == other.updated_at
    event = await DeliveryEvent.get(message_id=other.id)
    assert (event.type, str(event.smtp_config_id), event.at) == (
        "QUEUED",
        relay_id,
        other.created_at,
    )


async def test_batch_queues_one_event_per_message_and_fans_out_to_subscribed_webhooks(
    gql: GraphQL, tenant: Tenant, relay_id: str, webhook_receiver: WebhookReceiver
) -> None:
    subscribed = await create_webhook(gql, tenant, webhook_receiver.url, ["QUEUED"])
    await create_webhook(gql, tenant, webhook_receiver.url, ["SENT"])
    body = await gql(
        BATCH, {"messages": [message(subject=str(i)) for i in range(7)]}, tenant=tenant
    )
    ids = [i["message"]["id"] for i in body["data"]["sendBatch"]["items"]]

    events = await DeliveryEvent.filter(message_id__in=ids).order_by("id")
    assert [str(e.message_id) for e in events] == ids
    assert {e.type for e in events} == {"QUEUED"}
    deliveries = await WebhookDelivery.filter(event_id__in=[e.id for e in events])
    assert sorted(d.event_id for d in deliveries) == [e.id for e in events]
    assert {str(d.webhook_id) for d in deliveries} == {subscribed["webhook"]["id"]}


async def test_a_batch_repeating_keys_of_earlier_messages_returns_those_or_conflicts(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    first = await gql(
        BATCH,
        {"messages": [message(idempotencyKey="a"), message(idempotencyKey="b")]},
        tenant=tenant,
    )
    again = await gql(
        BATCH,
        {
            "messages": [
                message(idempotencyKey="b"),
                message(idempotencyKey="a", subject="changed"),
                message(idempotencyKey="b"),
                message(idempotencyKey="c"),
            ]
        },
        tenant=tenant,
    )

    before = [i["message"]["id"] for i in first["data"]["sendBatch"]["items"]]
    items = again["data"]["sendBatch"]["items"]
    assert items[0]["message"]["id"] == before[1]
    assert items[1] == {
        "index": 1,
        "message": None,
        "error": {"code": "conflict", "field": "idempotencyKey"},
    }
    assert items[2]["message"]["id"] == before[1]
    assert items[3]["message"]["id"] not in before
    assert (again["data"]["sendBatch"]["queued"], again["data"]["sendBatch"]["failed"]) == (3, 1)
    assert await Message.all().count() == 3


async def test_a_batch_reusing_an_expired_key_queues_a_new_message(
    gql: GraphQL, tenant: Tenant, relay_id: str
) -> None:
    first = await gql(BATCH, {"messages": [message(idempotencyKey="old")]}, tenant=tenant)
    old_id = first["data"]["sendBatch"]["items"][0]["message"]["id"]
    await Message.filter(id=old_id).update(created_at=datetime.now(UTC) - timedelta(days=2))

    again = await gql(
        BATCH, {"messages": [message(idempotencyKey="old", subject="new")]}, tenant=tenant
    )

    new_id = again["data"]["sendBatch"]["items"][0]["message"]["id"]
    assert new_id != old_id
    assert (await Message.get(id=old_id)).idempotency_key is None
    assert (await Message.get(id=new_id)).idempotency_key == "old"


async def test_rest_batch_answers_what_reading_each_message_back_gives(
    client: httpx.AsyncClient, tenant: Tenant, relay_id: str
) -> None:
    response = await client.post(
        "/api/v1/emails/batch",
        json={
            "messages": [
                {"to": ["a@example.org"], "subject": "x", "text": "t", "cc": ["c@example.org"]},
                {"to": ["bad"], "subject": "x", "text": "t"},
            ]
        },
        headers=tenant.headers,
    )

    assert response.status_code == 202
    body = response.json()
    assert (body["queued"], body["failed"]) == (1, 1)
    sent = body["items"][0]["message"]
    fetched = await client.get(f"/api/v1/emails/{sent['id']}", headers=tenant.headers)
    assert fetched.json() == sent
    assert body["items"][1]["error"]["field"] == "to"
