"""load_keyring: the configured key, a generated 0600 key file for embedded SQLite, or refusal."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from mailsage_gql.crypto import Keyring, generate_key
from mailsage_gql.errors import ConfigurationError
from mailsage_gql.services.secrets import load_keyring
from mailsage_gql.settings import Settings


def embedded(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite://{tmp_path / 'data' / 'mailsage.db'}")


def test_configured_key_is_used(tmp_path: Path) -> None:
    key = generate_key()

    ring = load_keyring(Settings(database_url=f"sqlite://{tmp_path}/x.db", secret_key=key))

    assert ring.current_key_id == Keyring.from_config(key).current_key_id
    assert not (tmp_path / "x.db.key").exists()


def test_embedded_without_key_generates_a_0600_file_beside_the_database(tmp_path: Path) -> None:
    load_keyring(embedded(tmp_path))

    key_file = tmp_path / "data" / "mailsage.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_generated_key_is_announced_once_with_its_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        load_keyring(embedded(tmp_path))
        load_keyring(embedded(tmp_path))

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(tmp_path / "data" / "mailsage.db.key") in warnings[0]


def test_generated_key_is_reused_on_the_next_start(tmp_path: Path) -> None:
    first = load_keyring(embedded(tmp_path))

    second = load_keyring(embedded(tmp_path))

    assert first.current_key_id == second.current_key_id


@pytest.mark.parametrize(
    "settings",
    [
        Settings(database_url="postgres://postgres@127.0.0.1/mailsage"),
        Settings(database_url="sqlite:///tmp/never-created/mailsage.db", env="production"),
        Settings(database_url="sqlite://:memory:"),
    ],
    ids=["postgres", "production", "memory"],
)
def test_missing_key_outside_embedded_is_refused_naming_the_variable(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="MAILSAGE_SECRET_KEY"):
        load_keyring(settings)
