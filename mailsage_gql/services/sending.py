"""Accepting mail: validation, idempotency and the durable enqueue behind sendEmail/sendBatch."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery import queue
from mailsage_gql.delivery.clock import utc_now
from mailsage_gql.delivery.rendering import new_message_id
from mailsage_gql.errors import ConflictError, MailsageError, NotFoundError, ValidationError
from mailsage_gql.models import Message, MessageStatus, SmtpConfig
from mailsage_gql.services import validation as v
from mailsage_gql.settings import Settings

FIELDS = frozenset(
    {
        "to",
        "cc",
        "bcc",
        "subject",
        "text",
        "html",
        "from_email",
        "reply_to",
        "headers",
        "smtp_config_id",
        "idempotency_key",
    }
)
MAX_RECIPIENTS = 50
# Header field names (RFC 5322 ftext) and headers the service writes itself or that
# would change routing or authenticity: never taken from a caller.
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "Reply-To",
        "Sender",
        "Return-Path",
        "Received",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "DKIM-Signature",
        "ARC-Seal",
        "ARC-Message-Signature",
        "ARC-Authentication-Results",
        "Authentication-Results",
        "Resent-From",
        "Resent-To",
        "Resent-Cc",
        "Resent-Bcc",
        "Resent-Date",
        "Resent-Sender",
        "Resent-Message-ID",
    )
)

#: Called after a commit that queued work; the composition root wires it to the senders.
Notify = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class CleanMessage:
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    text: str | None
    html: str | None
    from_email: str | None
    reply_to: str | None
    headers: list[list[str]]
    smtp_config_id: uuid.UUID | None
    idempotency_key: str | None

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]

    def payload_hash(self) -> str:
        """What idempotency compares: every field but the key itself."""
        data = {k: v for k, v in vars(self).items() if k != "idempotency_key"}
        data["smtp_config_id"] = str(self.smtp_config_id) if self.smtp_config_id else None
        encoded = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch: the message, or the error that refused it."""

    message: Message | None = None
    error: MailsageError | None = None


def _optional_email(data: Mapping[str, Any], field: str) -> str | None:
    value = data.get(field)
    return None if value in (None, "") else v.check_email(value, field=field)


def _headers(value: Any) -> list[list[str]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 50:
        raise ValidationError(
            "headers must be a list of at most 50 name/value pairs", field="headers"
        )
    headers: list[list[str]] = []
    for item in value:
        if not isinstance(item, Mapping) or set(item) != {"name", "value"}:
            raise ValidationError("each header is {name, value}", field="headers")
        name = v.check_text(item["name"], field="headers", min_length=1, max_length=76)
        if not _HEADER_NAME.match(name):
            raise ValidationError(
                f"header name {name!r} is not a valid field name", field="headers"
            )
        if name.lower() in RESERVED_HEADERS:
            raise ValidationError(
                f"header {name} is set by MailSage and cannot be given", field="headers"
            )
        headers.append([name, v.check_text(item["value"], field="headers", max_length=998)])
    return headers


def clean_message(data: Mapping[str, Any], *, settings: Settings) -> CleanMessage:
    """Validate one SendEmailInput (snake_case keys).

    Security: CR, LF and NUL are refused in every address, the subject and header values
    (header injection), never silently stripped.

    :raises ValidationError: with the offending field.
    """
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]}", field=unknown[0])
    to = v.check_email_list(data.get("to"), field="to", minimum=1, maximum=MAX_RECIPIENTS)
    cc = v.check_email_list(data.get("cc") or [], field="cc", minimum=0, maximum=MAX_RECIPIENTS)
    bcc = v.check_email_list(data.get("bcc") or [], field="bcc", minimum=0, maximum=MAX_RECIPIENTS)
    subject = v.check_text(data.get("subject", ""), field="subject", max_length=998)
    text = data.get("text")
    html = data.get("html")
    if text is not None:
        text = v.check_text(
            text, field="text", max_length=settings.max_message_bytes, multiline=True
        )
    if html is not None:
        html = v.check_text(
            html, field="html", max_length=settings.max_message_bytes, multiline=True
        )
    if not text and not html:
        raise ValidationError("give text, html or both", field="text")
    size = len(subject) + len((text or "").encode()) + len((html or "").encode())
    if size > settings.max_message_bytes:
        raise ValidationError(
            f"message is larger than {settings.max_message_bytes} bytes",
            field="html" if html and len(html) > len(text or "") else "text",
        )
    config_id = data.get("smtp_config_id")
    parsed_config: uuid.UUID | None = None
    if config_id not in (None, ""):
        try:
            parsed_config = uuid.UUID(str(config_id))
        except ValueError:
            raise NotFoundError(
                f"SMTP config {config_id} not found", field="smtp_config_id"
            ) from None
    key = data.get("idempotency_key")
    if key is not None:
        key = v.check_text(key, field="idempotency_key", min_length=1, max_length=255)
    return CleanMessage(
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        text=text,
        html=html,
        from_email=_optional_email(data, "from_email"),
        reply_to=_optional_email(data, "reply_to"),
        headers=_headers(data.get("headers")),
        smtp_config_id=parsed_config,
        idempotency_key=key,
    )


