"""Given private hosts are not allowed, when an SMTP host or a webhook URL points at a
loopback, private, link-local or metadata address in any spelling (or a name resolving to
one), then creating, testing and delivering through it are refused with smtp_validation_failed
and nothing connects."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mailsage_gql.app import create_app
from mailsage_gql.services.engine import Engine
from mailsage_gql.settings import Settings
from tests.security.conftest import coded
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory

PRIVATE_HOSTS = [
    "127.0.0.1",
    "10.0.0.1",
    "169.254.169.254",
    "::1",
    "::ffff:127.0.0.1",
    "2130706433",  # 127.0.0.1 in decimal
    "0177.0.0.1",  # 127.0.0.1 in octal
    "localhost",
]
#: The spellings that reach 127.0.0.1, where a real SMTP server listens in these tests.
LOOPBACK_HOSTS = ["127.0.0.1", "::ffff:127.0.0.1", "2130706433", "0177.0.0.1", "localhost"]
CREATE = "mutation($input: SmtpConfigInput!) { createSmtpConfig(input: $input) { id host } }"
UPDATE = (
    "mutation($id: ID!, $host: String!) { updateSmtpConfig(id: $id, input: {host: $host}) { id } }"
)
TEST = 'mutation($id: ID!) { testSmtpConfig(id: $id, recipient: "a@example.org") { ok } }'
VERIFY = "mutation($input: SmtpConfigInput!) { verifySmtpConfig(input: $input) { ok } }"
SEND = 'mutation { sendEmail(input: {to: ["a@example.org"], subject: "s", text: "t"}) { id } }'
STATUS = "query($id: ID!) { message(id: $id) { status lastError { code } attempts { errorCode } } }"
WEBHOOK = "mutation($url: String!) { createWebhook(url: $url, events: [SENT]) { secret } }"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, allow_private_smtp_hosts=False)


@pytest.fixture
async def permissive(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that still allows private hosts (configs saved before the policy)."""
    app = create_app(
        dataclasses.replace(settings, allow_private_smtp_hosts=True), own_database=False
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mailsage.test") as c:
        yield c


def config_input(host: str, port: int = 25) -> dict[str, Any]:
    return {
        "name": "Internal",
        "host": host,
        "port": port,
        "useTls": False,
        "fromEmail": "a@example.com",
    }


async def saved_config(client: httpx.AsyncClient, tenant: Tenant, host: str, port: int) -> str:
    response = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": config_input(host, port)}},
        headers=tenant.headers,
    )
    body = response.json()
    assert "errors" not in body, body
    config_id: str = body["data"]["createSmtpConfig"]["id"]
    return config_id


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_creating_a_config_with_a_private_host_is_refused(
    gql: GraphQL, tenant: Tenant, host: str
) -> None:
    body = await gql(CREATE, {"input": config_input(host)}, tenant=tenant)

    assert coded(body) == "smtp_validation_failed"
    assert body["errors"][0]["extensions"]["field"] == "host"


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_creating_a_config_with_a_private_host_over_rest_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, host: str
) -> None:
    response = await client.post(
        "/api/v1/smtp/configs",
        json={"name": "Internal", "host": host, "port": 25, "from_email": "a@example.com"},
        headers=tenant.headers,
    )

    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "smtp_validation_failed",
        "host",
    )


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_moving_a_config_to_a_private_host_is_refused(
    gql: GraphQL, tenant: Tenant, host: str
) -> None:
    created = await gql(CREATE, {"input": config_input("smtp.example.com")}, tenant=tenant)

    body = await gql(
        UPDATE, {"id": created["data"]["createSmtpConfig"]["id"], "host": host}, tenant=tenant
    )

    assert coded(body) == "smtp_validation_failed"


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_verifying_settings_with_a_private_host_is_refused(
    gql: GraphQL, tenant: Tenant, host: str
) -> None:
    body = await gql(VERIFY, {"input": config_input(host)}, tenant=tenant)

    assert coded(body) == "smtp_validation_failed"


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
async def test_testing_a_saved_config_on_a_private_host_is_refused_and_nothing_connects(
    gql: GraphQL,
    tenant: Tenant,
    permissive: httpx.AsyncClient,
    smtp_sink: SinkFactory,
    host: str,
) -> None:
    sink = await smtp_sink()
    config_id = await saved_config(permissive, tenant, host, sink.port)

    body = await gql(TEST, {"id": config_id}, tenant=tenant)

    assert coded(body) == "smtp_validation_failed"
    assert sink.connections_accepted == 0


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
async def test_delivery_through_a_saved_config_on_a_private_host_is_refused(
    gql: GraphQL,
    tenant: Tenant,
    permissive: httpx.AsyncClient,
    smtp_sink: SinkFactory,
    engine: Engine,
    host: str,
) -> None:
    sink = await smtp_sink()
    await saved_config(permissive, tenant, host, sink.port)

    message_id = (await gql(SEND, tenant=tenant))["data"]["sendEmail"]["id"]

    async with asyncio.timeout(10):
        while True:
            message = (await gql(STATUS, {"id": message_id}, tenant=tenant))["data"]["message"]
            if message["status"] not in {"QUEUED", "SENDING"}:
                break
            await asyncio.sleep(0.05)
    assert message["lastError"]["code"] == "smtp_validation_failed"
    assert sink.connections_accepted == 0


def url_of(host: str) -> str:
    return f"http://[{host}]/hook" if ":" in host else f"http://{host}/hook"


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_creating_a_webhook_to_a_private_host_is_refused(
    gql: GraphQL, tenant: Tenant, host: str
) -> None:
    body = await gql(WEBHOOK, {"url": url_of(host)}, tenant=tenant)

    assert coded(body) == "smtp_validation_failed"
    assert body["errors"][0]["extensions"]["field"] == "url"


async def test_a_public_host_is_still_accepted(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql(CREATE, {"input": config_input("smtp.example.com")}, tenant=tenant)

    assert body["data"]["createSmtpConfig"]["host"] == "smtp.example.com"


def test_app_fixture_refuses_private_hosts(app: Starlette) -> None:
    assert app.state.resources.settings.private_smtp_hosts_allowed is False
