"""The keyring for sealed secrets: loaded from settings, generated only for the embedded default."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mailsage_gql.crypto import Keyring, generate_key
from mailsage_gql.errors import ConfigurationError
from mailsage_gql.settings import Settings

log = logging.getLogger(__name__)


def load_keyring(settings: Settings) -> Keyring:
    """MAILSAGE_SECRET_KEY when set; otherwise, for the embedded SQLite default only, a key
    generated once into a 0600 file beside the database.

    :raises ConfigurationError: no key with PostgreSQL or in production, or a malformed key.
    """
    if settings.secret_key.strip():
        return Keyring.from_config(settings.secret_key)
    key_file = settings.secret_key_file
    if not settings.embedded or key_file is None:
        raise ConfigurationError(
            "MAILSAGE_SECRET_KEY is required with PostgreSQL or MAILSAGE_ENV=production. "
            'Generate one with: python -c "import base64,os;'
            'print(base64.b64encode(os.urandom(32)).decode())"'
        )
    return Keyring.from_config(_read_or_create_key_file(key_file))


def _read_or_create_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    # O_EXCL: two processes racing to create it cannot both write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    log.warning(
        "No MAILSAGE_SECRET_KEY set: generated a secret key into %s (mode 0600). Back it up: "
        "sealed SMTP passwords cannot be opened without it.",
        path,
    )
    return key
