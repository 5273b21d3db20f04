"""Given the HTTP policy settings, then CORS headers appear only for configured origins, and
GraphiQL is served without a key in development and off in production unless enabled."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from mailsage_gql.app import create_app
from mailsage_gql.crypto import generate_key
from mailsage_gql.settings import Settings
from tests.support.api import Tenant

ORIGIN = "https://app.example.com"
BROWSER = {"accept": "text/html"}


@asynccontextmanager
async def client_for(settings: Settings, **changes: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(settings, **changes), own_database=False)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mailsage.test") as c:
        yield c


def production(settings: Settings) -> dict[str, object]:
    return {"env": "production", "secret_key": generate_key()}


async def test_no_cors_header_by_default(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(
        "/api/v1/smtp/configs", headers={**tenant.headers, "origin": ORIGIN}
    )

    assert "access-control-allow-origin" not in response.headers


async def test_no_cors_preflight_answer_by_default(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/graphql", headers={"origin": ORIGIN, "access-control-request-method": "POST"}
    )

    assert "access-control-allow-origin" not in response.headers


async def test_configured_origin_gets_the_cors_header(settings: Settings, tenant: Tenant) -> None:
    async with client_for(settings, cors_origins=(ORIGIN,)) as c:
        response = await c.get("/api/v1/smtp/configs", headers={**tenant.headers, "origin": ORIGIN})

    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_unconfigured_origin_gets_no_cors_header_when_others_are(
    settings: Settings, tenant: Tenant
) -> None:
    async with client_for(settings, cors_origins=(ORIGIN,)) as c:
        response = await c.get(
            "/api/v1/smtp/configs", headers={**tenant.headers, "origin": "https://evil.example"}
        )

    assert "access-control-allow-origin" not in response.headers


async def test_graphiql_is_served_in_development_without_a_key(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/graphql", headers=BROWSER)

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_is_not_served_in_production(settings: Settings) -> None:
    async with client_for(settings, **production(settings)) as c:
        response = await c.get("/graphql", headers=BROWSER)

    assert "graphiql" not in response.text.lower()
    assert response.status_code >= 400


async def test_graphiql_can_be_turned_back_on_in_production(settings: Settings) -> None:
    async with client_for(settings, graphiql=True, **production(settings)) as c:
        response = await c.get("/graphql", headers=BROWSER)

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
