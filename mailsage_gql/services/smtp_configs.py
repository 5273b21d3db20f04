"""SMTP configurations of an account: validation, sealing, default switching and usage."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cachetools import LRUCache
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from mailsage_gql import host_policy
from mailsage_gql.crypto import Keyring
from mailsage_gql.database import RawSql
from mailsage_gql.delivery.clock import next_reset, utc_day, utc_now
from mailsage_gql.errors import ConflictError, NotFoundError, ValidationError
from mailsage_gql.models import Account, SmtpConfig, SmtpUsage
from mailsage_gql.services import validation as v

DEFAULTS: dict[str, Any] = {
    "username": None,
    "password": None,
    "use_tls": True,
    "is_default": False,
    "daily_limit": 100,
    "max_per_minute": None,
    "priority": 100,
    "max_connections": 2,
}
REQUIRED = ("name", "host", "port", "from_email")
FIELDS = frozenset((*REQUIRED, *DEFAULTS))
MAX_DAILY_LIMIT = 10_000_000


@dataclass(frozen=True)
class SmtpConfigRecord:
    """What either face may show of a config. Deliberately has no password field."""

    id: uuid.UUID
    name: str
    host: str
    port: int
    username: str | None
    use_tls: bool
    from_email: str
    is_default: bool
    daily_limit: int
    max_per_minute: int | None
    sent_today: int
    remaining_today: int
    resets_at: datetime
    has_password: bool
    priority: int
    max_connections: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: SmtpConfig, *, sent_today: int, now: datetime) -> SmtpConfigRecord:
        return cls(
            id=row.id,
            name=row.name,
            host=row.host,
            port=row.port,
            username=row.username,
            use_tls=row.use_tls,
            from_email=row.from_email,
            is_default=row.is_default,
            daily_limit=row.daily_limit,
            max_per_minute=row.max_per_minute,
            sent_today=sent_today,
            remaining_today=max(row.daily_limit - sent_today, 0),
            resets_at=next_reset(now),
            has_password=row.password_sealed is not None,
            priority=row.priority,
            max_connections=row.max_connections,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def password_context(config_id: uuid.UUID) -> str:
    """Associated data binding a sealed password to its row and column."""
    return f"smtp_config:{config_id}:password"


def _clean(field: str, value: Any, *, allow_private_hosts: bool = True) -> Any:
    """One field's rule; `field` is the snake_case input name."""
    if value is None and field in REQUIRED:
        raise ValidationError(f"{field} is required", field=field)
    match field:
        case "name":
            name = v.check_text(value, field=field, min_length=1, max_length=100)
            if not name.strip():
                raise ValidationError("name must not be blank", field=field)
            return name
        case "host":
            # An early refusal; the host is resolved and checked before every connection.
            host = host_policy.check_host(value, target=host_policy.SMTP_HOST)
            return host_policy.check_literal(
                host, target=host_policy.SMTP_HOST, allow_private=allow_private_hosts
            )
        case "port":
            return v.check_port(value, field=field)
        case "from_email":
            return v.check_email(value, field=field)
        case "username":
            if value is None or value == "":
                return None
            return v.check_text(value, field=field, max_length=320)
        case "password":
            if value is None or value == "":
                return None
            return v.check_text(value, field=field, max_length=1024)
        case "use_tls" | "is_default":
            return v.check_bool(value, field=field)
        case "daily_limit":
            return v.check_int(value, field=field, minimum=1, maximum=MAX_DAILY_LIMIT)
        case "max_per_minute":
            if value is None:
                return None
            return v.check_int(value, field=field, minimum=1, maximum=1_000_000)
        case "priority":
            return v.check_int(value, field=field, minimum=0, maximum=1_000_000)
        case "max_connections":
            return v.check_int(value, field=field, minimum=1, maximum=100)
    raise ValidationError(f"unknown field {field}", field=field)


def _clean_all(
    data: Mapping[str, Any], *, partial: bool, allow_private_hosts: bool = True
) -> dict[str, Any]:
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]}", field=unknown[0])
    if not partial:
        for field in REQUIRED:
            if field not in data:
                raise ValidationError(f"{field} is required", field=field)
    return {
        field: _clean(field, value, allow_private_hosts=allow_private_hosts)
        for field, value in data.items()
    }


def _parse_id(config_id: uuid.UUID | str) -> uuid.UUID | None:
    try:
        return config_id if isinstance(config_id, uuid.UUID) else uuid.UUID(str(config_id))
    except ValueError:
        return None


