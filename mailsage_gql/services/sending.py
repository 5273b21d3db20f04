"""Accepting mail: validation, idempotency and the durable enqueue behind sendEmail/sendBatch."""

from __future__ import annotations

import functools
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
from mailsage_gql.delivery import outbox
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

    record: MessageRecord | None = None
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


def _key_conflict() -> ConflictError:
    return ConflictError(
        "this idempotencyKey was already used with a different message", field="idempotency_key"
    )


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
        raise _key_conflict()
    return original


_json = functools.partial(json.dumps, separators=(",", ":"))  # as Tortoise's JSONField stores
# Columns a new message sets; the others start NULL. Constant per batch: account, status,
# counters and times.
_INSERT_SQLITE = (
    'INSERT INTO message (id, account_id, status, from_email, reply_to, "to", cc, bcc, subject, '
    "text, html, headers, message_id_header, requested_config_id, idempotency_key, "
    "payload_hash, attempt_count, next_attempt_at, recipient_count, deferrals, created_at, "
    "updated_at) VALUES (?, ?, 'QUEUED', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 0, ?, ?)"
)
# PostgreSQL: one statement per batch whatever its size (one array per column), so the
# prepared statement is reused.
_INSERT_POSTGRES = (
    'INSERT INTO message (id, account_id, status, from_email, reply_to, "to", cc, bcc, subject, '
    "text, html, headers, message_id_header, requested_config_id, idempotency_key, "
    "payload_hash, attempt_count, next_attempt_at, recipient_count, deferrals, created_at, "
    "updated_at) SELECT m.id, ?, 'QUEUED', m.from_email, m.reply_to, m.to_::jsonb, "
    "m.cc::jsonb, m.bcc::jsonb, m.subject, m.text, m.html, m.headers::jsonb, "
    "m.message_id_header, m.config_id, m.idempotency_key, m.payload_hash, 0, ?, "
    "m.recipient_count, 0, ?, ? FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], "
    "?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::uuid[], "
    "?::text[], ?::text[], ?::int[]) AS m(id, from_email, reply_to, to_, cc, bcc, subject, "
    "text, html, headers, message_id_header, config_id, idempotency_key, payload_hash, "
    "recipient_count)"
)


def _new_record(
    clean: CleanMessage, config: SmtpConfig, now: datetime
) -> tuple[MessageRecord, str]:
    """The record of a message about to be queued, and the payload hash to store with it."""
    message_id = uuid.uuid4()
    domain = (clean.from_email or config.from_email).rsplit("@", 1)[1]
    record = MessageRecord(
        id=message_id,
        status=MessageStatus.QUEUED,
        from_email=clean.from_email or config.from_email,
        to=clean.to,
        cc=clean.cc,
        bcc=clean.bcc,
        subject=clean.subject,
        rfc_message_id=new_message_id(domain, message_id.hex),
        requested_config_id=config.id,
        delivered_config_id=None,
        attempts=[],
        last_error=None,
        idempotency_key=clean.idempotency_key,
        created_at=now,
        sent_at=None,
        next_attempt_at=now,
    )
    # Only a key is ever compared with its hash (sendEmail/sendBatch repeats): a message sent
    # without one stores none, which saves hashing each body again.
    return record, clean.payload_hash() if clean.idempotency_key is not None else ""


