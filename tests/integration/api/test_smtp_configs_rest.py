"""SMTP config CRUD over REST (snake_case), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import Tenant
from tests.support.configs import CONFIGS_URL, rest_create, rest_payload
from tests.support.recording import ResponseLog, guard_responses, new_password

SNAKE_CASE_FIELDS = {
    "id",
    "name",
    "host",
    "port",
    "username",
    "use_tls",
    "from_email",
    "is_default",
    "daily_limit",
    "max_per_minute",
    "sent_today",
    "remaining_today",
    "resets_at",
    "has_password",
    "priority",
    "max_connections",
    "created_at",
    "updated_at",
}


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


async def test_create_answers_201_with_snake_case_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(CONFIGS_URL, json=rest_payload(), headers=tenant.headers)

    assert response.status_code == 201
    assert set(response.json()) == SNAKE_CASE_FIELDS


async def test_create_applies_documented_defaults(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    config = await rest_create(client, tenant)

    assert {k: config[k] for k in ("use_tls", "daily_limit", "priority", "max_connections")} == {
        "use_tls": True,
        "daily_limit": 100,
        "priority": 100,
        "max_connections": 2,
    }


async def test_list_wraps_configs_in_data_ordered_by_priority_then_creation(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await rest_create(client, tenant, priority=20)
    third = await rest_create(client, tenant, priority=20)
    first = await rest_create(client, tenant, priority=10)

    response = await client.get(CONFIGS_URL, headers=tenant.headers)

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["data"]] == [first["id"], second["id"], third["id"]]


async def test_get_returns_the_config(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await rest_create(client, tenant, username="mailer")

    response = await client.get(f"{CONFIGS_URL}/{created['id']}", headers=tenant.headers)

    assert response.status_code == 200
    assert response.json() == created


async def test_patch_changes_only_the_given_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await rest_create(client, tenant, daily_limit=300)

    response = await client.patch(
        f"{CONFIGS_URL}/{created['id']}", json={"host": "mail.example.org"}, headers=tenant.headers
    )

    assert response.status_code == 200
    updated = response.json()
    assert updated["host"] == "mail.example.org"
    unchanged = {k: v for k, v in created.items() if k not in {"host", "updated_at"}}
    assert {k: updated[k] for k in unchanged} == unchanged


async def test_patch_without_password_keeps_it(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await rest_create(client, tenant, password=new_password())

    response = await client.patch(
        f"{CONFIGS_URL}/{created['id']}", json={"port": 465}, headers=tenant.headers
    )

    assert response.json()["has_password"] is True


@pytest.mark.parametrize("cleared", ["", None], ids=["empty-string", "null"])
async def test_patch_with_empty_or_null_password_clears_it(
    client: httpx.AsyncClient, tenant: Tenant, cleared: str | None
) -> None:
    created = await rest_create(client, tenant, password=new_password())

    response = await client.patch(
        f"{CONFIGS_URL}/{created['id']}", json={"password": cleared}, headers=tenant.headers
    )

    assert response.json()["has_password"] is False


async def test_delete_answers_204_then_the_config_is_gone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await rest_create(client, tenant)

    deleted = await client.delete(f"{CONFIGS_URL}/{created['id']}", headers=tenant.headers)
    fetched = await client.get(f"{CONFIGS_URL}/{created['id']}", headers=tenant.headers)

    assert deleted.status_code == 204
    assert fetched.status_code == 404
    assert fetched.json()["error"]["code"] == "not_found"


async def test_set_default_route_moves_the_default(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await rest_create(client, tenant)
    second = await rest_create(client, tenant)

    response = await client.post(f"{CONFIGS_URL}/{second['id']}/default", headers=tenant.headers)
    listed = (await client.get(CONFIGS_URL, headers=tenant.headers)).json()["data"]

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert {c["id"]: c["is_default"] for c in listed} == {first["id"]: False, second["id"]: True}


async def test_usage_fields_start_at_zero_with_the_full_limit_remaining(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    config = await rest_create(client, tenant, daily_limit=42)

    assert (config["sent_today"], config["remaining_today"]) == (0, 42)
