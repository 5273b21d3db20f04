"""Strawberry types for sending: inputs, messages, attempts, batches and config tests."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from mailsage_gql.errors import MailsageError
from mailsage_gql.graphql.errors import camel_case
from mailsage_gql.services.config_checks import SmtpTestResult as SmtpTestRecord
from mailsage_gql.services.sending import AttemptRecord, MessageRecord


@strawberry.enum(description="QUEUED -> SENDING -> SENT | DEFERRED | FAILED | UNCERTAIN")
class MessageStatus(Enum):
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    DEFERRED = "DEFERRED"
    FAILED = "FAILED"
    UNCERTAIN = strawberry.enum_value(
        "UNCERTAIN",
        description="The connection died after the message was handed over: it may have been "
        "delivered. Never resent automatically.",
    )


@strawberry.input
class HeaderInput:
    name: str
    value: str


@strawberry.input(description="One message. Give text, html or both.")
class SendEmailInput:
    to: list[str]
    subject: str
    cc: list[str] | None = None
    bcc: list[str] | None = None
    text: str | None = None
    html: str | None = None
    from_email: str | None = strawberry.field(
        default=None, description="Defaults to the delivering config's fromEmail."
    )
    reply_to: str | None = None
    headers: list[HeaderInput] | None = None
    smtp_config_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the account's default config."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="The same key with the same payload within 24 h returns the original.",
    )


#: GraphQL input field name -> SendEmailInput attribute (tests/unit/test_send_input.py checks
#: this against the built schema).
_SEND_INPUT = get_object_definition(SendEmailInput, strict=True)
SEND_INPUT_NAMES = {to_camel_case(f.python_name): f.python_name for f in _SEND_INPUT.fields}


def send_input_from_graphql(
    cls: type[SendEmailInput], value: Mapping[str, Any], context: InputContext
) -> SendEmailInput:
    """Build a SendEmailInput from its coerced GraphQL value (keyed by GraphQL names).

    Instead of Strawberry's generic conversion, which resolves the type of every field of
    every item: graphql-core has already checked every type and required field, so values are
    taken as they are.
    """
    kwargs = {SEND_INPUT_NAMES[k]: v for k, v in value.items()}
    headers = kwargs.get("headers")
    if headers is not None:
        kwargs["headers"] = [HeaderInput(name=h["name"], value=h["value"]) for h in headers]
    return cls(**kwargs)


# The hook strawberry calls instead of its generic conversion (StrawberryObjectDefinition).
_SEND_INPUT.from_input = send_input_from_graphql


def send_input_values(data: SendEmailInput) -> dict[str, Any]:
    """The snake_case mapping the sending service validates (unset and null fields left out)."""
    values = {k: v for k, v in vars(data).items() if v is not None and not k.startswith("_")}
    if data.headers is not None:
        values["headers"] = [{"name": h.name, "value": h.value} for h in data.headers]
    return values


@strawberry.type
class ErrorInfo:
    code: str
    message: str


@strawberry.type
class DeliveryAttempt:
    number: int
    smtp_config_id: strawberry.ID | None
    started_at: datetime
    ended_at: datetime
    outcome: str = strawberry.field(description="sent, failed, failover or uncertain")
    smtp_code: int | None
    enhanced_code: str | None
    reply: str | None
    error_code: str | None
    duration_ms: float

    @classmethod
    def from_record(cls, r: AttemptRecord) -> DeliveryAttempt:
        return cls(
            number=r.number,
            smtp_config_id=strawberry.ID(str(r.smtp_config_id)) if r.smtp_config_id else None,
            started_at=r.started_at,
            ended_at=r.ended_at,
            outcome=r.outcome,
            smtp_code=r.smtp_code,
            enhanced_code=r.enhanced_code,
            reply=r.reply,
            error_code=r.error_code,
            duration_ms=r.duration_ms,
        )


@strawberry.type
class Message:
    id: strawberry.ID
    status: MessageStatus
    from_: str | None = strawberry.field(name="from")
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    rfc_message_id: str = strawberry.field(description="The Message-ID header.")
    smtp_config_id: strawberry.ID | None = strawberry.field(
        description="The config that delivered it (or, before that, the one it was sent to)."
    )
    attempts: list[DeliveryAttempt]
    last_error: ErrorInfo | None
    idempotency_key: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_record(cls, r: MessageRecord) -> Message:
        config_id = r.delivered_config_id or r.requested_config_id
        return cls(
            id=strawberry.ID(str(r.id)),
            status=MessageStatus(r.status.value),
            from_=r.from_email,
            to=r.to,
            cc=r.cc,
            bcc=r.bcc,
            subject=r.subject,
            rfc_message_id=r.rfc_message_id,
            smtp_config_id=strawberry.ID(str(config_id)) if config_id else None,
            attempts=[DeliveryAttempt.from_record(a) for a in r.attempts],
            last_error=ErrorInfo(code=r.last_error[0], message=r.last_error[1])
            if r.last_error
            else None,
            idempotency_key=r.idempotency_key,
            created_at=r.created_at,
            sent_at=r.sent_at,
            next_attempt_at=r.next_attempt_at,
        )


@strawberry.type
class BatchItemError:
    code: str
    message: str
    field: str | None

    @classmethod
    def from_error(cls, exc: MailsageError) -> BatchItemError:
        return cls(
            code=exc.code,
            message=exc.message,
            field=camel_case(exc.field) if exc.field else None,
        )


@strawberry.type
class BatchItemResult:
    index: int
    message: Message | None
    error: BatchItemError | None


@strawberry.type
class BatchResult:
    queued: int
    failed: int
    items: list[BatchItemResult]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo


def encode_cursor(created_at: datetime, message_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{message_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    """None when the cursor is not one of ours."""
    try:
        created, message_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), uuid.UUID(message_id)
    except (ValueError, UnicodeDecodeError):
        return None


@strawberry.type
class SmtpTestResult:
    ok: bool
    duration_ms: float
    smtp_response: str

    @classmethod
    def from_record(cls, r: SmtpTestRecord) -> SmtpTestResult:
        return cls(ok=r.ok, duration_ms=r.duration_ms, smtp_response=r.smtp_response)
