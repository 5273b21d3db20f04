"""Accounts and API keys: creation, revocation and authentication of a bearer key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache
from tortoise.exceptions import DoesNotExist
from tortoise.transactions import in_transaction

from mailsage_gql.delivery.clock import utc_now
from mailsage_gql.errors import NotFoundError, UnauthenticatedError, ValidationError
from mailsage_gql.models import Account, ApiKey
from mailsage_gql.services.validation import check_text

KEY_PREFIX = "ms_"
_ID_HEX = 12  # public id: 6 random bytes, in hex
_SECRET_BYTES = 32  # 256 bits of entropy in the secret part


@dataclass(frozen=True)
class Principal:
    """Who is calling: every service call is scoped to `account_id`."""

    account_id: uuid.UUID
    key_id: str


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    account_id: uuid.UUID
    #: The full key, shown once. Never logged, never stored.
    api_key: str

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.key_id!r}, account_id={self.account_id!r})"


def _hash_secret(secret: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _split_key(raw: str) -> tuple[str, str] | None:
    """`ms_<12 hex id>_<secret>` -> (id, secret); None when it is not of that shape."""
    if not raw.startswith(KEY_PREFIX) or len(raw) < len(KEY_PREFIX) + _ID_HEX + 2:
        return None
    key_id = raw[len(KEY_PREFIX) : len(KEY_PREFIX) + _ID_HEX]
    if raw[len(KEY_PREFIX) + _ID_HEX] != "_":
        return None
    secret = raw[len(KEY_PREFIX) + _ID_HEX + 1 :]
    if not secret.isascii():
        return None
    return key_id, secret


async def create_account(name: str) -> tuple[Account, IssuedKey]:
    """A new account and its first API key, in one transaction.

    :raises ValidationError: a blank, overlong or control-character name.
    """
    name = check_text(name, field="name", min_length=1, max_length=200).strip()
    if not name:
        raise ValidationError("name must not be blank", field="name")
    async with in_transaction():
        account = await Account.create(id=uuid.uuid4(), name=name)
        issued = await _issue_key(account.id)
    return account, issued


async def create_api_key(account_id: uuid.UUID | str) -> IssuedKey:
    """:raises NotFoundError: no such account."""
    try:
        account_uuid = uuid.UUID(str(account_id))
    except ValueError:
        raise NotFoundError(f"account {account_id} not found") from None
    if not await Account.exists(id=account_uuid):
        raise NotFoundError(f"account {account_id} not found")
    return await _issue_key(account_uuid)


async def _issue_key(account_id: uuid.UUID) -> IssuedKey:
    key_id = secrets.token_hex(_ID_HEX // 2)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    await ApiKey.create(id=key_id, account_id=account_id, secret_hash=_hash_secret(secret))
    return IssuedKey(key_id=key_id, account_id=account_id, api_key=f"{KEY_PREFIX}{key_id}_{secret}")


async def revoke_api_key(key_id: str) -> None:
    """:raises NotFoundError: no such key (or already revoked)."""
    updated = await ApiKey.filter(id=key_id, revoked_at__isnull=True).update(revoked_at=utc_now())
    if not updated:
        raise NotFoundError(f"API key {key_id} not found or already revoked")


class AuthCache:
    """Recently verified keys, for `ttl` seconds, so a busy client costs no query per request.

    Security: entries are keyed by a SHA-256 of the whole presented key (never the key), only
    successes are kept, and a revocation takes effect within `ttl` seconds in other processes
    (keys are revoked with the CLI, another process). `ttl` 0 disables it. At most `size`
    keys are remembered; the least recently used one goes first.
    """

    def __init__(
        self, *, ttl: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._entries: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=size, ttl=ttl, timer=clock) if ttl > 0 else None
        )

    def get(self, digest: str) -> Principal | None:
        return None if self._entries is None else self._entries.get(digest)

    def put(self, digest: str, principal: Principal) -> None:
        if self._entries is not None:
            self._entries[digest] = principal


async def authenticate(authorization: str | None, *, cache: AuthCache | None = None) -> Principal:
    """The principal for an `Authorization: Bearer <key>` header value.

    Security: the stored hash is compared in constant time; unknown, malformed and revoked keys
    all fail with the same message so a caller learns nothing about which it was.

    :raises UnauthenticatedError: missing, malformed, unknown or revoked key.
    """
    digest = hashlib.sha256(authorization.encode()).hexdigest() if authorization else ""
    if cache is not None and digest:
        cached = cache.get(digest)
        if cached is not None:
            return cached
    principal = await _verify(authorization)
    if cache is not None:
        cache.put(digest, principal)
    return principal


async def _verify(authorization: str | None) -> Principal:
    if not authorization:
        raise UnauthenticatedError("missing Authorization: Bearer <api key> header")
    scheme, _, token = authorization.strip().partition(" ")
    parts = _split_key(token.strip()) if scheme.lower() == "bearer" else None
    if parts is None:
        raise UnauthenticatedError("invalid or revoked API key")
    key_id, secret = parts
    try:
        key = await ApiKey.get(id=key_id)
    except DoesNotExist:
        key = None
    presented = _hash_secret(secret)
    expected = key.secret_hash if key is not None else _hash_secret("")
    if not hmac.compare_digest(presented, expected) or key is None or key.revoked_at is not None:
        raise UnauthenticatedError("invalid or revoked API key")
    return Principal(account_id=key.account_id, key_id=key.id)
