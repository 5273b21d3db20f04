"""Given a small per-key rate limit, when a key exceeds it over HTTP, then REST answers 429
with Retry-After and code rate_limited, and GraphQL answers the same code."""

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


async def test_rest_beyond_the_limit_is_429_with_retry_after(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    statuses = [
        (await client.get("/api/v1/smtp/configs", headers=tenant.headers)).status_code
        for _ in range(2)
    ]
    refused = await client.get("/api/v1/smtp/configs", headers=tenant.headers)

    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


async def test_graphql_beyond_the_limit_is_coded_rate_limited(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    query = {"query": "{ smtpConfigs { id } }"}
    for _ in range(2):
        assert (
            await client.post("/graphql", json=query, headers=tenant.headers)
        ).status_code == 200
    refused = await client.post("/graphql", json=query, headers=tenant.headers)

    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
