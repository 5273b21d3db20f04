"""Error shapes: coded REST bodies and statuses, coded GraphQL errors, masked surprises."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from mailsage_gql.services import smtp_configs
from tests.support.api import GraphQL, Tenant
from tests.support.configs import CONFIGS_URL, LIST, error_of, rest_create, rest_payload
from tests.support.recording import ResponseLog, guard_responses

SECRET_DETAIL = "db password is hunter2 at /srv/secret.py"


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


@pytest.fixture
def broken_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """list_configs raises an unexpected exception carrying internal detail."""

    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(smtp_configs, "list_configs", boom)


@pytest.fixture
async def lenient_client(
    app: Starlette, responses: ResponseLog
) -> AsyncIterator[httpx.AsyncClient]:
    """A client that receives the app's 500 response instead of the re-raised exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://mailsage.test") as c:
        responses.watch(c)
        yield c


async def test_rest_400_has_code_message_and_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(CONFIGS_URL, json=rest_payload(port=0), headers=tenant.headers)

    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("smtp_validation_failed", "port")
    assert isinstance(error["message"], str) and error["message"]


async def test_rest_401_has_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get(CONFIGS_URL)

    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "field"}


async def test_rest_404_has_the_error_shape(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(
        f"{CONFIGS_URL}/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=tenant.headers
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert set(response.json()["error"]) == {"code", "message", "field"}


async def test_rest_409_names_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await rest_create(client, tenant, name="Same")

    response = await client.post(
        CONFIGS_URL, json=rest_payload(name="Same"), headers=tenant.headers
    )

    assert response.status_code == 409
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "conflict",
        "name",
    )


@pytest.mark.parametrize("path", ["/nope", "/api/v1/unknown", "/api/v1/smtp/configs/x/y"])
async def test_unknown_route_is_a_coded_json_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


async def test_wrong_method_is_a_coded_json_405(client: httpx.AsyncClient) -> None:
    response = await client.put(CONFIGS_URL, json={})

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_rest_unexpected_exception_is_masked(
    lenient_client: httpx.AsyncClient, tenant: Tenant, broken_list: None
) -> None:
    response = await lenient_client.get(CONFIGS_URL, headers=tenant.headers)

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


async def test_graphql_unexpected_exception_is_masked(
    gql: GraphQL, tenant: Tenant, broken_list: None
) -> None:
    body = await gql(LIST, tenant=tenant)

    error = error_of(body)
    assert error["extensions"]["code"] == "internal_error"
    assert error["extensions"]["requestId"] in error["message"]
    assert "hunter2" not in str(body)
    assert "RuntimeError" not in str(body) and "Traceback" not in str(body)


async def test_graphql_validation_error_carries_a_code(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql("{ smtpConfigs { noSuchField } }", tenant=tenant)

    assert error_of(body)["extensions"]["code"] == "graphql_validation_failed"


async def test_graphql_missing_variable_is_refused(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql("query($id: ID!) { smtpConfig(id: $id) { id } }", {}, tenant=tenant)

    assert body.get("data") is None
    assert len(body["errors"]) == 1


async def test_graphql_missing_variable_carries_a_validation_code(
    gql: GraphQL, tenant: Tenant
) -> None:
    body = await gql("query($id: ID!) { smtpConfig(id: $id) { id } }", {}, tenant=tenant)

    assert error_of(body)["extensions"]["code"] == "graphql_validation_failed"


async def test_graphql_parse_error_is_refused(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql("{ smtpConfigs {", tenant=tenant)

    assert body.get("data") is None
    assert error_of(body)["message"].startswith("Syntax Error")


async def test_graphql_parse_error_carries_a_code(gql: GraphQL, tenant: Tenant) -> None:
    body = await gql("{ smtpConfigs {", tenant=tenant)

    assert error_of(body)["extensions"]["code"] == "graphql_parse_failed"


async def test_graphql_body_that_is_not_json_is_a_coded_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{nope", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "bad_request"


PLAIN = "application/json"
WITH_CHARSET = "application/json; charset=utf-8"
OTHER_JSON = "application/json;charset=UTF-8"  # not the short path: Strawberry's parser


@pytest.mark.parametrize("content_type", [PLAIN, WITH_CHARSET, OTHER_JSON])
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"query": 7}', "`query` must be a string or null"),
        (b'{"query": "{ smtpConfigs { id } }", "variables": [1]}', "`variables` must be"),
        (b'{"query": "{ smtpConfigs { id } }", "extensions": "x"}', "`extensions` must be"),
        (b'{"query": "{ smtpConfigs { id } }", "variables": NaN}', "Unable to parse"),
        (b'"{ smtpConfigs { id } }"', "must be a JSON object"),
        (b"7", "must be a JSON object"),
        (b"null", "must be a JSON object"),
    ],
)
async def test_graphql_body_of_the_wrong_shape_is_a_coded_400(
    client: httpx.AsyncClient, tenant: Tenant, content_type: str, payload: bytes, message: str
) -> None:
    response = await client.post(
        "/graphql", content=payload, headers={**tenant.headers, "Content-Type": content_type}
    )

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "bad_request"
    assert message in error["message"]


@pytest.mark.parametrize("content_type", [PLAIN, WITH_CHARSET, OTHER_JSON])
async def test_graphql_body_of_the_right_shape_is_answered_whatever_json_type(
    client: httpx.AsyncClient, tenant: Tenant, content_type: str
) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "query Q($y: Boolean!) { smtpConfigs @include(if: $y) { id } }",'
        b' "variables": {"y": true}, "operationName": "Q", "extensions": {}}',
        headers={**tenant.headers, "Content-Type": content_type},
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"smtpConfigs": []}}
