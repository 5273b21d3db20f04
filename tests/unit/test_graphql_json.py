"""GraphQL responses are encoded as compact JSON text that decodes to the same data."""

from __future__ import annotations

import json

from mailsage_gql.graphql.view import MailsageGraphQL


def encode(data: object) -> str:
    view = object.__new__(MailsageGraphQL)  # encode_json needs no resources
    return view.encode_json(data)


def test_response_decodes_to_the_same_data() -> None:
    data = {
        "data": {"smtpConfigs": [{"id": "a", "name": "Zürich ✉", "port": 25, "username": None}]},
        "errors": [{"message": "m", "path": ["x", 0], "extensions": {"code": "c"}}],
    }

    encoded = encode(data)

    assert isinstance(encoded, str)
    assert json.loads(encoded) == data
    assert " " not in encode({"a": [1, 2], "b": {"c": True}})


def test_values_orjson_refuses_are_still_encoded() -> None:
    data = {"data": {"big": 2**70, 3: "non-string key"}}

    assert json.loads(encode(data)) == {"data": {"big": 2**70, "3": "non-string key"}}
