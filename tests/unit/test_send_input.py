"""SendEmailInput's own conversion from GraphQL input values gives what Strawberry's does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import get_object_definition

from mailsage_gql.graphql.message_types import (
    SEND_INPUT_NAMES,
    SendEmailInput,
    send_input_from_graphql,
    send_input_values,
)
from mailsage_gql.graphql.schema import MailsageSchema, build_schema
from mailsage_gql.settings import Settings
from tests.support.databases import base_settings


@pytest.fixture(scope="module")
def schema() -> MailsageSchema:
    settings: Settings = base_settings("sqlite:///unused.db")
    built = build_schema(settings)
    assert isinstance(built, MailsageSchema)
    return built


def test_every_graphql_field_of_the_input_has_its_python_name(schema: MailsageSchema) -> None:
    graphql_fields = schema._schema.type_map["SendEmailInput"].fields  # type: ignore[attr-defined]

    assert set(SEND_INPUT_NAMES) == set(graphql_fields)


TEXT = st.text(max_size=8)
STRINGS = st.lists(TEXT, max_size=3)
HEADERS = st.lists(st.fixed_dictionaries({"name": TEXT, "value": TEXT}), max_size=3)
# Coerced input values as graphql-core hands them over: every field present (the schema
# publishes a null default), null or a value.
VALUES = st.fixed_dictionaries(
    {
        "to": STRINGS,
        "subject": TEXT,
        "cc": st.none() | STRINGS,
        "bcc": st.none() | STRINGS,
        "text": st.none() | TEXT,
        "html": st.none() | TEXT,
        "fromEmail": st.none() | TEXT,
        "replyTo": st.none() | TEXT,
        "headers": st.none() | HEADERS,
        "smtpConfigId": st.none() | TEXT,
        "idempotencyKey": st.none() | TEXT,
    }
)


def convert(schema: MailsageSchema, value: dict[str, Any]) -> Any:
    return convert_argument(
        value, SendEmailInput, schema.schema_converter.scalar_registry, schema.config
    )


@given(VALUES)
def test_the_hook_builds_the_input_strawberry_would(
    schema: MailsageSchema, value: dict[str, Any]
) -> None:
    context = InputContext(
        info=None,
        config=schema.config,
        scalar_registry=schema.schema_converter.scalar_registry,
        path=(),
    )
    fast = send_input_from_graphql(SendEmailInput, value, context)

    definition = get_object_definition(SendEmailInput, strict=True)
    hook, definition.from_input = definition.from_input, None
    try:
        generic = convert(schema, value)
    finally:
        definition.from_input = hook

    assert fast == generic
    assert send_input_values(fast) == send_input_values(generic)


def test_the_hook_is_what_strawberry_calls(schema: MailsageSchema) -> None:
    value = {"to": ["a@example.org"], "subject": "s", "headers": [{"name": "X", "value": "v"}]}

    converted = convert(schema, value)

    assert isinstance(converted, SendEmailInput)
    assert send_input_values(converted) == {
        "to": ["a@example.org"],
        "subject": "s",
        "headers": [{"name": "X", "value": "v"}],
    }
