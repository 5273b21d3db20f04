"""Another account's config id behaves exactly like a random UUID or a malformed id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import GraphQL, Tenant
from tests.support.configs import (
    CONFIGS_URL,
    DELETE,
    GET,
    SET_DEFAULT,
    UPDATE,
    gql_create,
    gql_list,
    rest_create,
)
from tests.support.recording import ResponseLog, guard_responses, new_password

ID_KINDS = ["other-account", "random-uuid", "malformed"]
MUTATIONS = {
    "update": (UPDATE, {"input": {"name": "Hijacked"}}),
    "delete": (DELETE, {}),
    "set-default": (SET_DEFAULT, {}),
}
REST_ROUTES = {
    "get": ("GET", "", None),
    "patch": ("PATCH", "", {"name": "Hijacked"}),
    "delete": ("DELETE", "", None),
    "set-default": ("POST", "/default", None),
}


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


@pytest.fixture
async def victim_config(gql: GraphQL, tenant: Tenant) -> dict[str, Any]:
    """A config of the first account, with a password."""
    return await gql_create(gql, tenant, name="Victim", password=new_password("victim"))


def id_of(kind: str, victim_config: dict[str, Any]) -> str:
    return {
        "other-account": victim_config["id"],
        "random-uuid": str(uuid.uuid4()),
        "malformed": "not-a-uuid",
    }[kind]


def without_id(error: dict[str, Any], config_id: str) -> dict[str, Any]:
    """An error with the requested id blanked out, so different ids compare equal."""
    return {**error, "message": error["message"].replace(config_id, "<id>")}


@pytest.mark.parametrize("kind", ID_KINDS)
async def test_query_smtp_config_answers_null(
    gql: GraphQL, other_tenant: Tenant, victim_config: dict[str, Any], kind: str
) -> None:
    body = await gql(GET, {"id": id_of(kind, victim_config)}, tenant=other_tenant)

    assert body == {"data": {"smtpConfig": None}}


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("kind", ID_KINDS)
async def test_mutation_answers_not_found_like_an_unknown_id(
    gql: GraphQL, other_tenant: Tenant, victim_config: dict[str, Any], mutation: str, kind: str
) -> None:
    document, extra = MUTATIONS[mutation]
    config_id = id_of(kind, victim_config)

    body = await gql(document, {"id": config_id, **extra}, tenant=other_tenant)

    assert body["data"] is None
    [error] = body["errors"]
    reference_id = str(uuid.uuid4())
    reference = await gql(document, {"id": reference_id, **extra}, tenant=other_tenant)
    assert error["extensions"] == {"code": "not_found"}
    assert without_id(error, config_id) == without_id(reference["errors"][0], reference_id)


@pytest.mark.parametrize("route", REST_ROUTES)
@pytest.mark.parametrize("kind", ID_KINDS)
async def test_rest_route_answers_404_like_an_unknown_id(
    client: httpx.AsyncClient,
    other_tenant: Tenant,
    victim_config: dict[str, Any],
    route: str,
    kind: str,
) -> None:
    method, suffix, body = REST_ROUTES[route]
    config_id = id_of(kind, victim_config)

    async def call(target: str) -> httpx.Response:
        return await client.request(
            method, f"{CONFIGS_URL}/{target}{suffix}", json=body, headers=other_tenant.headers
        )

    response = await call(config_id)
    reference_id = str(uuid.uuid4())
    reference = await call(reference_id)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert without_id(response.json()["error"], config_id) == without_id(
        reference.json()["error"], reference_id
    )


@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_foreign_mutation_leaves_the_config_unchanged(
    gql: GraphQL,
    tenant: Tenant,
    other_tenant: Tenant,
    victim_config: dict[str, Any],
    mutation: str,
) -> None:
    document, extra = MUTATIONS[mutation]

    await gql(document, {"id": victim_config["id"], **extra}, tenant=other_tenant)

    assert await gql_list(gql, tenant) == [victim_config]


async def test_graphql_list_never_shows_another_accounts_configs(
    gql: GraphQL, other_tenant: Tenant, victim_config: dict[str, Any]
) -> None:
    own = await gql_create(gql, other_tenant, name="Own")

    assert [c["id"] for c in await gql_list(gql, other_tenant)] == [own["id"]]


async def test_rest_list_never_shows_another_accounts_configs(
    client: httpx.AsyncClient, other_tenant: Tenant, victim_config: dict[str, Any]
) -> None:
    own = await rest_create(client, other_tenant, name="Own")

    response = await client.get(CONFIGS_URL, headers=other_tenant.headers)

    assert [c["id"] for c in response.json()["data"]] == [own["id"]]


async def test_same_name_is_allowed_in_another_account(
    gql: GraphQL, other_tenant: Tenant, victim_config: dict[str, Any]
) -> None:
    own = await gql_create(gql, other_tenant, name=victim_config["name"])

    assert own["name"] == victim_config["name"]
