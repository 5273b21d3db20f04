"""Given the request size, depth, alias and token limits, when a request exceeds one, then it is
refused with a code on both faces (413 payload_too_large for bodies, also when chunked without
Content-Length), and nothing it asked for is done."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from mailsage_gql.app import create_app
from mailsage_gql.settings import Settings
from tests.security.conftest import coded
from tests.support.api import GraphQL, LiveServer, Tenant

LIMIT = 16_384
BIG_TEXT = "x" * (LIMIT * 2)
SEND = "mutation($input: SendEmailInput!) { sendEmail(input: $input) { id } }"
MESSAGES = "{ messages { edges { cursor } } }"


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(dataclasses.replace(settings, max_request_bytes=LIMIT), own_database=False)


def graphql_body() -> bytes:
    message = {"to": ["a@example.com"], "subject": "s", "text": BIG_TEXT}
    return json.dumps({"query": SEND, "variables": {"input": message}}).encode()


def rest_body() -> bytes:
    return json.dumps({"to": ["a@example.com"], "subject": "s", "text": BIG_TEXT}).encode()


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1024):
        yield data[start : start + 1024]


FACES = {"graphql": ("/graphql", graphql_body), "rest": ("/api/v1/emails", rest_body)}


@pytest.mark.parametrize("face", FACES)
async def test_body_over_the_limit_is_413_payload_too_large(
    client: httpx.AsyncClient, tenant: Tenant, face: str
) -> None:
    path, body = FACES[face]

    response = await client.post(
        path, content=body(), headers={**tenant.headers, "content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_default_limit_refuses_a_body_one_byte_over_12_mib(
    settings: Settings, tenant: Tenant
) -> None:
    # given the app with the default request limit
    app = create_app(settings, own_database=False)
    transport = httpx.ASGITransport(app=app)

    # when a body one byte over 12 MiB arrives
    async with httpx.AsyncClient(transport=transport, base_url="http://mailsage.test") as c:
        response = await c.post(
            "/api/v1/smtp/configs",
            content=b"x" * (12 * 1024 * 1024 + 1),
            headers={**tenant.headers, "content-type": "application/json"},
        )

    # then it is refused with the code
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("face", FACES)
async def test_chunked_body_over_the_limit_without_length_is_413_over_real_http(
    live_server: LiveServer, tenant: Tenant, face: str
) -> None:
    path, body = FACES[face]

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        response = await http.post(
            path,
            content=chunks(body()),
            headers={**tenant.headers, "content-type": "application/json"},
        )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("face", FACES)
async def test_refused_body_queues_nothing(
    client: httpx.AsyncClient, gql: GraphQL, tenant: Tenant, face: str
) -> None:
    path, body = FACES[face]

    await client.post(
        path, content=body(), headers={**tenant.headers, "content-type": "application/json"}
    )

    assert (await gql(MESSAGES, tenant=tenant))["data"]["messages"]["edges"] == []


async def test_depth_hidden_in_fragments_is_refused_with_a_code(
    gql: GraphQL, tenant: Tenant
) -> None:
    fragments = "\n".join(
        f"fragment F{i} on Message {{ attempts {{ ...F{i + 1} }} }}" for i in range(12)
    )
    query = (
        "{ messages { edges { node { ...F0 } } } }\n"
        + fragments
        + "\nfragment F12 on DeliveryAttempt { number }"
    )

    body = await gql(query, tenant=tenant)

    assert body.get("data") is None
    assert {e["extensions"]["code"] for e in body["errors"]} <= {
        "graphql_validation_failed",
        "graphql_parse_failed",
    }


async def test_aliased_mutations_over_the_limit_send_nothing(gql: GraphQL, tenant: Tenant) -> None:
    await gql(
        'mutation { createSmtpConfig(input: {name: "A", host: "smtp.example.com", port: 587, '
        'fromEmail: "a@example.com"}) { id } }',
        tenant=tenant,
    )
    sends = " ".join(
        f'm{i}: sendEmail(input: {{to: ["a@example.com"], subject: "s", text: "t"}}) {{ id }}'
        for i in range(16)
    )

    body = await gql(f"mutation {{ {sends} }}", tenant=tenant)

    assert coded(body) == "graphql_validation_failed"
    assert (await gql(MESSAGES, tenant=tenant))["data"]["messages"]["edges"] == []


async def test_document_over_the_token_limit_is_refused_before_running(
    gql: GraphQL, tenant: Tenant
) -> None:
    fields = " ".join(["id"] * 2100)
    body = await gql(
        'mutation { createSmtpConfig(input: {name: "A", host: "smtp.example.com", port: 587, '
        f'fromEmail: "a@example.com"}}) {{ {fields} }} }}',
        tenant=tenant,
    )

    assert coded(body) == "graphql_parse_failed"
    assert (await gql("{ smtpConfigs { id } }", tenant=tenant))["data"]["smtpConfigs"] == []
