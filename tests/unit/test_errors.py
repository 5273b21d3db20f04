"""Given the one error tree, every exception of ours is in it, and one coded `internal_error`
is masked for clients while one with a client code is shown."""

from __future__ import annotations

import inspect

from graphql.error import GraphQLError

from mailsage_gql import errors
from mailsage_gql.errors import MailsageError, PayloadTooLargeError, UnsealError
from mailsage_gql.graphql.errors import translate_error


def test_every_exception_in_errors_is_a_mailsage_error_named_error() -> None:
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]

    assert classes
    for cls in classes:
        assert issubclass(cls, MailsageError), cls
        assert cls.__name__.endswith("Error"), cls
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} missing from the drawing"


def test_an_unseal_failure_is_a_value_error() -> None:
    assert issubclass(UnsealError, ValueError)


def test_an_internal_error_of_ours_is_masked_on_graphql() -> None:
    error = GraphQLError("x", original_error=UnsealError("sealed with unknown key 'abcd1234'"))

    translate_error(error)

    assert error.extensions is not None and error.extensions["code"] == "internal_error"
    assert "abcd1234" not in error.message
    assert "requestId" in error.extensions


def test_a_coded_error_of_ours_is_shown_on_graphql() -> None:
    error = GraphQLError("x", original_error=PayloadTooLargeError("request body is too large"))

    translate_error(error)

    assert error.extensions == {"code": "payload_too_large"}
    assert error.message == "request body is too large"
