"""Sealing of secrets at rest; the only package that imports nacl."""

from mailsage_gql.crypto.sealing import Keyring, UnsealError, generate_key, key_id

__all__ = ["Keyring", "UnsealError", "generate_key", "key_id"]
