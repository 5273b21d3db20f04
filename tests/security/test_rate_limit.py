"""Given a per-key rate limit, when one key exceeds it, then another key of the same service is
still served (the 429 and Retry-After themselves: tests/integration/api/test_rate_limit_api.py)."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from starlette.applications import Starlette

from mailsage_gql.app import create_app
from mailsage_gql.settings import Settings
from tests.support.api import Tenant


@pytest.fixture
def app(settings: Settings) -> Starlette:
    limited = dataclasses.replace(settings, rate_limit_per_second=0.01, rate_limit_burst=2)
    return create_app(limited, own_database=False)


async def test_a_limited_key_does_not_limit_another_key(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    for _ in range(3):
        await client.get("/api/v1/smtp/configs", headers=tenant.headers)
    refused = await client.get("/api/v1/smtp/configs", headers=tenant.headers)

    other = await client.get("/api/v1/smtp/configs", headers=other_tenant.headers)

    assert refused.status_code == 429
    assert other.status_code == 200


async def test_graphql_rate_limit_error_says_when_to_retry(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    query = {"query": "{ smtpConfigs { id } }"}
    for _ in range(2):
        await client.post("/graphql", json=query, headers=tenant.headers)

    refused = await client.post("/graphql", json=query, headers=tenant.headers)

    assert refused.json()["errors"][0]["extensions"]["retryAfter"] > 0
