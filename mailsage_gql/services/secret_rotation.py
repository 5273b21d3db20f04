"""Re-sealing every stored secret with the newest key (`mailsage rotate-secret-key`)."""

from __future__ import annotations

from mailsage_gql.crypto import Keyring
from mailsage_gql.services import smtp_configs, webhooks


async def reseal_all_secrets(keyring: Keyring) -> int:
    """Re-seal every secret not sealed with the newest key; returns how many changed.

    :raises UnsealError: a stored secret no configured key opens (keep the old key listed).
    """
    return await smtp_configs.reseal_all(keyring) + await webhooks.reseal_all(keyring)