async def _routing(account_id: uuid.UUID, clean: CleanMessage) -> SmtpConfig:
    """The config a message starts with: the requested one, or the account's default."""
    if clean.smtp_config_id is not None:
        config = await SmtpConfig.get_or_none(id=clean.smtp_config_id, account_id=account_id)
        if config is None:
            raise NotFoundError(
                f"SMTP config {clean.smtp_config_id} not found", field="smtp_config_id"
            )
        return config
    config = await SmtpConfig.get_or_none(account_id=account_id, is_default=True)
    if config is None:
        raise ValidationError(
            "no smtpConfigId given and the account has no default SMTP config",
            field="smtp_config_id",
        )
    return config


async def _existing(
    account_id: uuid.UUID, clean: CleanMessage, *, window: timedelta, now: datetime
) -> Message | None:
    """The original for a repeated idempotency key, or None to accept a new message.

    :raises ConflictError: the key was used with another payload within the window.
    """
    if clean.idempotency_key is None:
        return None
    original = await Message.get_or_none(
        account_id=account_id, idempotency_key=clean.idempotency_key
    )
    if original is None:
        return None
    if now - original.created_at >= window:
        # The key has expired: free it for the new message.
        await Message.filter(id=original.id).update(idempotency_key=None)
        return None
    if original.payload_hash != clean.payload_hash():
        raise ConflictError(
            "this idempotencyKey was already used with a different message",
            field="idempotency_key",
        )
    return original


def _new_message(
    account_id: uuid.UUID, clean: CleanMessage, config: SmtpConfig, now: datetime
) -> Message:
    message_id = uuid.uuid4()
    domain = (clean.from_email or config.from_email).rsplit("@", 1)[1]
    return Message(
        id=message_id,
        account_id=account_id,
        status=MessageStatus.QUEUED,
        from_email=clean.from_email,
        reply_to=clean.reply_to,
        to=clean.to,
        cc=clean.cc,
        bcc=clean.bcc,
        subject=clean.subject,
        text=clean.text,
        html=clean.html,
        headers=clean.headers,
        message_id_header=new_message_id(domain, message_id.hex),
        requested_config_id=config.id,
        idempotency_key=clean.idempotency_key,
        payload_hash=clean.payload_hash(),
        next_attempt_at=now,
        recipient_count=len(clean.recipients),
        created_at=now,
        updated_at=now,
        attempt_count=0,
        deferrals=0,
    )


