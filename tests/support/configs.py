"""SMTP config payloads and GraphQL documents shared by the API tests."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.support.api import GraphQL, Tenant

CONFIG_FIELDS = """
    id name host port username useTls fromEmail isDefault dailyLimit maxPerMinute
    sentToday remainingToday resetsAt hasPassword priority maxConnections createdAt updatedAt
"""
CREATE = f"""
mutation Create($input: SmtpConfigInput!) {{
  createSmtpConfig(input: $input) {{ {CONFIG_FIELDS} }}
}}"""
UPDATE = f"""
mutation Update($id: ID!, $input: SmtpConfigUpdateInput!) {{
  updateSmtpConfig(id: $id, input: $input) {{ {CONFIG_FIELDS} }}
}}"""
DELETE = "mutation Delete($id: ID!) { deleteSmtpConfig(id: $id) }"
SET_DEFAULT = f"""
mutation SetDefault($id: ID!) {{ setDefaultSmtpConfig(id: $id) {{ {CONFIG_FIELDS} }} }}"""
LIST = f"{{ smtpConfigs {{ {CONFIG_FIELDS} }} }}"
GET = f"query Get($id: ID!) {{ smtpConfig(id: $id) {{ {CONFIG_FIELDS} }} }}"
CONFIGS_URL = "/api/v1/smtp/configs"

_names = itertools.count(1)


def rest_payload(**overrides: Any) -> dict[str, Any]:
    """A valid REST (snake_case) body with only the required fields, plus `overrides`."""
    payload: dict[str, Any] = {
        "name": f"Provider {next(_names)}",
        "host": "smtp.example.com",
        "port": 587,
        "from_email": "noreply@example.com",
    }
    payload.update(overrides)
    return payload


def gql_input(**overrides: Any) -> dict[str, Any]:
    """A valid GraphQL (camelCase) input with only the required fields, plus `overrides`."""
    value: dict[str, Any] = {
        "name": f"Provider {next(_names)}",
        "host": "smtp.example.com",
        "port": 587,
        "fromEmail": "noreply@example.com",
    }
    value.update(overrides)
    return value


async def gql_create(gql: GraphQL, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    body = await gql(CREATE, {"input": gql_input(**overrides)}, tenant=tenant)
    assert "errors" not in body, body
    config: dict[str, Any] = body["data"]["createSmtpConfig"]
    return config


async def rest_create(
    client: httpx.AsyncClient, tenant: Tenant, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        CONFIGS_URL, json=rest_payload(**overrides), headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    config: dict[str, Any] = response.json()
    return config


async def gql_list(gql: GraphQL, tenant: Tenant) -> list[dict[str, Any]]:
    body = await gql(LIST, tenant=tenant)
    assert "errors" not in body, body
    configs: list[dict[str, Any]] = body["data"]["smtpConfigs"]
    return configs


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    """The single GraphQL error of a response (fails when there is not exactly one)."""
    errors = body.get("errors")
    assert errors and len(errors) == 1, body
    error: dict[str, Any] = errors[0]
    return error
