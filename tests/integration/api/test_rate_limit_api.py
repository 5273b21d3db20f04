"""Given a small per-key rate limit, when a key exceeds it over HTTP, then REST answers 429
with Retry-After and code rate_limited, GraphQL answers the same code, and other keys are
still served."""

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
    # given a key that has used its burst of two
    statuses = [
        (await client.get("/api/v1/smtp/configs", headers=tenant.headers)).status_code
        for _ in range(2)
    ]

    # when it calls once more
    refused = await client.get("/api/v1/smtp/configs", headers=tenant.headers)

    # then it is refused with a code and told when to retry
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


async def test_graphql_beyond_the_limit_is_coded_rate_limited(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # given a key that has used its burst of two
    query = {"query": "{ smtpConfigs { id } }"}
    for _ in range(2):
        assert (
            await client.post("/graphql", json=query, headers=tenant.headers)
        ).status_code == 200

    # when it calls once more
    refused = await client.post("/graphql", json=query, headers=tenant.headers)

    # then it is refused with a code and told when to retry, in the header and the error
    assert refused.status_code == 429
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "rate_limited"
    assert error["extensions"]["retryAfter"] > 0
    assert int(refused.headers["retry-after"]) >= 1


async def test_a_limited_key_does_not_limit_another_key(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    # given a key that is refused
    for _ in range(3):
        await client.get("/api/v1/smtp/configs", headers=tenant.headers)
    refused = await client.get("/api/v1/smtp/configs", headers=tenant.headers)

    # when another account's key calls
    other = await client.get("/api/v1/smtp/configs", headers=other_tenant.headers)

    # then that key is served
    assert refused.status_code == 429
    assert other.status_code == 200
