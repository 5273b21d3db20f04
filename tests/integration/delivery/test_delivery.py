"""Given real aiosmtpd providers, when mail is sent through the API, then it is delivered and
every attempt is recorded (SQLite and PostgreSQL)."""

from __future__ import annotations

from mailsage_gql.services.engine import Engine
from tests.integration.delivery.conftest import create_config, send, sink_config, wait_for_status
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory


async def test_message_sent_over_starttls_with_auth_arrives_with_its_headers(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    sink = await smtp_sink(tls="starttls", auth=("mailer", "s3cret-pw"), require_auth=True)
    config_id = await create_config(gql, tenant, sink_config(sink, "Primary"))

    message_id = await send(gql, tenant, subject="Quarterly report", to=["ann@example.org"])

    message = await wait_for_status(gql, tenant, message_id, {"SENT", "FAILED", "DEFERRED"})
    assert message["status"] == "SENT", message
    (received,) = await sink.wait_for_messages(1)
    assert received.subject == "Quarterly report"
    assert received.from_ == "sender@example.com"
    assert received.to == "ann@example.org"
    assert received.rcpt_tos == ("ann@example.org",)
    assert received.message_id == message["rfcMessageId"]
    assert message["smtpConfigId"] == config_id
    (attempt,) = message["attempts"]
    assert (attempt["outcome"], attempt["smtpCode"], attempt["smtpConfigId"]) == (
        "sent",
        250,
        config_id,
    )
