"""Standard Webhooks signatures (HMAC-SHA256 over `id.timestamp.body`); pure, no I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (the public prefix, not a secret)
_SECRET_BYTES = 32


def generate_secret() -> str:
    """A new `whsec_<base64 of 32 random bytes>` secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` where key is the base64
    decoding of the secret after its `whsec_` prefix (the Standard Webhooks scheme)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(
    secrets_in_use: list[str], *, message_id: str, timestamp: int, body: bytes
) -> str:
    """Space-separated signatures, one per secret in use (two during a rotation's grace)."""
    return " ".join(
        sign(s, message_id=message_id, timestamp=timestamp, body=body) for s in secrets_in_use
    )
