"""One default SMTP config per account: switching, promotion and the DB index."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tortoise.exceptions import IntegrityError

from mailsage_gql import database
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, Tenant
from tests.support.configs import DELETE, SET_DEFAULT, UPDATE, gql_create, gql_list
from tests.support.recording import ResponseLog, guard_responses


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


async def defaults(gql: GraphQL, tenant: Tenant) -> list[str]:
    return [c["name"] for c in await gql_list(gql, tenant) if c["isDefault"]]


async def test_first_config_becomes_the_default(gql: GraphQL, tenant: Tenant) -> None:
    first = await gql_create(gql, tenant, isDefault=False)

    assert first["isDefault"] is True


async def test_second_config_does_not_take_the_default(gql: GraphQL, tenant: Tenant) -> None:
    first = await gql_create(gql, tenant)
    second = await gql_create(gql, tenant)

    assert second["isDefault"] is False
    assert await defaults(gql, tenant) == [first["name"]]


async def test_create_with_is_default_moves_the_default(gql: GraphQL, tenant: Tenant) -> None:
    await gql_create(gql, tenant)
    second = await gql_create(gql, tenant, isDefault=True)

    assert await defaults(gql, tenant) == [second["name"]]


async def test_update_with_is_default_moves_the_default(gql: GraphQL, tenant: Tenant) -> None:
    await gql_create(gql, tenant)
    second = await gql_create(gql, tenant)

    await gql(UPDATE, {"id": second["id"], "input": {"isDefault": True}}, tenant=tenant)

    assert await defaults(gql, tenant) == [second["name"]]


async def test_set_default_moves_the_default(gql: GraphQL, tenant: Tenant) -> None:
    await gql_create(gql, tenant)
    second = await gql_create(gql, tenant)

    body = await gql(SET_DEFAULT, {"id": second["id"]}, tenant=tenant)

    assert body["data"]["setDefaultSmtpConfig"]["isDefault"] is True
    assert await defaults(gql, tenant) == [second["name"]]


async def test_deleting_the_default_promotes_the_next_by_priority(
    gql: GraphQL, tenant: Tenant
) -> None:
    default = await gql_create(gql, tenant, priority=1)
    await gql_create(gql, tenant, priority=300)
    next_by_priority = await gql_create(gql, tenant, priority=200)

    await gql(DELETE, {"id": default["id"]}, tenant=tenant)

    assert await defaults(gql, tenant) == [next_by_priority["name"]]


async def test_deleting_the_last_config_leaves_no_default(gql: GraphQL, tenant: Tenant) -> None:
    only = await gql_create(gql, tenant)

    await gql(DELETE, {"id": only["id"]}, tenant=tenant)

    assert await gql_list(gql, tenant) == []


async def test_deleting_a_non_default_keeps_the_default(gql: GraphQL, tenant: Tenant) -> None:
    default = await gql_create(gql, tenant)
    other = await gql_create(gql, tenant)

    await gql(DELETE, {"id": other["id"]}, tenant=tenant)

    assert await defaults(gql, tenant) == [default["name"]]


async def test_database_refuses_a_second_default(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    await gql_create(gql, tenant)
    second = await gql_create(gql, tenant)

    with pytest.raises(IntegrityError):
        await database.db_connection(settings).execute_query(
            f"UPDATE smtp_config SET is_default = TRUE WHERE id = '{second['id']}'"
        )


async def test_database_allows_one_default_in_each_account(
    gql: GraphQL, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await gql_create(gql, tenant)
    theirs = await gql_create(gql, other_tenant)

    assert (mine["isDefault"], theirs["isDefault"]) == (True, True)
