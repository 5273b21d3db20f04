"""Given every argument of every root field, when it is sent with a bad field, a missing
required field or a value of the wrong type, each carrying a secret-shaped string, then the
answer is a coded validation error that quotes no part of the input: graphql-core's own
messages quote the offending value whole, passwords and webhook secrets included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import graphql
import pytest

from mailsage_gql.graphql.errors import without_input_values
from mailsage_gql.graphql.schema import build_schema
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.secret_audit import SecretAudit
from tests.support.ws import graphql_ws

SECRET = "pw-Secret-7f2a9c"
SAMPLES = {
    "Int": 1,
    "Float": 1.5,
    "Boolean": True,
    "DateTime": "2030-01-01T00:00:00Z",
    "JSON": {"key": SECRET},
}


@dataclass(frozen=True)
class EnumValue:
    """An enum value: a bare name as a literal, a string as a variable."""

    name: str


def sample(kind: graphql.GraphQLInputType, seen: frozenset[str] = frozenset()) -> Any:
    """A value of `kind` whose every String and ID leaf is the secret."""
    if isinstance(kind, graphql.GraphQLNonNull):
        return sample(kind.of_type, seen)
    if isinstance(kind, graphql.GraphQLList):
        return [sample(kind.of_type, seen)]
    if isinstance(kind, graphql.GraphQLEnumType):
        return EnumValue(next(iter(kind.values)))
    if isinstance(kind, graphql.GraphQLInputObjectType):
        return {
            name: sample(field.type, seen | {kind.name})
            for name, field in kind.fields.items()
            if kind.name not in seen or graphql.is_required_input_field(field)
        }
    assert isinstance(kind, graphql.GraphQLScalarType)
    return SAMPLES.get(kind.name, SECRET)


def wrong(kind: graphql.GraphQLInputType) -> Any:
    """A value of the wrong type for `kind` that still carries the secret (None: `kind`
    takes any value)."""
    named = graphql.get_named_type(kind)
    if named.name == "JSON":
        return None
    if named.name in {"String", "ID"}:
        return {"nested": SECRET}
    return f"{SECRET}-not-a-{named.name}"


def broken(kind: graphql.GraphQLInputType, value: Any) -> Iterator[tuple[str, Any]]:
    """(label, value) variants of a valid `value` of `kind`, each invalid in one place."""
    if (bad := wrong(kind)) is not None:
        yield "wrong-type", bad
    named = graphql.get_named_type(kind)
    if isinstance(kind, graphql.GraphQLNonNull):
        kind = kind.of_type
    if isinstance(kind, graphql.GraphQLList):
        for label, item in broken(kind.of_type, value[0]):
            yield f"[0].{label}", [item]
        return
    if not isinstance(named, graphql.GraphQLInputObjectType):
        return
    yield "unknown-field", {**value, "notAField": SECRET}
    for name, field in named.fields.items():
        if name not in value:
            continue
        if graphql.is_required_input_field(field):
            yield f"without-{name}", {k: v for k, v in value.items() if k != name}
        for label, item in broken(field.type, value[name]):
            yield f"{name}.{label}", {**value, name: item}


def as_variable(value: Any) -> Any:
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, dict):
        return {k: as_variable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_variable(v) for v in value]
    return value


def as_literal(value: Any) -> str:
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, dict):
        fields = ", ".join(f"{k}: {as_literal(v)}" for k, v in value.items() if k.isidentifier())
        return "{" + fields + "}"
    if isinstance(value, list):
        return "[" + ", ".join(as_literal(v) for v in value) + "]"
    return json.dumps(value)


@dataclass(frozen=True)
class Call:
    """One root field called with one argument broken."""

    operation: str
    field: graphql.GraphQLField
    name: str
    broken_arg: str
    label: str
    value: Any

    def selection(self) -> str:
        named = graphql.get_named_type(self.field.type)
        return " { __typename }" if isinstance(named, graphql.GraphQLObjectType) else ""

    def args(self) -> dict[str, Any]:
        values = {name: sample(arg.type) for name, arg in self.field.args.items()}
        return values | {self.broken_arg: self.value}

    def with_variables(self) -> tuple[str, dict[str, Any]]:
        declared = ", ".join(f"${n}: {a.type}" for n, a in self.field.args.items())
        passed = ", ".join(f"{n}: ${n}" for n in self.field.args)
        document = f"{self.operation}({declared}) {{ {self.name}({passed}){self.selection()} }}"
        return document, {k: as_variable(v) for k, v in self.args().items()}

    def with_literals(self) -> str:
        passed = ", ".join(f"{n}: {as_literal(v)}" for n, v in self.args().items())
        return f"{self.operation} {{ {self.name}({passed}){self.selection()} }}"


def calls(settings: Settings) -> list[Call]:
    schema = build_schema(settings)._schema
    found = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                for label, value in broken(arg.type, sample(arg.type)):
                    found.append(Call(operation, field, name, arg_name, label, value))
    return found


def test_every_input_type_of_the_schema_is_probed(settings: Settings) -> None:
    # given the schema's input object types, when the probes are listed, then each is in one
    schema = build_schema(settings)._schema
    inputs = {
        t.name
        for t in schema.type_map.values()
        if isinstance(t, graphql.GraphQLInputObjectType) and not t.name.startswith("__")
    }
    probed = {graphql.get_named_type(c.field.args[c.broken_arg].type).name for c in calls(settings)}
    nested = {
        graphql.get_named_type(f.type).name
        for t in inputs
        for f in schema.type_map[t].fields.values()  # type: ignore[union-attr]
    }
    assert inputs <= probed | nested
    assert {"SmtpConfigInput", "SendEmailInput"} <= probed


async def test_no_validation_error_quotes_an_input_value(
    settings: Settings, gql: GraphQL, tenant: Tenant, secret_audit: SecretAudit
) -> None:
    # given a secret-shaped value in every string of every call
    secret_audit.register(SECRET, "coercion probe")
    probes = calls(settings)
    assert len(probes) > 100
    for call in probes:
        document, variables = call.with_variables()
        # when the call is sent with its variables, then with the same values inline
        for body in (
            await gql(document, variables, tenant=tenant),
            await gql(call.with_literals(), tenant=tenant),
        ):
            # then it is refused with a code, and no message quotes the input
            text = json.dumps(body)
            where = f"{call.name}({call.broken_arg}) {call.label}"
            assert SECRET not in text, f"{where} echoed the input: {text}"
            assert body.get("errors"), f"{where} was accepted: {text}"
            codes = {e["extensions"]["code"] for e in body["errors"]}
            assert codes <= {"graphql_validation_failed", "graphql_parse_failed"}, where


async def test_a_subscription_with_a_bad_variable_quotes_no_input_value(
    live_server: LiveServer, tenant: Tenant, secret_audit: SecretAudit
) -> None:
    # given a subscriber over graphql-transport-ws
    secret_audit.register(SECRET, "coercion probe")
    async with graphql_ws(live_server.url, authorization=f"Bearer {tenant.api_key}") as ws:
        # when it subscribes with a variable of the wrong type carrying a secret
        await ws.subscribe(
            "subscription($after: ID) { deliveryEvents(after: $after) { id } }",
            {"after": {"nested": SECRET}},
        )
        message = await ws.receive()

    # then the subscription is refused with a code and the input is not quoted
    assert message["type"] == "error", message
    assert SECRET not in json.dumps(message)
    assert message["payload"][0]["extensions"]["code"] == "graphql_validation_failed"


@pytest.mark.parametrize(
    ("message", "redacted"),
    [
        (
            "Variable '$i' has invalid value: Expected value of type 'SmtpConfigInput' not to "
            "include unknown field 'x', found: {'password': 'p'}.",
            "Variable '$i' has invalid value: Expected value of type 'SmtpConfigInput' not to "
            "include unknown field 'x'.",
        ),
        (
            "Expected value of type 'T' not to include unknown field 'hots'. Did you mean "
            "'host'? Found: { password: \"p\" }.",
            "Expected value of type 'T' not to include unknown field 'hots'. Did you mean 'host'?",
        ),
        (
            "Variable '$i' has invalid value at .port: Int cannot represent non-integer value: 'p'",
            "Variable '$i' has invalid value at .port: Int cannot represent non-integer value.",
        ),
        (
            "Expected value of type 'DateTime', but encountered error 'bad: 'p''; found: 'p'.",
            "Expected value of type 'DateTime', found a value it cannot represent.",
        ),
        (
            "Value 'p' does not exist in 'Status' enum. Did you mean the enum value 'SENT'?",
            "Value does not exist in 'Status' enum. Did you mean the enum value 'SENT'?",
        ),
        (
            'Syntax Error: Expected Name, found String "p".',
            "Syntax Error: Expected Name, found String.",
        ),
        (
            "Variable '$i' of required type 'SmtpConfigInput!' was not provided.",
            "Variable '$i' of required type 'SmtpConfigInput!' was not provided.",
        ),
    ],
)
def test_quoted_input_is_cut_from_graphql_core_messages(message: str, redacted: str) -> None:
    assert without_input_values(message) == redacted
