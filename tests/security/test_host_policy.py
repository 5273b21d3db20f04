"""SSRF guard over the API: private hosts only with the switch, metadata hosts never."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mailsage_gql.app import create_app
from mailsage_gql.errors import SmtpConnectionError, ValidationError
from mailsage_gql.host_policy import Resolver
from mailsage_gql.models import SmtpConfig, Webhook
from mailsage_gql.services.engine import Engine
from mailsage_gql.services.resources import Resources
from mailsage_gql.settings import Settings
from mailsage_gql.smtp import SmtpEndpoint, TransportOptions, verify_endpoint
from tests.security.conftest import coded
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.webhook_receiver import WebhookReceiver

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
WEBHOOK_WITH_ID = (
    "mutation($url: String!) { createWebhook(url: $url, events: [SENT]) { webhook { id } } }"
)
WEBHOOK_QUEUED = (
    "mutation($url: String!) { createWebhook(url: $url, events: [QUEUED]) { webhook { id } } }"
)
UPDATE_WEBHOOK = "mutation($id: ID!, $url: String!) { updateWebhook(id: $id, url: $url) { id } }"
DELIVERIES = """
query($id: ID!) {
  webhookDeliveries(webhookId: $id) { edges { node { attempts { statusCode error } } } }
}
"""
#: Cloud metadata and link-local hosts in the spellings a tenant could try: refused whatever
#: MAILSAGE_ALLOW_PRIVATE_SMTP_HOSTS says.
METADATA_HOSTS = [
    "169.254.169.254",
    "fd00:ec2::254",
    "100.100.100.200",
    "169.254.170.2",
    "192.0.0.192",
    "169.254.0.1",
    "fe80::1",
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "2852039166",  # 169.254.169.254 in decimal
    "0xa9.0xfe.0xa9.0xfe",
    "metadata.google.internal",
]
#: Stored hosts (saved before this policy, or a name whose answer changed) that the system
#: resolver turns into 169.254.169.254 at connect time, or a metadata name.
RESOLVING_TO_METADATA = ["2852039166", "0xa9fea9fe", "::ffff:169.254.169.254", "metadata.goog"]


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


# -- metadata hosts: refused whatever the switch says -------------------------------------


@dataclasses.dataclass(frozen=True)
class Policy:
    """An app with MAILSAGE_ALLOW_PRIVATE_SMTP_HOSTS set to `allow_private`."""

    allow_private: bool
    app: Starlette
    client: httpx.AsyncClient

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, tenant: Tenant
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=tenant.headers
        )
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(params=[False, True], ids=["private-off", "private-on"])
async def policy(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Policy]:
    allow_private: bool = request.param
    app = create_app(
        dataclasses.replace(settings, allow_private_smtp_hosts=allow_private), own_database=False
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mailsage.test") as c:
        yield Policy(allow_private, app, c)


@pytest.fixture
async def policy_engine(policy: Policy) -> AsyncIterator[Engine]:
    """A sender in this process with the policy app's settings, woken by its enqueues."""
    resources: Resources = policy.app.state.resources
    engine = Engine(
        settings=resources.settings, keyring=resources.keyring, wakeups=resources.wakeups
    )
    await engine.start()
    yield engine
    await engine.stop()


def refusal(body: dict[str, Any]) -> tuple[str, str, str]:
    assert "errors" in body, body
    error = body["errors"][0]
    return error["extensions"]["code"], error["extensions"].get("field"), error["message"]


async def stored_with_host(policy: Policy, tenant: Tenant, host: str, port: int = 25) -> str:
    """A config whose stored host is `host`, as a row saved before this policy would be."""
    created = await policy.gql(
        CREATE, {"input": config_input("smtp.example.com", port)}, tenant=tenant
    )
    config_id: str = created["data"]["createSmtpConfig"]["id"]
    await SmtpConfig.filter(id=config_id).update(host=host)
    return config_id


@pytest.mark.parametrize("host", METADATA_HOSTS)
async def test_creating_a_config_on_a_metadata_host_is_refused_whatever_the_switch(
    policy: Policy, tenant: Tenant, host: str
) -> None:
    body = await policy.gql(CREATE, {"input": config_input(host)}, tenant=tenant)

    code, field, message = refusal(body)
    assert (code, field) == ("smtp_validation_failed", "host")
    assert message.startswith("SMTP host ")
    assert "never allowed" in message


