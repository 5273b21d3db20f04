"""SMTP config CRUD over GraphQL (camelCase), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mailsage_gql.models import SmtpUsage
from tests.support.api import GraphQL, Tenant
from tests.support.configs import (
    DELETE,
    GET,
    UPDATE,
    gql_create,
    gql_list,
)
from tests.support.recording import ResponseLog, guard_responses, new_password


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


async def test_create_applies_documented_defaults(gql: GraphQL, tenant: Tenant) -> None:
    config = await gql_create(gql, tenant)

    assert {k: config[k] for k in ("useTls", "dailyLimit", "priority", "maxConnections")} == {
        "useTls": True,
        "dailyLimit": 100,
        "priority": 100,
        "maxConnections": 2,
    }


async def test_create_without_password_reports_no_password(gql: GraphQL, tenant: Tenant) -> None:
    config = await gql_create(gql, tenant)

    assert config["hasPassword"] is False


async def test_create_with_password_reports_has_password(gql: GraphQL, tenant: Tenant) -> None:
    config = await gql_create(gql, tenant, username="user", password=new_password())

    assert config["hasPassword"] is True
    assert config["username"] == "user"


async def test_created_config_is_returned_by_id(gql: GraphQL, tenant: Tenant) -> None:
    created = await gql_create(gql, tenant, name="Postmark", host="smtp.postmarkapp.com")

    body = await gql(GET, {"id": created["id"]}, tenant=tenant)

    assert body == {"data": {"smtpConfig": created}}


async def test_list_orders_by_priority_then_creation(gql: GraphQL, tenant: Tenant) -> None:
    late_low = await gql_create(gql, tenant, name="b", priority=50)
    first_high = await gql_create(gql, tenant, name="c", priority=200)
    second_low = await gql_create(gql, tenant, name="a", priority=50)

    names = [c["name"] for c in await gql_list(gql, tenant)]

    assert names == [late_low["name"], second_low["name"], first_high["name"]]


async def test_new_config_has_full_day_remaining_and_resets_at_next_utc_midnight(
    gql: GraphQL, tenant: Tenant
) -> None:
    before = datetime.now(UTC)
    config = await gql_create(gql, tenant, dailyLimit=250)
    after = datetime.now(UTC)

    resets_at = datetime.fromisoformat(config["resetsAt"])
    expected = {
        datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        for moment in (before, after)
    }
    assert (config["sentToday"], config["remainingToday"]) == (0, 250)
    assert resets_at in expected


async def test_list_and_get_count_todays_usage_only(gql: GraphQL, tenant: Tenant) -> None:
    busy = await gql_create(gql, tenant, name="busy", dailyLimit=10)
    idle = await gql_create(gql, tenant, name="idle", dailyLimit=10)
    today = datetime.now(UTC).date()
    await SmtpUsage.create(config_id=busy["id"], day=today, sent=4)
    await SmtpUsage.create(config_id=busy["id"], day=today - timedelta(days=1), sent=9)
    await SmtpUsage.create(config_id=idle["id"], day=today - timedelta(days=1), sent=7)

    listed = {c["name"]: c for c in await gql_list(gql, tenant)}
    fetched = {
        name: (await gql(GET, {"id": listed[name]["id"]}, tenant=tenant))["data"]["smtpConfig"]
        for name in listed
    }

    assert (listed["busy"]["sentToday"], listed["busy"]["remainingToday"]) == (4, 6)
    assert (listed["idle"]["sentToday"], listed["idle"]["remainingToday"]) == (0, 10)
    assert fetched == listed


async def test_repeated_lists_see_every_change_at_once(gql: GraphQL, tenant: Tenant) -> None:
    # given a config listed twice unchanged (the second read reuses the first one's records)
    created = await gql_create(gql, tenant, name="steady", dailyLimit=10)
    first = await gql_list(gql, tenant)
    assert await gql_list(gql, tenant) == first

    # when its usage grows, and then a field changes
    await SmtpUsage.create(config_id=created["id"], day=datetime.now(UTC).date(), sent=3)
    after_send = await gql_list(gql, tenant)
    await gql(UPDATE, {"id": created["id"], "input": {"port": 2526}}, tenant=tenant)
    after_update = await gql_list(gql, tenant)

    # then each read shows the row as it is now
    assert [(c["sentToday"], c["remainingToday"], c["port"]) for c in first] == [(0, 10, 587)]
    assert [(c["sentToday"], c["remainingToday"]) for c in after_send] == [(3, 7)]
    assert [(c["sentToday"], c["port"]) for c in after_update] == [(3, 2526)]
    updated_at = [datetime.fromisoformat(c[0]["updatedAt"]) for c in (first, after_update)]
    assert updated_at[1] > updated_at[0]


async def test_update_changes_only_the_given_fields(gql: GraphQL, tenant: Tenant) -> None:
    created = await gql_create(gql, tenant, port=587, dailyLimit=500)

    body = await gql(UPDATE, {"id": created["id"], "input": {"port": 2525}}, tenant=tenant)

    updated = body["data"]["updateSmtpConfig"]
    unchanged = {k: v for k, v in created.items() if k not in {"port", "updatedAt"}}
    assert updated["port"] == 2525
    assert {k: updated[k] for k in unchanged} == unchanged


async def test_update_without_password_keeps_it(gql: GraphQL, tenant: Tenant) -> None:
    created = await gql_create(gql, tenant, password=new_password())

    body = await gql(UPDATE, {"id": created["id"], "input": {"name": "Renamed"}}, tenant=tenant)

    assert body["data"]["updateSmtpConfig"]["hasPassword"] is True


@pytest.mark.parametrize("cleared", ["", None], ids=["empty-string", "null"])
async def test_update_with_empty_or_null_password_clears_it(
    gql: GraphQL, tenant: Tenant, cleared: str | None
) -> None:
    created = await gql_create(gql, tenant, password=new_password())

    body = await gql(UPDATE, {"id": created["id"], "input": {"password": cleared}}, tenant=tenant)

    assert body["data"]["updateSmtpConfig"]["hasPassword"] is False


async def test_update_with_new_password_keeps_has_password(gql: GraphQL, tenant: Tenant) -> None:
    created = await gql_create(gql, tenant)

    body = await gql(
        UPDATE, {"id": created["id"], "input": {"password": new_password()}}, tenant=tenant
    )

    assert body["data"]["updateSmtpConfig"]["hasPassword"] is True


async def test_delete_removes_the_config(gql: GraphQL, tenant: Tenant) -> None:
    created = await gql_create(gql, tenant)

    deleted = await gql(DELETE, {"id": created["id"]}, tenant=tenant)

    assert deleted == {"data": {"deleteSmtpConfig": True}}
    assert await gql(GET, {"id": created["id"]}, tenant=tenant) == {"data": {"smtpConfig": None}}
    assert await gql_list(gql, tenant) == []


async def test_password_is_not_a_queryable_field(gql: GraphQL, tenant: Tenant) -> None:
    created = await gql_create(gql, tenant, password=new_password())

    body = await gql(
        "query($id: ID!) { smtpConfig(id: $id) { password } }", {"id": created["id"]}, tenant=tenant
    )

    assert body["errors"][0]["extensions"]["code"] == "graphql_validation_failed"
