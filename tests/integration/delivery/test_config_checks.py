"""Given saved and unsaved configs, when they are tested, then a real message is sent (or the
failing stage is reported with a code), and test sends count against the daily limit."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.delivery.conftest import create_config, sink_config
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory

TEST = """
mutation($id: ID!, $to: String!) {
  testSmtpConfig(id: $id, recipient: $to) { ok durationMs smtpResponse }
}
"""
VERIFY = """
mutation($input: SmtpConfigInput!) { verifySmtpConfig(input: $input) { ok smtpResponse } }
"""
USAGE = "query($id: ID!) { smtpConfig(id: $id) { sentToday remainingToday } }"


async def test_guide_test_route_sends_a_real_message_over_starttls(
    client: httpx.AsyncClient, gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink(tls="starttls", auth=("mailer", "pw-123456"), require_auth=True)
    config_id = await create_config(gql, tenant, sink_config(sink, "Primary"))

    # The guide's curl: POST /api/v1/smtp/configs/{config_id}/test {"recipient": ...}
    response = await client.post(
        f"/api/v1/smtp/configs/{config_id}/test",
        headers={**tenant.headers, "Content-Type": "application/json"},
        json={"recipient": "test@yourdomain.com"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["duration_ms"] > 0 and body["smtp_response"]
    (received,) = await sink.wait_for_messages(1)
    assert received.rcpt_tos == ("test@yourdomain.com",)
    assert received.from_ == "sender@example.com"
    assert "MailSage test" in (received.subject or "")


async def test_test_send_counts_and_at_the_limit_answers_rate_limit_without_connecting(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    config_id = await create_config(gql, tenant, sink_config(sink, "Tiny", dailyLimit=1))

    first = await gql(TEST, {"id": config_id, "to": "a@example.org"}, tenant=tenant)
    connections = sink.connections_accepted
    second = await gql(TEST, {"id": config_id, "to": "a@example.org"}, tenant=tenant)

    assert first["data"]["testSmtpConfig"]["ok"] is True
    assert second["errors"][0]["extensions"]["code"] == "smtp_rate_limit"
    assert sink.connections_accepted == connections
    usage = await gql(USAGE, {"id": config_id}, tenant=tenant)
    assert usage["data"]["smtpConfig"] == {"sentToday": 1, "remainingToday": 0}


async def test_wrong_password_is_an_auth_error_naming_the_stage_without_the_password(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink(tls="starttls", auth=("mailer", "right-one"), require_auth=True)
    config = sink_config(sink, "Primary", password="Wr0ng-Pa55word")
    config_id = await create_config(gql, tenant, config)

    body = await gql(TEST, {"id": config_id, "to": "a@example.org"}, tenant=tenant)

    error = body["errors"][0]
    assert error["extensions"]["code"] == "smtp_auth_error"
    assert error["extensions"]["stage"] == "auth"
    assert error["extensions"]["smtpCode"] == 535
    assert "Wr0ng-Pa55word" not in str(body)
    usage = await gql(USAGE, {"id": config_id}, tenant=tenant)
    assert usage["data"]["smtpConfig"]["sentToday"] == 0  # nothing reached the provider


async def test_refused_connection_is_a_connection_error(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink(fault="refuse")
    config_id = await create_config(gql, tenant, sink_config(sink, "Down"))

    body = await gql(TEST, {"id": config_id, "to": "a@example.org"}, tenant=tenant)

    assert body["errors"][0]["extensions"]["code"] == "smtp_connection_error"


async def test_verify_checks_unsaved_settings_and_sends_nothing(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink(tls="starttls", auth=("mailer", "pw-123456"), require_auth=True)
    good: dict[str, Any] = sink_config(sink, "Unsaved")
    bad = {**good, "password": "nope"}

    ok = await gql(VERIFY, {"input": good}, tenant=tenant)
    refused = await gql(VERIFY, {"input": bad}, tenant=tenant)

    assert ok["data"]["verifySmtpConfig"]["ok"] is True
    assert refused["errors"][0]["extensions"]["code"] == "smtp_auth_error"
    assert sink.messages == []
    assert (await gql("{ smtpConfigs { id } }", tenant=tenant))["data"]["smtpConfigs"] == []
