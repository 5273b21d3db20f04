"""Bad config input is refused with `smtp_validation_failed` naming the field, on both faces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mailsage_gql.graphql.errors import camel_case
from tests.support.api import GraphQL, Tenant
from tests.support.configs import (
    CONFIGS_URL,
    CREATE,
    UPDATE,
    error_of,
    gql_create,
    gql_input,
    rest_create,
    rest_payload,
)
from tests.support.recording import ResponseLog, guard_responses, new_password

#: (snake_case field, bad value)
INVALID = [
    ("host", "smtp://smtp.example.com"),
    ("host", "smtp example.com"),
    ("host", "smtp.example.com/path"),
    ("host", "smtp.example.com:587"),
    ("host", " smtp.example.com"),
    ("host", ""),
    ("port", 0),
    ("port", 65536),
    ("from_email", "not-an-email"),
    ("from_email", "two@@example.com"),
    ("name", ""),
    ("name", "   "),
    ("name", "x" * 101),
    ("daily_limit", 0),
    ("daily_limit", 10_000_001),
]
VALID_HOSTS = ["smtp.example.com", "localhost", "192.0.2.25", "2001:db8::25", "[2001:db8::25]"]
CONTROL_CHARACTERS = {"CR": "\r", "LF": "\n", "NUL": "\x00", "TAB": "\t", "U+2028": "\u2028"}
STRING_FIELDS = ["name", "host", "username", "password", "from_email"]


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


def with_control(field: str, char: str) -> str:
    base = {"from_email": "no{}reply@example.com", "host": "smtp{}.example.com"}.get(field, "a{}b")
    return base.format(char)


def case_id(case: tuple[str, Any]) -> str:
    return f"{case[0]}={case[1]!r}"[:40]


async def gql_refusal(gql: GraphQL, tenant: Tenant, field: str, value: Any) -> dict[str, Any]:
    body = await gql(CREATE, {"input": gql_input(**{camel_case(field): value})}, tenant=tenant)
    assert body["data"] is None
    return error_of(body)["extensions"]


async def rest_refusal(
    client: httpx.AsyncClient, tenant: Tenant, field: str, value: Any
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        CONFIGS_URL, json=rest_payload(**{field: value}), headers=tenant.headers
    )
    return response.status_code, response.json()["error"]


@pytest.mark.parametrize("case", INVALID, ids=case_id)
async def test_graphql_refuses_invalid_value_naming_camel_case_field(
    gql: GraphQL, tenant: Tenant, case: tuple[str, Any]
) -> None:
    field, value = case

    extensions = await gql_refusal(gql, tenant, field, value)

    assert extensions == {"code": "smtp_validation_failed", "field": camel_case(field)}


@pytest.mark.parametrize("case", INVALID, ids=case_id)
async def test_rest_refuses_invalid_value_naming_snake_case_field(
    client: httpx.AsyncClient, tenant: Tenant, case: tuple[str, Any]
) -> None:
    field, value = case

    status, error = await rest_refusal(client, tenant, field, value)

    assert (status, error["code"], error["field"]) == (400, "smtp_validation_failed", field)


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
@pytest.mark.parametrize("field", STRING_FIELDS)
async def test_graphql_refuses_control_characters(
    gql: GraphQL, tenant: Tenant, field: str, char: str
) -> None:
    value = with_control(field, char)
    if field == "password":
        value = new_password("ctl") + char

    extensions = await gql_refusal(gql, tenant, field, value)

    assert extensions == {"code": "smtp_validation_failed", "field": camel_case(field)}


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
@pytest.mark.parametrize("field", STRING_FIELDS)
async def test_rest_refuses_control_characters(
    client: httpx.AsyncClient, tenant: Tenant, field: str, char: str
) -> None:
    value = with_control(field, char)
    if field == "password":
        value = new_password("ctl") + char

    status, error = await rest_refusal(client, tenant, field, value)

    assert (status, error["code"], error["field"]) == (400, "smtp_validation_failed", field)


@pytest.mark.parametrize("host", VALID_HOSTS)
async def test_hostnames_and_ip_literals_are_accepted(
    gql: GraphQL, tenant: Tenant, host: str
) -> None:
    config = await gql_create(gql, tenant, host=host)

    assert config["host"] == host.strip("[]")


async def test_name_of_100_characters_is_accepted(gql: GraphQL, tenant: Tenant) -> None:
    config = await gql_create(gql, tenant, name="n" * 100)

    assert config["name"] == "n" * 100


@pytest.mark.parametrize("limit", [1, 10_000_000])
async def test_daily_limit_bounds_are_accepted(gql: GraphQL, tenant: Tenant, limit: int) -> None:
    config = await gql_create(gql, tenant, dailyLimit=limit)

    assert config["dailyLimit"] == limit


@pytest.mark.parametrize("port", [1, 65535])
async def test_port_bounds_are_accepted(gql: GraphQL, tenant: Tenant, port: int) -> None:
    config = await gql_create(gql, tenant, port=port)

    assert config["port"] == port


async def test_graphql_duplicate_name_is_a_conflict(gql: GraphQL, tenant: Tenant) -> None:
    await gql_create(gql, tenant, name="Twice")

    body = await gql(CREATE, {"input": gql_input(name="Twice")}, tenant=tenant)

    assert error_of(body)["extensions"] == {"code": "conflict", "field": "name"}


async def test_rest_duplicate_name_is_a_409_conflict(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await rest_create(client, tenant, name="Twice")

    response = await client.post(
        CONFIGS_URL, json=rest_payload(name="Twice"), headers=tenant.headers
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


async def test_rename_onto_an_existing_name_is_a_conflict(gql: GraphQL, tenant: Tenant) -> None:
    await gql_create(gql, tenant, name="Taken")
    other = await gql_create(gql, tenant, name="Free")

    body = await gql(UPDATE, {"id": other["id"], "input": {"name": "Taken"}}, tenant=tenant)

    assert error_of(body)["extensions"] == {"code": "conflict", "field": "name"}


async def test_rest_unknown_field_is_refused_naming_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        CONFIGS_URL, json=rest_payload(smtp_host="x"), headers=tenant.headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "smtp_validation_failed"
    assert response.json()["error"]["field"] == "smtp_host"


async def test_rest_missing_required_field_is_refused_naming_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    payload = rest_payload()
    del payload["from_email"]

    response = await client.post(CONFIGS_URL, json=payload, headers=tenant.headers)

    assert (response.status_code, response.json()["error"]["field"]) == (400, "from_email")


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"], ids=repr
)
async def test_rest_body_that_is_not_a_json_object_is_a_coded_400(
    client: httpx.AsyncClient, tenant: Tenant, content: bytes
) -> None:
    response = await client.post(
        CONFIGS_URL,
        content=content,
        headers={**tenant.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "smtp_validation_failed"


@pytest.mark.parametrize("case", [("port", 0), ("daily_limit", 0), ("host", "a b")], ids=case_id)
async def test_patch_refuses_invalid_value_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, case: tuple[str, Any]
) -> None:
    field, value = case
    created = await rest_create(client, tenant)

    response = await client.patch(
        f"{CONFIGS_URL}/{created['id']}", json={field: value}, headers=tenant.headers
    )

    assert (response.status_code, response.json()["error"]["field"]) == (400, field)


@pytest.mark.parametrize("field", ["port", "use_tls", "daily_limit"])
async def test_rest_wrong_json_type_is_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, field: str
) -> None:
    status, error = await rest_refusal(client, tenant, field, "7")

    assert (status, error["code"], error["field"]) == (400, "smtp_validation_failed", field)


async def test_refused_password_is_not_echoed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    password = new_password("toolong") + "x" * 1100

    status, error = await rest_refusal(client, tenant, "password", password)

    assert (status, error["field"]) == (400, "password")