@pytest.mark.parametrize("host", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"])
async def test_creating_a_config_on_a_metadata_host_over_rest_is_refused_whatever_the_switch(
    policy: Policy, tenant: Tenant, host: str
) -> None:
    response = await policy.client.post(
        "/api/v1/smtp/configs",
        json={"name": "Metadata", "host": host, "port": 25, "from_email": "a@example.com"},
        headers=tenant.headers,
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("smtp_validation_failed", "host")
    assert error["message"].startswith(f"SMTP host {host} is a cloud metadata")


@pytest.mark.parametrize("host", METADATA_HOSTS)
async def test_moving_a_config_to_a_metadata_host_is_refused_whatever_the_switch(
    policy: Policy, tenant: Tenant, host: str
) -> None:
    created = await policy.gql(CREATE, {"input": config_input("smtp.example.com")}, tenant=tenant)
    config_id = created["data"]["createSmtpConfig"]["id"]

    body = await policy.gql(UPDATE, {"id": config_id, "host": host}, tenant=tenant)

    code, field, message = refusal(body)
    assert (code, field) == ("smtp_validation_failed", "host")
    assert "never allowed" in message
    assert (await SmtpConfig.get(id=config_id)).host == "smtp.example.com"


@pytest.mark.parametrize("host", ["169.254.169.254", "2852039166", "fe80::1"])
async def test_verifying_settings_on_a_metadata_host_is_refused_whatever_the_switch(
    policy: Policy, tenant: Tenant, host: str
) -> None:
    body = await policy.gql(VERIFY, {"input": config_input(host)}, tenant=tenant)

    assert refusal(body)[:2] == ("smtp_validation_failed", "host")


@pytest.mark.parametrize("host", RESOLVING_TO_METADATA)
async def test_testing_a_stored_config_resolving_to_metadata_is_refused_at_connect_time(
    policy: Policy, tenant: Tenant, host: str
) -> None:
    # given a stored config whose host the resolver turns into a metadata address
    config_id = await stored_with_host(policy, tenant, host)

    # when it is tested
    body = await policy.gql(TEST, {"id": config_id}, tenant=tenant)

    # then the connection is refused by the policy, naming the SMTP host and what it is
    code, field, message = refusal(body)
    assert (code, field) == ("smtp_validation_failed", "host")
    assert message.startswith(f"SMTP host {host} ")
    assert "a cloud metadata or link-local address, which is never allowed" in message
    if host != "metadata.goog":  # a metadata name is refused before any lookup
        assert " resolves to " in message and "169.254.169.254, " in message


@pytest.mark.parametrize("host", ["2852039166", "::ffff:169.254.169.254"])
async def test_delivery_through_a_stored_config_resolving_to_metadata_is_refused(
    policy: Policy, tenant: Tenant, policy_engine: Engine, host: str
) -> None:
    await stored_with_host(policy, tenant, host)

    message_id = (await policy.gql(SEND, tenant=tenant))["data"]["sendEmail"]["id"]

    async with asyncio.timeout(10):
        while True:
            status = await policy.gql(STATUS, {"id": message_id}, tenant=tenant)
            message = status["data"]["message"]
            if message["status"] not in {"QUEUED", "SENDING"}:
                break
            await asyncio.sleep(0.05)
    assert message["lastError"]["code"] == "smtp_validation_failed"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/?token=tok_not_for_echo",
        "https://[fd00:ec2::254]/latest/api/token",
        "http://100.100.100.200/latest/meta-data",
        "http://169.254.170.2/v2/credentials",
        "http://192.0.0.192/opc/v2/instance",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]:8080/hook",
        "http://2852039166/hook",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_creating_a_webhook_to_a_metadata_host_is_refused_whatever_the_switch(
    policy: Policy, tenant: Tenant, url: str
) -> None:
    body = await policy.gql(WEBHOOK, {"url": url}, tenant=tenant)

    code, field, message = refusal(body)
    assert (code, field) == ("smtp_validation_failed", "url")
    assert message.startswith("webhook URL host ")
    assert "never allowed" in message
    assert "tok_not_for_echo" not in message and "SMTP" not in message


async def test_moving_a_webhook_to_a_metadata_host_is_refused_whatever_the_switch(
    policy: Policy, tenant: Tenant
) -> None:
    created = await policy.gql(
        WEBHOOK_WITH_ID, {"url": "https://hooks.example.com/"}, tenant=tenant
    )
    webhook_id = created["data"]["createWebhook"]["webhook"]["id"]

    body = await policy.gql(
        UPDATE_WEBHOOK, {"id": webhook_id, "url": "http://169.254.169.254/"}, tenant=tenant
    )

    code, field, message = refusal(body)
    assert (code, field) == ("smtp_validation_failed", "url")
    assert message.startswith("webhook URL host 169.254.169.254 is a cloud metadata")


async def test_posting_to_a_stored_webhook_resolving_to_metadata_is_refused(
    policy: Policy, tenant: Tenant, policy_engine: Engine
) -> None:
    # given a webhook whose stored URL host the resolver turns into 169.254.169.254
    created = await policy.gql(WEBHOOK_QUEUED, {"url": "https://hooks.example.com/"}, tenant=tenant)
    webhook_id = created["data"]["createWebhook"]["webhook"]["id"]
    await Webhook.filter(id=webhook_id).update(url="http://2852039166/hook")
    await policy.gql(CREATE, {"input": config_input("smtp.example.com")}, tenant=tenant)

    # when an event is queued for it
    await policy.gql(SEND, tenant=tenant)

    # then its attempt is refused by the policy, naming the webhook URL host
    async with asyncio.timeout(10):
        while True:
            body = await policy.gql(DELIVERIES, {"id": webhook_id}, tenant=tenant)
            edges = body["data"]["webhookDeliveries"]["edges"]
            attempts = [a for e in edges for a in e["node"]["attempts"]]
            if attempts:
                break
            await asyncio.sleep(0.05)
    assert attempts[0]["statusCode"] is None
    assert attempts[0]["error"] == (
        "webhook URL host 2852039166 resolves to 169.254.169.254, a cloud metadata or"
        " link-local address, which is never allowed"
    )


# -- loopback and private ranges: allowed with the switch ---------------------------------


async def test_a_loopback_config_is_tested_against_a_real_server_with_the_switch_on(
    permissive: httpx.AsyncClient, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    config_id = await saved_config(permissive, tenant, "localhost", sink.port)

    response = await permissive.post(
        "/graphql", json={"query": TEST, "variables": {"id": config_id}}, headers=tenant.headers
    )

    assert response.json() == {"data": {"testSmtpConfig": {"ok": True}}}
    assert sink.connections_accepted >= 1


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.10", "fd12:3456::1", "100.64.0.1"])
async def test_private_ranges_are_accepted_with_the_switch_on(
    permissive: httpx.AsyncClient, tenant: Tenant, host: str
) -> None:
    config_id = await saved_config(permissive, tenant, host, 25)

    assert (await SmtpConfig.get(id=config_id)).host == host


@pytest.mark.parametrize("policy", [True], ids=["private-on"], indirect=True)
async def test_a_loopback_webhook_receives_posts_with_the_switch_on(
    policy: Policy, tenant: Tenant, policy_engine: Engine, webhook_receiver: WebhookReceiver
) -> None:
    created = await policy.gql(WEBHOOK_QUEUED, {"url": webhook_receiver.url}, tenant=tenant)
    assert "errors" not in created, created
    await policy.gql(CREATE, {"input": config_input("smtp.example.com")}, tenant=tenant)

    await policy.gql(SEND, tenant=tenant)

    (received,) = await webhook_receiver.wait_for(1)
    assert b"message.queued" in received.body


# -- the SMTP connection resolves through the policy -------------------------------------
# No DNS server is reachable here and /etc/hosts is not ours to edit: the transport's
# resolver (TransportOptions.resolver, the system resolver by default) answers for a name.


def resolver_answering(address: str) -> Resolver:
    async def resolve(name: str, port: int) -> Sequence[str]:
        return [address]

    return resolve


def transport(address: str) -> TransportOptions:
    return TransportOptions(
        connect_timeout=2.0,
        command_timeout=2.0,
        allow_private_hosts=True,
        resolver=resolver_answering(address),
    )


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.170.2"])
async def test_a_name_resolving_to_metadata_is_refused_at_connect_time_with_the_switch_on(
    address: str,
) -> None:
    with pytest.raises(ValidationError) as refused:
        await verify_endpoint(
            SmtpEndpoint(host="mx.example.test", port=25, use_tls=False), transport(address)
        )

    assert refused.value.field == "host"
    assert refused.value.message.startswith(f"SMTP host mx.example.test resolves to {address}, ")


async def test_a_name_resolving_to_loopback_connects_with_the_switch_on(
    smtp_sink: SinkFactory,
) -> None:
    sink = await smtp_sink()

    result = await verify_endpoint(
        SmtpEndpoint(host="mx.example.test", port=sink.port, use_tls=False),
        transport("127.0.0.1"),
    )

    assert result.smtp_code == 250
    assert sink.connections_accepted == 1


async def test_a_name_that_does_not_resolve_is_still_an_smtp_connection_error() -> None:
    async def unresolvable(name: str, port: int) -> Sequence[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(SmtpConnectionError) as failed:
        await verify_endpoint(
            SmtpEndpoint(host="nowhere.example.test", port=25, use_tls=False),
            dataclasses.replace(transport("127.0.0.1"), resolver=unresolvable),
        )

    assert failed.value.stage == "connect"
    assert "SMTP host nowhere.example.test does not resolve" in failed.value.message
