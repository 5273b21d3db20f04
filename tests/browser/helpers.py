"""Seeding through the public API, for what a browser test needs to be there already."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SmtpSink

CREATE = "mutation($input: SmtpConfigInput!) { createSmtpConfig(input: $input) { id } }"
SEND = "mutation($input: SendEmailInput!) { sendEmail(input: $input) { id status } }"
STATUS = "query($id: ID!) { message(id: $id) { status } }"


def sink_config(sink: SmtpSink, name: str, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": name,
        "host": sink.host,
        "port": sink.port,
        "useTls": False,
        "fromEmail": "sender@example.com",
    }
    config.update(extra)
    return config


async def create_config(gql: GraphQL, tenant: Tenant, config: dict[str, Any]) -> str:
    body = await gql(CREATE, {"input": config}, tenant=tenant)
    assert "errors" not in body, body
    config_id: str = body["data"]["createSmtpConfig"]["id"]
    return config_id


async def send(gql: GraphQL, tenant: Tenant, **fields: Any) -> str:
    message: dict[str, Any] = {"to": ["rcpt@example.org"], "subject": "Hello", "text": "Hi"}
    message.update(fields)
    body = await gql(SEND, {"input": message}, tenant=tenant)
    assert "errors" not in body, body
    message_id: str = body["data"]["sendEmail"]["id"]
    return message_id


async def wait_for_status(
    gql: GraphQL, tenant: Tenant, message_id: str, status: str, timeout: float = 10.0
) -> None:
    """Poll the API until the message has `status`; fails after `timeout`."""
    async with asyncio.timeout(timeout):
        while True:
            body = await gql(STATUS, {"id": message_id}, tenant=tenant)
            if body["data"]["message"]["status"] == status:
                return
            await asyncio.sleep(0.05)