async def _insert(
    connection: BaseDBAsyncClient,
    account_id: uuid.UUID,
    batch: list[tuple[CleanMessage, SmtpConfig]],
    now: datetime,
) -> list[MessageRecord]:
    """Insert messages and their QUEUED events in bulk, in the caller's transaction.

    Rows are written with hand-written SQL rather than ORM instances (building a model per
    message cost more than the statement); the values are those the ORM would store.
    """
    if not batch:
        return []
    sql = RawSql(connection)
    made = [_new_record(clean, config, now) for clean, config in batch]
    cleans = [clean for clean, _ in batch]
    if sql.postgres:
        count = await sql.execute(
            _INSERT_POSTGRES,
            account_id,
            now,
            now,
            now,
            [r.id for r, _ in made],
            [c.from_email for c in cleans],
            [c.reply_to for c in cleans],
            [_json(c.to) if c.to else "[]" for c in cleans],
            [_json(c.cc) if c.cc else "[]" for c in cleans],
            [_json(c.bcc) if c.bcc else "[]" for c in cleans],
            [c.subject for c in cleans],
            [c.text for c in cleans],
            [c.html for c in cleans],
            [_json(c.headers) if c.headers else "[]" for c in cleans],
            [r.rfc_message_id for r, _ in made],
            [r.requested_config_id for r, _ in made],
            [c.idempotency_key for c in cleans],
            [h for _, h in made],
            [len(c.to) + len(c.cc) + len(c.bcc) for c in cleans],
        )
        if count != len(made):
            raise RuntimeError(f"inserted {count} of {len(made)} messages")
    else:
        account, at = sql.param(account_id), sql.param(now)
        await sql.execute_many(
            _INSERT_SQLITE,
            [
                [
                    str(r.id),
                    account,
                    c.from_email,
                    c.reply_to,
                    _json(c.to) if c.to else "[]",
                    _json(c.cc) if c.cc else "[]",
                    _json(c.bcc) if c.bcc else "[]",
                    c.subject,
                    c.text,
                    c.html,
                    _json(c.headers) if c.headers else "[]",
                    r.rfc_message_id,
                    str(r.requested_config_id),
                    c.idempotency_key,
                    payload_hash,
                    at,
                    len(c.to) + len(c.cc) + len(c.bcc),
                    at,
                    at,
                ]
                for (r, payload_hash), c in zip(made, cleans, strict=True)
            ],
        )
    await outbox.insert_many_events(
        sql,
        [
            (account_id, r.id, outbox.Event("QUEUED", smtp_config_id=config.id))
            for (r, _), (_, config) in zip(made, batch, strict=True)
        ],
        now,
    )
    return [r for r, _ in made]


async def send_email(
    account_id: uuid.UUID, data: Mapping[str, Any], *, settings: Settings, notify: Notify
) -> MessageRecord:
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
            if original is None:
                config = await _routing(account_id, clean)
                (record,) = await _insert(connection, account_id, [(clean, config)], now)
    except IntegrityError:
        # A concurrent request with the same idempotency key won the race: answer with its result.
        original = await _existing(account_id, clean, window=window, now=now)
        if original is None:
            raise
    if original is not None:
        (record,) = await message_records([original])
        return record
    await notify()
    return record


_KEYS_PER_QUERY = 500


async def _originals(
    account_id: uuid.UUID, keys: list[str], *, window: timedelta, now: datetime
) -> dict[str, Message]:
    """The messages that still hold one of `keys` within the window, by key, in one query per
    500 keys; expired keys are freed for new messages (see _existing)."""
    found: dict[str, Message] = {}
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        for original in await Message.filter(account_id=account_id, idempotency_key__in=chunk):
            if now - original.created_at >= window:
                await Message.filter(id=original.id).update(idempotency_key=None)
            elif original.idempotency_key is not None:
                found[original.idempotency_key] = original
    return found


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
    found: list[tuple[int, Message]] = []  # (item, original of its idempotency key)
    async with in_transaction() as connection:
        keys = list({c.idempotency_key for _, c in cleaned if c.idempotency_key is not None})
        originals = await _originals(account_id, keys, window=window, now=now) if keys else {}
        pending: list[tuple[int, CleanMessage, SmtpConfig]] = []
        by_key: dict[str, tuple[int, CleanMessage]] = {}
        repeats: list[tuple[int, int]] = []  # (item, first item with the same key)
        for index, clean in cleaned:
            try:
                key = clean.idempotency_key
                if key is not None and key in by_key:
                    first, first_clean = by_key[key]
                    if first_clean.payload_hash() != clean.payload_hash():
                        raise _key_conflict()
                    repeats.append((index, first))
                    continue
                original = originals.get(key) if key is not None else None
                if original is not None:
                    if original.payload_hash != clean.payload_hash():
                        raise _key_conflict()
                    found.append((index, original))
                    if key is not None:
                        by_key[key] = (index, clean)
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
    for (index, _, _), record in zip(pending, inserted, strict=True):
        results[index] = BatchItem(record=record)
    if found:
        records = await message_records([m for _, m in found])
        for (index, _), record in zip(found, records, strict=True):
            results[index] = BatchItem(record=record)
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
