"""Every API call needs a valid bearer key, except GraphiQL and the health routes."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import httpx
import pytest

from mailsage_gql import database
from mailsage_gql.services import accounts
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, Tenant
from tests.support.configs import CONFIGS_URL, LIST
from tests.support.recording import ResponseLog, guard_responses

BAD_HEADERS = ["missing", "wrong-scheme", "malformed", "unknown", "wrong-secret", "revoked"]


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


async def bad_authorization(kind: str, tenant: Tenant) -> dict[str, str]:
    """Headers carrying one kind of bad credential."""
    key_id = tenant.api_key[3:15]
    match kind:
        case "missing":
            return {}
        case "wrong-scheme":
            return {"Authorization": f"Basic {tenant.api_key}"}
        case "malformed":
            return {"Authorization": "Bearer not-a-mailsage-key"}
        case "unknown":
            return {
                "Authorization": f"Bearer ms_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
            }
        case "wrong-secret":
            return {"Authorization": f"Bearer ms_{key_id}_{secrets.token_urlsafe(32)}"}
        case "revoked":
            await accounts.revoke_api_key(key_id)
            return tenant.headers
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", BAD_HEADERS)
async def test_rest_refuses_bad_credentials_with_401(
    client: httpx.AsyncClient, tenant: Tenant, kind: str
) -> None:
    headers = await bad_authorization(kind, tenant)

    response = await client.get(CONFIGS_URL, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("kind", BAD_HEADERS)
async def test_graphql_refuses_bad_credentials_with_code(
    client: httpx.AsyncClient, tenant: Tenant, kind: str
) -> None:
    headers = await bad_authorization(kind, tenant)

    response = await client.post("/graphql", json={"query": LIST}, headers=headers)

    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["unauthenticated"]


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
async def test_rest_writes_refuse_missing_credentials(
    client: httpx.AsyncClient, method: str
) -> None:
    path = (
        CONFIGS_URL if method == "POST" else f"{CONFIGS_URL}/00000000-0000-0000-0000-000000000000"
    )

    response = await client.request(method, path, json={})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_valid_key_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(CONFIGS_URL, headers=tenant.headers)

    assert response.status_code == 200


async def test_revoking_one_key_leaves_the_accounts_other_keys_working(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await accounts.create_api_key(tenant.account_id)

    await accounts.revoke_api_key(tenant.api_key[3:15])

    response = await client.get(CONFIGS_URL, headers={"Authorization": f"Bearer {second.api_key}"})
    assert response.status_code == 200


async def test_key_has_prefix_and_at_least_32_bytes_of_secret(tenant: Tenant) -> None:
    prefix, key_id, secret = tenant.api_key.split("_", 2)

    assert prefix == "ms"
    assert len(key_id) == 12
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) >= 32


async def test_database_keeps_neither_the_key_nor_its_secret(
    tenant: Tenant, settings: Settings
) -> None:
    secret = tenant.api_key.split("_", 2)[2]

    rows = await database.db_connection(settings).execute_query_dict("SELECT * FROM api_key")

    stored = [str(value) for row in rows for value in row.values()]
    assert len(rows) == 1
    assert [v for v in stored if tenant.api_key in v or secret in v] == []


async def test_each_key_is_distinct(tenant: Tenant) -> None:
    issued = [await accounts.create_api_key(tenant.account_id) for _ in range(3)]

    assert len({tenant.api_key, *(k.api_key for k in issued)}) == 4


async def test_graphql_with_valid_key_answers_data(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql(LIST, tenant=tenant)

    assert body == {"data": {"smtpConfigs": []}}
