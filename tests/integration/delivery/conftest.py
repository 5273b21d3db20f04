"""Delivery tests: the app's settings trust the test CA and use short timeouts and leases."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Set
from typing import Any

import pytest
from starlette.applications import Starlette

from mailsage_gql.services.engine import Engine
from mailsage_gql.services.resources import Resources
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, Tenant
from tests.support.clock import ManualClock
from tests.support.smtp_sink import SmtpSink
from tests.support.waiting import eventually


@pytest.fixture
def settings(db: Settings, smtp_ca_file: str) -> Settings:
    return dataclasses.replace(
        db,
        smtp_ca_file=smtp_ca_file,
        smtp_connect_timeout=2.0,
        smtp_command_timeout=2.0,
        smtp_message_timeout=5.0,
        poll_interval=0.2,
        lease_seconds=10.0,
        circuit_cooldown=60.0,
        retry_schedule=(60.0, 300.0),
    )


@pytest.fixture
async def engine(app: Starlette, settings: Settings, clock: ManualClock) -> AsyncIterator[Engine]:
    """A sender in this process, woken by the app's enqueues (like `mailsage serve`)."""
    resources: Resources = app.state.resources
    engine = Engine(
        settings=settings, keyring=resources.keyring, wakeups=resources.wakeups, clock=clock
    )
    await engine.start()
    yield engine
    await engine.stop()


CREATE = """
mutation($input: SmtpConfigInput!) { createSmtpConfig(input: $input) { id } }
"""
SEND = """
mutation($input: SendEmailInput!) { sendEmail(input: $input) { id status } }
"""
MESSAGE = """
query($id: ID!) {
  message(id: $id) {
    id status from to subject smtpConfigId rfcMessageId nextAttemptAt
    lastError { code message }
    attempts { number smtpConfigId outcome smtpCode enhancedCode errorCode reply }
  }
}
"""


def sink_config(sink: SmtpSink, name: str, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": name,
        "host": sink.host,
        "port": sink.port,
        "useTls": sink.tls == "starttls",
        "fromEmail": "sender@example.com",
    }
    if sink.auth:
        config["username"], config["password"] = sink.auth
    config.update(extra)
    return config


async def create_config(gql: GraphQL, tenant: Tenant, config: dict[str, Any]) -> str:
    body = await gql(CREATE, {"input": config}, tenant=tenant)
    assert "errors" not in body, body
    config_id: str = body["data"]["createSmtpConfig"]["id"]
    return config_id


async def send(gql: GraphQL, tenant: Tenant, **fields: Any) -> str:
    message = {"to": ["rcpt@example.org"], "subject": "Hello", "text": "Hi there"}
    message.update(fields)
    body = await gql(SEND, {"input": message}, tenant=tenant)
    assert "errors" not in body, body
    message_id: str = body["data"]["sendEmail"]["id"]
    return message_id


#: Where the engine is done with a message (for now): the states a test then asserts on.
SETTLED = frozenset({"SENT", "FAILED", "DEFERRED", "UNCERTAIN"})


async def wait_for_status(
    gql: GraphQL, tenant: Tenant, message_id: str, statuses: Set[str], timeout: float = 10.0
) -> dict[str, Any]:
    """Poll the message until its status is one of `statuses`; fails after `timeout`."""

    async def read() -> dict[str, Any]:
        message: dict[str, Any] = (await gql(MESSAGE, {"id": message_id}, tenant=tenant))["data"][
            "message"
        ]
        return message

    return await eventually(
        read, lambda m: m["status"] in statuses, timeout=timeout, what=f"status in {statuses}"
    )


async def settled(gql: GraphQL, tenant: Tenant, message_id: str) -> dict[str, Any]:
    """The message once the engine is done with it (for now); fails after 10 s."""
    return await wait_for_status(gql, tenant, message_id, SETTLED)


Poll = Callable[..., Awaitable[dict[str, Any]]]
