"""Given passwords, webhook secrets and API keys stored through both faces, then none is in
the database in clear (every text column of every table is scanned), and the suite-wide
secret audit does catch a secret where it must not be."""

from __future__ import annotations

import json
from typing import Any

import httpx

from mailsage_gql import database
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, Tenant
from tests.support.recording import new_password
from tests.support.secret_audit import Exchange, SecretAudit

CREATE = "mutation($input: SmtpConfigInput!) { createSmtpConfig(input: $input) { id } }"
UPDATE = (
    "mutation($id: ID!, $pw: String!) { updateSmtpConfig(id: $id, input: {password: $pw}) { id } }"
)
WEBHOOK = """
mutation {
  createWebhook(url: "https://h.example.com/", events: [SENT]) { webhook { id } secret }
}"""
ROTATE = "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }"


async def every_text_value(settings: Settings) -> list[tuple[str, str, str]]:
    """(table, column, value) of every non-null value of every table, as text."""
    conn = database.db_connection(settings)
    if settings.dialect == "postgres":
        tables = [
            r["table_name"]
            for r in await conn.execute_query_dict(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
    else:
        tables = [
            r["name"]
            for r in await conn.execute_query_dict(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        ]
    found = []
    for table in tables:
        for row in await conn.execute_query_dict(f'SELECT * FROM "{table}"'):
            found += [(table, column, str(v)) for column, v in row.items() if v is not None]
    return found


async def stored_secrets(client: httpx.AsyncClient, gql: GraphQL, tenant: Tenant) -> dict[str, str]:
    """Store secrets every way there is; returns them by what they are."""
    secrets = {
        "graphql password": new_password("gql"),
        "rest password": new_password("rest"),
        "updated password": new_password("upd"),
        "api key": tenant.api_key,
    }
    made = await gql(
        CREATE,
        {
            "input": {
                "name": "G",
                "host": "smtp.example.com",
                "port": 587,
                "fromEmail": "a@example.com",
                "username": "u",
                "password": secrets["graphql password"],
            }
        },
        tenant=tenant,
    )
    response = await client.post(
        "/api/v1/smtp/configs",
        json={
            "name": "R",
            "host": "smtp.example.com",
            "port": 587,
            "from_email": "a@example.com",
            "password": secrets["rest password"],
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    await gql(
        UPDATE,
        {"id": made["data"]["createSmtpConfig"]["id"], "pw": secrets["updated password"]},
        tenant=tenant,
    )
    hook = (await gql(WEBHOOK, tenant=tenant))["data"]["createWebhook"]
    secrets["webhook secret"] = hook["secret"]
    rotated = await gql(ROTATE, {"id": hook["webhook"]["id"]}, tenant=tenant)
    secrets["rotated webhook secret"] = rotated["data"]["rotateWebhookSecret"]["secret"]
    return secrets


async def test_no_secret_is_stored_in_clear_in_any_column(
    client: httpx.AsyncClient, gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    secrets = await stored_secrets(client, gql, tenant)

    values = await every_text_value(settings)

    assert any(t == "smtp_config" and c == "password_sealed" for t, c, _ in values)
    assert [
        (kind, table, column)
        for kind, secret in secrets.items()
        for table, column, value in values
        if secret in value or secret.removeprefix("whsec_") in value
    ] == []


async def test_the_database_scan_would_find_a_clear_secret(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    password = new_password("clear")
    await gql(
        CREATE,
        {
            "input": {
                "name": password,
                "host": "smtp.example.com",
                "port": 587,
                "fromEmail": "a@example.com",
            }
        },
        tenant=tenant,
    )

    values = await every_text_value(settings)

    assert ("smtp_config", "name", password) in values


def exchange(audit: SecretAudit, query: str, response: dict[str, Any]) -> None:
    """One GraphQL POST and its answer, as the audit sees them."""
    seen = Exchange(audit, {"type": "http", "method": "POST", "path": "/graphql", "headers": []})
    seen.received({"type": "http.request", "body": json.dumps({"query": query}).encode()})
    seen.sent({"type": "http.response.start", "status": 200, "headers": []})
    seen.sent({"type": "http.response.body", "body": json.dumps(response).encode()})
    seen.finish()


def test_audit_ignores_a_password_of_a_refused_request() -> None:
    audit = SecretAudit()
    exchange(
        audit,
        'mutation { createSmtpConfig(input: {password: "Hunter2-Secret"}) { id } }',
        {"errors": [{"message": "bad host"}]},
    )

    exchange(audit, "{ smtpConfigs { id } }", {"data": {"name": "Hunter2-Secret"}})

    assert audit.leaks() == []


def test_audit_reports_a_password_seen_in_a_response() -> None:
    audit = SecretAudit()
    exchange(
        audit,
        'mutation { createSmtpConfig(input: {password: "Hunter2-Secret"}) { id } }',
        {"data": {}},
    )

    exchange(audit, "{ smtpConfigs { id } }", {"data": {"name": "Hunter2-Secret"}})

    assert audit.leaks() == ["SMTP password Hunter... in http POST /graphql"]


def test_audit_allows_the_issued_secret_once_in_its_own_response() -> None:
    audit = SecretAudit()

    exchange(
        audit,
        'mutation { createWebhook(url: "u", events: [SENT]) { secret } }',
        {"data": {"createWebhook": {"secret": "whsec_abcdefghij"}}},
    )

    assert audit.leaks() == []


def test_audit_reports_an_issued_secret_shown_again_elsewhere() -> None:
    audit = SecretAudit()
    exchange(
        audit,
        'mutation { createWebhook(url: "u", events: [SENT]) { secret } }',
        {"data": {"createWebhook": {"secret": "whsec_abcdefghij"}}},
    )

    exchange(audit, "{ webhooks { id } }", {"data": {"leak": "whsec_abcdefghij"}})

    assert audit.leaks() == ["webhook secret whsec_... in http POST /graphql"]


def test_audit_reports_another_secret_inside_an_issuing_response() -> None:
    audit = SecretAudit()
    audit.register("ms_0123456789ab_abcdefghijklmnopqrstuvwxyz", "API key")

    exchange(
        audit,
        'mutation { rotateWebhookSecret(id: "1") { secret } }',
        {
            "data": {
                "rotateWebhookSecret": {"secret": "whsec_abcdefghij"},
                "key": "ms_0123456789ab_abcdefghijklmnopqrstuvwxyz",
            }
        },
    )

    assert audit.leaks() == ["API key ms_012... in http POST /graphql"]