async def _sent_today(config_ids: list[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
    if not config_ids:
        return {}
    rows = await SmtpUsage.filter(config_id__in=config_ids, day=utc_day(now)).values_list(
        "config_id", "sent"
    )
    return {uuid.UUID(str(cid)): sent for cid, sent in rows}


async def _record(row: SmtpConfig) -> SmtpConfigRecord:
    now = utc_now()
    sent = (await _sent_today([row.id], now)).get(row.id, 0)
    return SmtpConfigRecord.from_model(row, sent_today=sent, now=now)


#: The columns of a record, and today's usage by a LEFT JOIN: one round trip per read.
_RECORD_SELECT = (
    "SELECT c.id AS id, c.name AS name, c.host AS host, c.port AS port, "
    "c.username AS username, c.use_tls AS use_tls, c.from_email AS from_email, "
    "c.is_default AS is_default, c.daily_limit AS daily_limit, "
    "c.max_per_minute AS max_per_minute, c.password_sealed IS NOT NULL AS has_password, "
    "c.priority AS priority, c.max_connections AS max_connections, "
    "c.created_at AS created_at, c.updated_at AS updated_at, COALESCE(u.sent, 0) AS sent "
    "FROM smtp_config c LEFT JOIN smtp_usage u ON u.config_id = c.id AND u.day = ? "
    "WHERE c.account_id = ?"
)


def _aware(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back text)."""
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _from_row(row: Sequence[Any], *, resets_at: datetime) -> SmtpConfigRecord:
    """A record from one `_RECORD_SELECT` row (its columns in order). The sealed password is
    not even selected: only whether there is one."""
    (
        config_id,
        name,
        host,
        port,
        username,
        use_tls,
        from_email,
        is_default,
        daily_limit,
        max_per_minute,
        has_password,
        priority,
        max_connections,
        created_at,
        updated_at,
        sent,
    ) = row
    return SmtpConfigRecord(
        id=config_id if isinstance(config_id, uuid.UUID) else uuid.UUID(config_id),
        name=name,
        host=host,
        port=port,
        username=username,
        use_tls=bool(use_tls),
        from_email=from_email,
        is_default=bool(is_default),
        daily_limit=daily_limit,
        max_per_minute=max_per_minute,
        sent_today=sent,
        remaining_today=max(daily_limit - sent, 0),
        resets_at=resets_at,
        has_password=bool(has_password),
        priority=priority,
        max_connections=max_connections,
        created_at=_aware(created_at),
        updated_at=_aware(updated_at),
    )


#: Records made from text rows (SQLite's event-loop read), by the exact row and reset time:
#: `_from_row` is a pure function of both and records are immutable, so a page read again is
#: not parsed again, and any change to a row is a new key. Held in the app's resources.
RecordCache = LRUCache[tuple[tuple[Any, ...], datetime], SmtpConfigRecord]


def record_cache(size: int = 4096) -> RecordCache:
    return LRUCache(maxsize=size)


async def _read_records(
    account_id: uuid.UUID, config_id: uuid.UUID | None = None, *, cache: RecordCache | None
) -> list[SmtpConfigRecord]:
    """The account's configs (or the one `config_id`) with today's usage, in one query."""
    now = utc_now()
    sql = RawSql(SmtpConfig._meta.db)
    if config_id is None:
        rows = await sql.fetch_small(
            _RECORD_SELECT + " ORDER BY c.priority, c.created_at, c.id", utc_day(now), account_id
        )
    else:
        rows = await sql.fetch_small(
            _RECORD_SELECT + " AND c.id = ?", utc_day(now), account_id, config_id
        )
    resets_at = next_reset(now)
    return [_cached_record(row, resets_at, cache) for row in rows]


def _cached_record(
    row: Sequence[Any], resets_at: datetime, cache: RecordCache | None
) -> SmtpConfigRecord:
    if cache is None or type(row) is not tuple:  # driver records: typed, not always hashable
        return _from_row(row, resets_at=resets_at)
    key = (row, resets_at)
    record = cache.get(key)
    if record is None:
        record = cache[key] = _from_row(row, resets_at=resets_at)
    return record


async def list_configs(
    account_id: uuid.UUID, *, cache: RecordCache | None = None
) -> list[SmtpConfigRecord]:
    """The account's configs, by priority then creation."""
    return await _read_records(account_id, cache=cache)


async def _get_row(account_id: uuid.UUID, config_id: uuid.UUID | str) -> SmtpConfig | None:
    parsed = _parse_id(config_id)
    if parsed is None:
        return None
    return await SmtpConfig.get_or_none(id=parsed, account_id=account_id)


async def get_config(
    account_id: uuid.UUID, config_id: uuid.UUID | str, *, cache: RecordCache | None = None
) -> SmtpConfigRecord | None:
    """None when the id is unknown, malformed, or another account's: all look the same."""
    parsed = _parse_id(config_id)
    if parsed is None:
        return None
    records = await _read_records(account_id, parsed, cache=cache)
    return records[0] if records else None


async def _require_row(account_id: uuid.UUID, config_id: uuid.UUID | str) -> SmtpConfig:
    row = await _get_row(account_id, config_id)
    if row is None:
        raise NotFoundError(f"SMTP config {config_id} not found")
    return row


async def _lock_account(account_id: uuid.UUID) -> None:
    """Serialise default switching per account (FOR UPDATE on PostgreSQL; SQLite has one writer)."""
    await Account.select_for_update().filter(id=account_id).first()


async def _clear_default(account_id: uuid.UUID) -> None:
    await SmtpConfig.filter(account_id=account_id, is_default=True).update(is_default=False)


async def create_config(
    account_id: uuid.UUID,
    data: Mapping[str, Any],
    *,
    keyring: Keyring,
    allow_private_hosts: bool = True,
) -> SmtpConfigRecord:
    """:raises ValidationError: a field breaks its rule (a private host literal when those are
    not allowed). :raises ConflictError: duplicate name."""
    values = {
        **DEFAULTS,
        **_clean_all(data, partial=False, allow_private_hosts=allow_private_hosts),
    }
    config_id = uuid.uuid4()
    password = values.pop("password")
    sealed = (
        None if password is None else keyring.seal(password, context=password_context(config_id))
    )
    try:
        async with in_transaction():
            await _lock_account(account_id)
            has_default = await SmtpConfig.filter(account_id=account_id, is_default=True).exists()
            if values["is_default"] and has_default:
                await _clear_default(account_id)
            elif not has_default:
                values["is_default"] = True  # an account's first config is its default
            row = await SmtpConfig.create(
                id=config_id, account_id=account_id, password_sealed=sealed, **values
            )
    except IntegrityError:
        raise _conflict(values["name"]) from None
    return await _record(row)


def _conflict(name: str) -> ConflictError:
    return ConflictError(f"an SMTP config named {name!r} already exists", field="name")


async def update_config(
    account_id: uuid.UUID,
    config_id: uuid.UUID | str,
    data: Mapping[str, Any],
    *,
    keyring: Keyring,
    allow_private_hosts: bool = True,
) -> SmtpConfigRecord:
    """Only the given fields change. Password: absent keeps it, "" or null clears it.

    Setting is_default false on the default is refused: pick another default instead.
    """
    values = _clean_all(data, partial=True, allow_private_hosts=allow_private_hosts)
    try:
        async with in_transaction():
            await _lock_account(account_id)
            row = await _require_row(account_id, config_id)
            if "password" in values:
                password = values.pop("password")
                sealed = (
                    None
                    if password is None
                    else keyring.seal(password, context=password_context(row.id))
                )
                row.password_sealed = sealed  # type: ignore[assignment]
            if values.get("is_default") is True and not row.is_default:
                await _clear_default(account_id)
            elif values.get("is_default") is False and row.is_default:
                raise ValidationError(
                    "an account keeps one default config: set another config as default instead",
                    field="is_default",
                )
            for field, value in values.items():
                setattr(row, field, value)
            await row.save()
    except IntegrityError:
        raise _conflict(values.get("name", row.name)) from None
    return await _record(row)


async def delete_config(account_id: uuid.UUID, config_id: uuid.UUID | str) -> None:
    """Deleting the default promotes the next config by priority (none when it was the last)."""
    async with in_transaction():
        await _lock_account(account_id)
        row = await _require_row(account_id, config_id)
        await row.delete()
        if row.is_default:
            successor = (
                await SmtpConfig.filter(account_id=account_id)
                .order_by("priority", "created_at", "id")
                .first()
            )
            if successor is not None:
                successor.is_default = True
                await successor.save(update_fields=["is_default", "updated_at"])


async def set_default(account_id: uuid.UUID, config_id: uuid.UUID | str) -> SmtpConfigRecord:
    async with in_transaction():
        await _lock_account(account_id)
        row = await _require_row(account_id, config_id)
        if not row.is_default:
            await _clear_default(account_id)
            row.is_default = True
            await row.save(update_fields=["is_default", "updated_at"])
    return await _record(row)


def open_password(row: SmtpConfig, keyring: Keyring) -> str | None:
    """The clear password, for the SMTP transport only.

    :raises UnsealError: the sealed value does not open for this row.
    """
    if row.password_sealed is None:
        return None
    return keyring.open(row.password_sealed, context=password_context(row.id))


async def reseal_all(keyring: Keyring) -> int:
    """Re-seal every stored secret under the newest key; returns how many changed."""
    changed = 0
    async with in_transaction():
        rows = await SmtpConfig.filter(password_sealed__isnull=False).select_for_update()
        for row in rows:
            assert row.password_sealed is not None
            if not keyring.needs_reseal(row.password_sealed):
                continue
            context = password_context(row.id)
            clear = keyring.open(row.password_sealed, context=context)
            await SmtpConfig.filter(id=row.id).update(
                password_sealed=keyring.seal(clear, context=context)
            )
            changed += 1
    return changed


async def require_row(account_id: uuid.UUID, config_id: uuid.UUID | str) -> SmtpConfig:
    """The account's config row (for services that need the sealed password).

    :raises NotFoundError: unknown, malformed or another account's id.
    """
    return await _require_row(account_id, config_id)


def clean_input(data: Mapping[str, Any], *, allow_private_hosts: bool = True) -> dict[str, Any]:
    """A full, validated config input with defaults applied (for checks of unsaved settings).

    :raises ValidationError: a field breaks its rule.
    """
    return {
        **DEFAULTS,
        **_clean_all(data, partial=False, allow_private_hosts=allow_private_hosts),
    }