async def _insert(
    connection: BaseDBAsyncClient,
    account_id: uuid.UUID,
    batch: list[tuple[CleanMessage, SmtpConfig]],
    now: datetime,
) -> list[Message]:
    """Insert messages and their QUEUED events in bulk, in the caller's transaction."""
    messages = [_new_message(account_id, clean, config, now) for clean, config in batch]
    await Message.bulk_create(messages, batch_size=500, using_db=connection)
    await queue.insert_many_events(
        RawSql(connection),
        [
            (account_id, m.id, queue.Event("QUEUED", smtp_config_id=config.id))
            for m, (_, config) in zip(messages, batch, strict=True)
        ],
        now,
    )
    return messages


async def send_email(
    account_id: uuid.UUID, data: Mapping[str, Any], *, settings: Settings, notify: Notify
) -> Message:
    """Validate and queue one message; returns once it is committed (durable).

    :raises ValidationError: bad input. :raises ConflictError: idempotency key reused with
        another payload. :raises NotFoundError: smtpConfigId unknown or not yours.
    """
    clean = clean_message(data, settings=settings)
    now = utc_now()
    window = timedelta(seconds=settings.idempotency_window)
    try:
        async with in_transaction() as connection:
            original = await _existing(account_id, clean, window=window, now=now)
            if original is not None:
                return original
            config = await _routing(account_id, clean)
            (message,) = await _insert(connection, account_id, [(clean, config)], now)
    except IntegrityError:
        # A concurrent request with the same idempotency key won the race: answer with its result.
        original = await _existing(account_id, clean, window=window, now=now)
        if original is None:
            raise
        return original
    await notify()
    return message


async def send_batch(
    account_id: uuid.UUID,
    items: Sequence[Mapping[str, Any]],
    *,
    settings: Settings,
    notify: Notify,
) -> list[BatchItem]:
    """Queue up to `max_batch_size` messages in one transaction; an item that fails validation
    is reported with its error and does not stop the others."""
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise ValidationError("messages must be a list", field="messages")
    if not 1 <= len(items) <= settings.max_batch_size:
        raise ValidationError(
            f"a batch has 1 to {settings.max_batch_size} messages", field="messages"
        )
    now = utc_now()
    window = timedelta(seconds=settings.idempotency_window)
    results: list[BatchItem] = []
    cleaned: list[tuple[int, CleanMessage]] = []
    for index, data in enumerate(items):
        try:
            if not isinstance(data, Mapping):
                raise ValidationError("each message must be an object", field="messages")
            cleaned.append((index, clean_message(data, settings=settings)))
            results.append(BatchItem())
        except MailsageError as exc:
            results.append(BatchItem(error=exc))
    configs: dict[uuid.UUID | None, SmtpConfig] = {}
    async with in_transaction() as connection:
        pending: list[tuple[int, CleanMessage, SmtpConfig]] = []
        by_key: dict[str, tuple[int, CleanMessage]] = {}
        repeats: list[tuple[int, int]] = []  # (item, first item with the same key)
        for index, clean in cleaned:
            try:
                key = clean.idempotency_key
                if key is not None and key in by_key:
                    first, first_clean = by_key[key]
                    if first_clean.payload_hash() != clean.payload_hash():
                        raise ConflictError(
                            "this idempotencyKey was already used with a different message",
                            field="idempotency_key",
                        )
                    repeats.append((index, first))
                    continue
                original = await _existing(account_id, clean, window=window, now=now)
                if original is not None:
                    results[index] = BatchItem(message=original)
                    continue
                config = configs.get(clean.smtp_config_id)
                if config is None:
                    config = configs[clean.smtp_config_id] = await _routing(account_id, clean)
                pending.append((index, clean, config))
                if key is not None:
                    by_key[key] = (index, clean)
            except MailsageError as exc:
                results[index] = BatchItem(error=exc)
        inserted = await _insert(connection, account_id, [(c, cfg) for _, c, cfg in pending], now)
        for (index, _, _), message in zip(pending, inserted, strict=True):
            results[index] = BatchItem(message=message)
        for index, first in repeats:
            results[index] = results[first]
    if inserted:
        await notify()
    return results


