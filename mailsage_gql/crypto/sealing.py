"""Sealing of secrets at rest with XChaCha20-Poly1305 (PyNaCl Aead); pure, no I/O."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.secret
import nacl.utils

from mailsage_gql.errors import ConfigurationError, UnsealError

FORMAT_VERSION = "v1"
KEY_BYTES = nacl.secret.Aead.KEY_SIZE


def generate_key() -> str:
    """A new random key, base64 encoded, suitable for MAILSAGE_SECRET_KEY."""
    return base64.b64encode(nacl.utils.random(KEY_BYTES)).decode("ascii")


def key_id(key: bytes) -> str:
    """A short public identifier of a key: it names the key without revealing it."""
    return hashlib.sha256(b"mailsage-key-id:" + key).hexdigest()[:8]


@dataclass(frozen=True)
class _Key:
    kid: str
    box: nacl.secret.Aead = field(repr=False)


class Keyring:
    """Seals with the newest key and opens with any known key (rotation).

    Security: every value is sealed under a fresh random 24-byte nonce (Aead picks it), and the
    caller's `context` (table, row id, column) is bound as associated data, so a ciphertext copied
    to another row or column fails to open instead of leaking a secret into the wrong place.
    The stored form is `v1:<key id>:<base64(nonce || ciphertext || tag)>`.
    """

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigurationError("at least one secret key is required")
        self._keys = [_Key(key_id(k), nacl.secret.Aead(k)) for k in keys]
        self._by_id = {k.kid: k for k in self._keys}

    def __repr__(self) -> str:
        return f"Keyring(key_ids={[k.kid for k in self._keys]})"

    @classmethod
    def from_config(cls, raw: str) -> Keyring:
        """Parse MAILSAGE_SECRET_KEY: base64 of 32 bytes, or several comma separated, newest first.

        :raises ConfigurationError: a key that is not base64 of exactly 32 bytes (the key itself
            is never echoed in the message).
        """
        keys: list[bytes] = []
        for position, part in enumerate(p.strip() for p in raw.split(",")):
            if not part:
                continue
            try:
                key = base64.b64decode(part, validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != KEY_BYTES:
                raise ConfigurationError(
                    f"MAILSAGE_SECRET_KEY entry {position + 1} is not base64 of {KEY_BYTES} bytes"
                )
            keys.append(key)
        return cls(keys)

    @property
    def current_key_id(self) -> str:
        return self._keys[0].kid

    def seal(self, plaintext: str, *, context: str) -> str:
        key = self._keys[0]
        sealed = key.box.encrypt(plaintext.encode("utf-8"), aad=context.encode("utf-8"))
        return f"{FORMAT_VERSION}:{key.kid}:{base64.b64encode(bytes(sealed)).decode('ascii')}"

    def open(self, token: str, *, context: str) -> str:
        """:raises UnsealError: unknown key id, malformed token, wrong context or tampering."""
        try:
            version, kid, payload = token.split(":", 2)
        except ValueError:
            raise UnsealError("malformed sealed value") from None
        key = self._by_id.get(kid)
        if version != FORMAT_VERSION or key is None:
            raise UnsealError(f"sealed with unknown key {kid!r}")
        try:
            plaintext = key.box.decrypt(base64.b64decode(payload), aad=context.encode("utf-8"))
        except (nacl.exceptions.CryptoError, binascii.Error, ValueError):
            raise UnsealError("sealed value does not open for this row") from None
        return plaintext.decode("utf-8")

    def needs_reseal(self, token: str) -> bool:
        """True when `token` was sealed with a key other than the newest."""
        parts = token.split(":", 2)
        return len(parts) != 3 or parts[1] != self.current_key_id
