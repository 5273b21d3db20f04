"""The one translation point from exceptions to GraphQL errors: codes, fields, masking."""

from __future__ import annotations

import logging
import re
import uuid

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.types.execution import ExecutionResult

from mailsage_gql.errors import MailsageError, SmtpError

log = logging.getLogger("mailsage.graphql")


def camel_case(name: str) -> str:
    """`smtp_config_id` -> `smtpConfigId`; dotted paths (`messages.3.to`) are kept as paths."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


#: Where graphql-core's input-coercion messages start quoting the input: "…, found: {…}",
#: "… Found: {…}", ", but encountered error '…'; found: …" (a whole input object, passwords
#: and secrets included) and the scalars' "… cannot represent <what>: …".
_QUOTED_INPUT = re.compile(
    r"(?:(?P<error>,? but encountered error .*)|\s*[Ff]ound: .*"
    r"|(?<=cannot represent )(?P<scalar>[^:]*?): .*)\Z",
    re.S,
)
#: The enum's "Value '<input>' does not exist in 'E' enum."
_QUOTED_ENUM_VALUE = re.compile(r"Value .* (does not exist in '\w+' enum)", re.S)
#: The parser's token descriptions: 'Expected Name, found String "<input>".'
_QUOTED_STRING_TOKEN = re.compile(r"\b(String|BlockString) \".*\"", re.S)


def _unquoted(match: re.Match[str]) -> str:
    if match["error"]:
        return ", found a value it cannot represent"
    return match["scalar"] or ""


def without_input_values(message: str) -> str:
    """A graphql-core syntax, validation or coercion message with every quoted input value
    cut out.

    Security: coercion messages quote the offending value whole, and a value may hold an SMTP
    password, a webhook secret or a token. What stays names only types, fields, variables
    and paths of the schema, which the client wrote or can read by introspection."""
    cut = _QUOTED_ENUM_VALUE.sub(r"Value \1", message)
    cut = _QUOTED_STRING_TOKEN.sub(r"\1", cut)
    cut = _QUOTED_INPUT.sub(_unquoted, cut).rstrip(" .,;")
    return cut if cut.endswith("?") else cut + "."


def error_extensions(exc: MailsageError) -> dict[str, object]:
    extensions: dict[str, object] = {"code": exc.code}
    if exc.field is not None:
        extensions["field"] = camel_case(exc.field)
    if isinstance(exc, SmtpError):
        for key, value in (
            ("stage", exc.stage),
            ("smtpCode", exc.smtp_code),
            ("enhancedCode", exc.enhanced_code),
        ):
            if value is not None:
                extensions[key] = value
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        extensions["retryAfter"] = retry_after
    return extensions


def translate_error(error: GraphQLError) -> None:
    """Rewrite `error` in place: our errors keep their message and gain a code; anything
    unexpected (ours coded `internal_error` included) is masked and logged with a request id
    the client can quote; parse and validation errors get a code too. Idempotent: strawberry
    reaches errors through more than one path (results, subscriptions, pre-execution)."""
    if getattr(error, "_mailsage_translated", False):
        return
    original = error.original_error
    if isinstance(original, MailsageError) and original.code != MailsageError.code:
        extensions = error_extensions(original)
        message = original.message
    elif original is None or isinstance(original, GraphQLError):
        # Raised by graphql-core itself: syntax, validation, variable coercion.
        syntax = "Syntax Error" in error.message
        extensions = {"code": "graphql_parse_failed" if syntax else "graphql_validation_failed"}
        message = without_input_values(error.message)
    else:
        request_id = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error in %s (request id %s)",
            ".".join(map(str, error.path or [])) or "operation",
            request_id,
            exc_info=(type(original), original, original.__traceback__),
        )
        extensions = {"code": "internal_error", "requestId": request_id}
        message = f"Internal error (request id {request_id})."
        error.original_error = None
    error.message = message
    error.extensions = extensions
    error._mailsage_translated = True  # type: ignore[attr-defined]


def translate_result_errors(result: object) -> None:
    """Translate every error of an operation's result (see `translate_error`)."""
    if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) and result.errors:
        for error in result.errors:
            translate_error(error)