async def get_message(account_id: uuid.UUID, message_id: uuid.UUID | str) -> Message | None:
    """None when unknown, malformed or another account's."""
    try:
        parsed = uuid.UUID(str(message_id))
    except ValueError:
        return None
    return await Message.get_or_none(id=parsed, account_id=account_id)


async def list_messages(
    account_id: uuid.UUID,
    *,
    status: str | None,
    first: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[Message], bool]:
    """Newest first; `after` is the (created_at, id) of the last message of the previous page.
    Returns the page and whether there are more."""
    if not 1 <= first <= 200:
        raise ValidationError("first must be between 1 and 200", field="first")
    query = Message.filter(account_id=account_id)
    if status is not None:
        try:
            query = query.filter(status=MessageStatus(status))
        except ValueError:
            raise ValidationError(f"unknown status {status}", field="status") from None
    if after is not None:
        created_at, last_id = after
        query = query.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=last_id)
        )
    rows = await query.order_by("-created_at", "-id").limit(first + 1)
    return rows[:first], len(rows) > first


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    smtp_config_id: uuid.UUID | None
    started_at: datetime
    ended_at: datetime
    outcome: str
    smtp_code: int | None
    enhanced_code: str | None
    reply: str | None
    error_code: str | None
    duration_ms: float


@dataclass(frozen=True)
class MessageRecord:
    """What either face shows of a message."""

    id: uuid.UUID
    status: MessageStatus
    from_email: str | None
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    rfc_message_id: str
    requested_config_id: uuid.UUID | None
    delivered_config_id: uuid.UUID | None
    attempts: list[AttemptRecord]
    last_error: tuple[str, str] | None
    idempotency_key: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


async def message_records(messages: Sequence[Message]) -> list[MessageRecord]:
    """Records for `messages`, their attempts and senders loaded in two queries in all."""
    from mailsage_gql.models import DeliveryAttempt

    ids = [m.id for m in messages]
    attempts: dict[uuid.UUID, list[AttemptRecord]] = {i: [] for i in ids}
    for a in await DeliveryAttempt.filter(message_id__in=ids).order_by("id"):
        attempts[a.message_id].append(
            AttemptRecord(
                number=a.number,
                smtp_config_id=a.config_id,
                started_at=a.started_at,
                ended_at=a.ended_at,
                outcome=a.outcome,
                smtp_code=a.smtp_code,
                enhanced_code=a.enhanced_code,
                reply=a.reply,
                error_code=a.error_code,
                duration_ms=a.duration_ms,
            )
        )
    config_ids = {m.delivered_config_id or m.requested_config_id for m in messages} - {None}
    senders = dict(await SmtpConfig.filter(id__in=list(config_ids)).values_list("id", "from_email"))
    senders = {uuid.UUID(str(k)): v for k, v in senders.items()}
    records = []
    for m in messages:
        config_id = m.delivered_config_id or m.requested_config_id
        records.append(
            MessageRecord(
                id=m.id,
                status=MessageStatus(m.status),
                from_email=m.from_email or (senders.get(config_id) if config_id else None),
                to=list(m.to),
                cc=list(m.cc),
                bcc=list(m.bcc),
                subject=m.subject,
                rfc_message_id=m.message_id_header,
                requested_config_id=m.requested_config_id,
                delivered_config_id=m.delivered_config_id,
                attempts=attempts[m.id],
                last_error=(m.last_error_code, m.last_error_message or "")
                if m.last_error_code and m.status != MessageStatus.SENT
                else None,
                idempotency_key=m.idempotency_key,
                created_at=m.created_at,
                sent_at=m.sent_at,
                next_attempt_at=m.next_attempt_at
                if m.status in (MessageStatus.QUEUED, MessageStatus.DEFERRED)
                else None,
            )
        )
    return records
