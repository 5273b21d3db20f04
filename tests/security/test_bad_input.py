"""Given every string input of every GraphQL field and REST route, when it carries CR, LF, NUL,
10k or 1M characters, an RTL override, a zero-width joiner, a lone surrogate (a JSON escape),
emoji or combining marks, then the answer is a coded error or a success whose stored value
reads back exactly as sent; never a 500, never corrupted data."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

import graphql
import httpx
import pytest
from email_validator import EmailNotValidError, validate_email

from mailsage_gql.crypto import Keyring
from mailsage_gql.graphql.schema import build_schema
from mailsage_gql.models import Message, SmtpConfig, Webhook
from mailsage_gql.services.smtp_configs import password_context
from mailsage_gql.settings import Settings
from tests.support.api import Tenant

BAD = {
    "cr": "a\rb",
    "lf": "a\nb",
    "crlf-header": "x\r\nBcc: victim@example.org",
    "nul": "a\x00b",
    "10k": "k" * 10_000,
    "rtl-override": "abc\u202edef",
    "zero-width-joiner": "a\u200db",
    "lone-surrogate": "\ud800",
    "emoji": "mail \U0001f4e7 \U0001f469\u200d\U0001f4bb",
    "combining": "e\u0301\u0327 o\u0308",
}
#: Digits str.isdigit() accepts and int() refuses, and a number past 64 bits: for fields
#: parsed as numbers (cursors). Not put inside addresses: there they make valid addresses.
NUMERIC = {
    "superscript-digit": "\u00b9",
    "arabic-indic-digits": "\u0663\u0664",
    "huge-number": "9" * 30,
}
#: A million characters per field is slow across every field and database: CI runs it.
HUGE = {"1m": "m" * 1_000_000}
SIZES = ["odd", pytest.param("huge", marks=pytest.mark.slow)]
EMAIL_FIELDS = {"to", "cc", "bcc", "fromEmail", "from_email", "replyTo", "reply_to", "recipient"}


def variants(field: str, size: str = "odd") -> dict[str, str]:
    """The bad values, and for address fields the same inside an address."""
    if size == "huge":
        return dict(HUGE)
    values = BAD | NUMERIC
    if field == "password":  # distinct from the same values sent as names and ids elsewhere
        values = {k: f"pw:{v}" for k, v in values.items()}
    if field in EMAIL_FIELDS:
        values.update({f"{k}@": f"{v}@example.com" for k, v in BAD.items()})
    return values


# A valid call of every root field; each string input is then replaced by each bad value.
CONFIG = {"name": "N", "host": "smtp.example.com", "port": 587, "fromEmail": "a@example.com"}
MESSAGE = {
    "to": ["a@example.com"],
    "cc": ["c@example.com"],
    "bcc": ["d@example.com"],
    "subject": "s",
    "text": "t",
    "html": "<p>h</p>",
    "fromEmail": "f@example.com",
    "replyTo": "r@example.com",
    "headers": [{"name": "X-Tag", "value": "v"}],
    "idempotencyKey": None,
    "smtpConfigId": None,
}
CONFIG_FULL = {**CONFIG, "username": "u", "password": "p-123456789"}
GRAPHQL_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "smtpConfigs": ("{ smtpConfigs { id } }", {}),
    "smtpConfig": ("query($id: ID!) { smtpConfig(id: $id) { id } }", {"id": "@config"}),
    "message": ("query($id: ID!) { message(id: $id) { id } }", {"id": "@message"}),
    "messageEvents": (
        "query($id: ID!) { messageEvents(messageId: $id) { id } }",
        {"id": "@message"},
    ),
    "deliveryStats": (
        "query($f: DateTime!, $t: DateTime!, $id: ID) "
        "{ deliveryStats(from: $f, to: $t, smtpConfigId: $id) { sent } }",
        {"f": "2030-01-01T00:00:00Z", "t": "2030-01-02T00:00:00Z", "id": "@config"},
    ),
    "webhooks": ("{ webhooks { id } }", {}),
    "webhookDeliveries": (
        "query($id: ID!, $after: String) { webhookDeliveries(webhookId: $id, after: $after) "
        "{ edges { cursor } } }",
        {"id": "@webhook", "after": "1"},
    ),
    "messages": (
        "query($after: String) { messages(after: $after) { edges { cursor } } }",
        {"after": None},
    ),
    "createSmtpConfig": (
        "mutation($input: SmtpConfigInput!) { createSmtpConfig(input: $input) { id } }",
        {"input": CONFIG_FULL},
    ),
    "updateSmtpConfig": (
        "mutation($id: ID!, $input: SmtpConfigUpdateInput!) "
        "{ updateSmtpConfig(id: $id, input: $input) { id } }",
        {"id": "@config", "input": {**CONFIG_FULL, "name": "M"}},
    ),
    "deleteSmtpConfig": ("mutation($id: ID!) { deleteSmtpConfig(id: $id) }", {"id": "@other"}),
    "setDefaultSmtpConfig": (
        "mutation($id: ID!) { setDefaultSmtpConfig(id: $id) { id } }",
        {"id": "@config"},
    ),
    "testSmtpConfig": (
        "mutation($id: ID!, $r: String!) { testSmtpConfig(id: $id, recipient: $r) { ok } }",
        {"id": "@config", "r": "rcpt@example.com"},
    ),
    "verifySmtpConfig": (
        "mutation($input: SmtpConfigInput!) { verifySmtpConfig(input: $input) { ok } }",
        {"input": CONFIG_FULL},
    ),
    "createWebhook": (
        "mutation($url: String!) { createWebhook(url: $url, events: [SENT]) { webhook { id } } }",
        {"url": "https://hooks.example.com/a"},
    ),
    "updateWebhook": (
        "mutation($id: ID!, $url: String) { updateWebhook(id: $id, url: $url) { id } }",
        {"id": "@webhook", "url": "https://hooks.example.com/b"},
    ),
    "deleteWebhook": ("mutation($id: ID!) { deleteWebhook(id: $id) }", {"id": "@webhook"}),
    "rotateWebhookSecret": (
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { webhook { id } } }",
        {"id": "@webhook"},
    ),
    "sendEmail": (
        "mutation($input: SendEmailInput!) { sendEmail(input: $input) { id } }",
        {"input": MESSAGE},
    ),
    "sendBatch": (
        "mutation($m: [SendEmailInput!]!) { sendBatch(messages: $m) "
        "{ items { message { id } error { code } } } }",
        {"m": [MESSAGE]},
    ),
}


def string_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every string (or null, i.e. an optional string) leaf of a call's variables."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in string_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in string_paths(v, (*path, i))]
    return [path] if value is None or isinstance(value, str) else []


def schema_string_inputs(settings: Settings) -> set[str]:
    """`field.arg[.inputField...]` of every String/ID input reachable from a root field."""
    schema = build_schema(settings)._schema
    found: set[str] = set()

    def walk(kind: graphql.GraphQLInputType, name: str, seen: frozenset[str]) -> None:
        named = graphql.get_named_type(kind)
        if isinstance(named, graphql.GraphQLScalarType) and named.name in {"String", "ID"}:
            found.add(name)
        elif isinstance(named, graphql.GraphQLInputObjectType) and named.name not in seen:
            for field_name, field in named.fields.items():
                walk(field.type, f"{name}.{field_name}", seen | {named.name})

    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for field_name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                walk(arg.type, f"{field_name}.{arg_name}", frozenset())
    return found


def call_string_inputs() -> set[str]:
    """The same names, as covered by GRAPHQL_CALLS (variables named after their arguments)."""
    names = set()
    for field, (document, variables) in GRAPHQL_CALLS.items():
        arguments = argument_names(document, field)
        for path in string_paths(variables):
            keys = [str(p) for p in path if not isinstance(p, int)]
            names.add(".".join([field, arguments[keys[0]], *keys[1:]]))
    return names


def argument_names(document: str, field: str) -> dict[str, str]:
    """variable name -> argument name of `field` in `document`."""
    operation = graphql.parse(document).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    (node,) = [s for s in operation.selection_set.selections if isinstance(s, graphql.FieldNode)]
    return {
        a.value.name.value: a.name.value
        for a in node.arguments or ()
        if isinstance(a.value, graphql.VariableNode)
    }


def test_every_string_input_of_the_schema_is_covered(settings: Settings) -> None:
    missing_strings = {"deliveryStats.from", "deliveryStats.to"}  # DateTime, tried as strings
    assert call_string_inputs() == schema_string_inputs(settings) | missing_strings


def put(variables: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(variables)
    target: Any = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


def raw_json(payload: Any) -> bytes:
    """JSON with \\u escapes (ensure_ascii), the only way a lone surrogate can travel."""
    return json.dumps(payload).encode()


def expected_stored(field: str, value: str) -> str:
    """What an accepted value must read back as: itself, or an address in normal form."""
    if field not in EMAIL_FIELDS:
        return value
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return value


async def stored(kind: str, row_id: str, path: tuple[Any, ...], keyring: Keyring) -> Any:
    """The value stored at `path` of an input, read back from the database row."""
    if kind == "config":
        row = await SmtpConfig.get(id=row_id)
        field = {"fromEmail": "from_email", "from_email": "from_email"}.get(path[-1], path[-1])
        if field == "password":
            return keyring.open(row.password_sealed or "", context=password_context(row.id))
        return getattr(row, field)
    if kind == "webhook":
        return (await Webhook.get(id=row_id)).url
    message = await Message.get(id=row_id)
    keys = [p for p in path if not isinstance(p, int)]
    snake = {"fromEmail": "from_email", "replyTo": "reply_to", "idempotencyKey": "idempotency_key"}
    field = snake.get(keys[-1], keys[-1])
    if field in {"name", "value"}:
        return message.headers[0][0 if field == "name" else 1]
    value = getattr(message, field)
    return value[0] if isinstance(value, list) else value


class Probe:
    """Sends one call with one bad value and judges the answer."""

    def __init__(self, client: httpx.AsyncClient, tenant: Tenant, keyring: Keyring) -> None:
        self.client = client
        self.tenant = tenant
        self.keyring = keyring
        self.failures: list[str] = []

    def judge_response(self, label: str, response: httpx.Response) -> Any:
        if response.status_code >= 500:
            self.failures.append(f"{label}: status {response.status_code} {response.text[:200]}")
            return None
        try:
            body = response.json()
        except json.JSONDecodeError:
            self.failures.append(f"{label}: not JSON: {response.text[:200]!r}")
            return None
        errors = body.get("errors") or ([body["error"]] if "error" in body else [])
        for error in errors:
            code = (error.get("extensions") or {}).get("code") or error.get("code")
            if not code or code == "internal_error":
                self.failures.append(f"{label}: error without a client code: {error}")
        return body

    async def check_stored(
        self, label: str, kind: str, row_id: str, path: tuple[Any, ...], sent: str
    ) -> None:
        keys = [p for p in path if not isinstance(p, int)]
        value = await stored(kind, row_id, path, self.keyring)
        if value != expected_stored(str(keys[-1]), sent):
            self.failures.append(f"{label}: stored {str(value)[:80]!r}, sent {sent[:80]!r}")


@pytest.fixture
async def ids(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    """A config (the default), a second config, a message and a webhook of the tenant."""
    made = {}
    for name in ("config", "other"):
        response = await client.post(
            "/api/v1/smtp/configs",
            json={"name": name, "host": "smtp.example.com", "port": 587, "from_email": "a@b.io"},
            headers=tenant.headers,
        )
        made[name] = response.json()["id"]
    response = await client.post(
        "/api/v1/emails",
        json={"to": ["a@example.com"], "subject": "s", "text": "t"},
        headers=tenant.headers,
    )
    made["message"] = response.json()["id"]
    response = await client.post(
        "/graphql",
        json={
            "query": 'mutation { createWebhook(url: "https://h.example.com/", events: [SENT]) '
            "{ webhook { id } } }"
        },
        headers=tenant.headers,
    )
    made["webhook"] = response.json()["data"]["createWebhook"]["webhook"]["id"]
    return made


def with_ids(variables: Any, ids: dict[str, str]) -> Any:
    if isinstance(variables, dict):
        return {k: with_ids(v, ids) for k, v in variables.items()}
    if isinstance(variables, list):
        return [with_ids(v, ids) for v in variables]
    if isinstance(variables, str) and variables.startswith("@"):
        return ids[variables[1:]]
    return variables


GRAPHQL_CASES = [
    (field, path)
    for field, (_, variables) in GRAPHQL_CALLS.items()
    for path in string_paths(variables)
]
STORES = {
    "createSmtpConfig": ("config", lambda d: d["createSmtpConfig"]["id"]),
    "updateSmtpConfig": ("config", lambda d: d["updateSmtpConfig"]["id"]),
    "createWebhook": ("webhook", lambda d: d["createWebhook"]["webhook"]["id"]),
    "updateWebhook": ("webhook", lambda d: d["updateWebhook"]["id"]),
    "sendEmail": ("message", lambda d: d["sendEmail"]["id"]),
    "sendBatch": ("message", lambda d: (d["sendBatch"]["items"][0]["message"] or {}).get("id")),
}


@pytest.mark.parametrize(
    ("field", "path"), GRAPHQL_CASES, ids=[f"{f}-{'.'.join(map(str, p))}" for f, p in GRAPHQL_CASES]
)
@pytest.mark.parametrize("size", SIZES)
async def test_graphql_string_input_with_bad_values_is_refused_with_a_code_or_kept_exactly(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    ids: dict[str, str],
    field: str,
    path: tuple[Any, ...],
    size: str,
) -> None:
    document, variables = GRAPHQL_CALLS[field]
    probe = Probe(client, tenant, Keyring.from_config(settings.secret_key))
    name = str([p for p in path if not isinstance(p, int)][-1])
    for label, value in variants(name, size).items():
        sent = put(with_ids(variables, ids), path, value)
        response = await probe.client.post(
            "/graphql",
            content=raw_json({"query": document, "variables": sent}),
            headers={**tenant.headers, "content-type": "application/json"},
        )
        body = probe.judge_response(label, response)
        if body and not body.get("errors") and field in STORES:
            kind, id_of = STORES[field]
            row_id = id_of(body["data"])
            if row_id:
                await probe.check_stored(label, kind, row_id, path, value)

    assert probe.failures == []


REST_CONFIG = {
    "name": "N",
    "host": "smtp.example.com",
    "port": 587,
    "from_email": "a@example.com",
    "username": "u",
    "password": "p-123456789",
}
REST_MESSAGE = {
    "to": ["a@example.com"],
    "cc": ["c@example.com"],
    "bcc": ["d@example.com"],
    "subject": "s",
    "text": "t",
    "html": "<p>h</p>",
    "from_email": "f@example.com",
    "reply_to": "r@example.com",
    "headers": [{"name": "X-Tag", "value": "v"}],
    "idempotency_key": None,
    "smtp_config_id": None,
}
REST_CALLS: dict[str, tuple[str, str, Any, str | None]] = {
    "create-config": ("POST", "/api/v1/smtp/configs", REST_CONFIG, "config"),
    "update-config": (
        "PATCH",
        "/api/v1/smtp/configs/@config",
        {**REST_CONFIG, "name": "M"},
        "config",
    ),
    "test-config": (
        "POST",
        "/api/v1/smtp/configs/@config/test",
        {"recipient": "r@example.com"},
        None,
    ),
    "send": ("POST", "/api/v1/emails", REST_MESSAGE, "message"),
    "batch": ("POST", "/api/v1/emails/batch", {"messages": [REST_MESSAGE]}, "message"),
}
REST_CASES = [
    (name, path) for name, (_, _, body, _) in REST_CALLS.items() for path in string_paths(body)
]


def rest_row_id(name: str, body: dict[str, Any]) -> str | None:
    if name == "batch":
        return (body["items"][0]["message"] or {}).get("id")
    return body.get("id")


@pytest.mark.parametrize(
    ("name", "path"), REST_CASES, ids=[f"{n}-{'.'.join(map(str, p))}" for n, p in REST_CASES]
)
@pytest.mark.parametrize("size", SIZES)
async def test_rest_string_input_with_bad_values_is_refused_with_a_code_or_kept_exactly(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    ids: dict[str, str],
    name: str,
    path: tuple[Any, ...],
    size: str,
) -> None:
    method, url, body, kind = REST_CALLS[name]
    probe = Probe(client, tenant, Keyring.from_config(settings.secret_key))
    url = url.replace("@config", ids["config"])
    field = str([p for p in path if not isinstance(p, int)][-1])
    for label, value in variants(field, size).items():
        sent = put(body, path, value)
        response = await client.request(
            method,
            url,
            content=raw_json(sent),
            headers={**tenant.headers, "content-type": "application/json"},
        )
        answer = probe.judge_response(label, response)
        if answer and response.status_code < 300 and kind is not None:
            row_id = rest_row_id(name, answer)
            if row_id:
                await probe.check_stored(label, kind, row_id, path, value)

    assert probe.failures == []


PATH_ROUTES = [
    ("GET", "/api/v1/smtp/configs/{}", None),
    ("PATCH", "/api/v1/smtp/configs/{}", {"name": "Renamed"}),
    ("DELETE", "/api/v1/smtp/configs/{}", None),
    ("POST", "/api/v1/smtp/configs/{}/default", None),
    ("POST", "/api/v1/smtp/configs/{}/test", {"recipient": "r@example.com"}),
    ("GET", "/api/v1/emails/{}", None),
]


@pytest.mark.parametrize(("method", "template", "body"), PATH_ROUTES)
async def test_rest_path_id_with_bad_values_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, method: str, template: str, body: Any
) -> None:
    statuses = {}
    for label, value in BAD.items():
        url = template.format(quote(value.encode("utf-8", "surrogatepass"), safe=""))
        response = await client.request(method, url, json=body, headers=tenant.headers)
        statuses[label] = (response.status_code, response.json()["error"]["code"])

    assert set(statuses.values()) == {(404, "not_found")}
