"""The `mailsage` command, run as a subprocess against fresh SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import stat
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mailsage_gql.crypto import Keyring, generate_key
from mailsage_gql.services.smtp_configs import password_context
from tests.support.cli import REPO, cli_env, execute, fetch, run_cli
from tests.support.databases import drop_pg_database, new_database_url
from tests.support.recording import new_password

OLD_KEY = generate_key()
NEW_KEY = generate_key()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def cli_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A fresh database of each kind, migrated by `mailsage migrate`; yields its URL."""
    url = await new_database_url(request.param, tmp_path_factory.mktemp("cli"))
    try:
        migrated = run_cli("migrate", database_url=url)
        assert migrated.returncode == 0, migrated.stderr
        yield url
    finally:
        if request.param == "postgres":
            await drop_pg_database(url)


def create_account(url: str, name: str = "Acme") -> dict[str, str]:
    result = run_cli("create-account", name, "--json", database_url=url)
    assert result.returncode == 0, result.stderr
    created: dict[str, str] = json.loads(result.stdout)
    return created


def key_id_of(api_key: str) -> str:
    return api_key.split("_", 2)[1]


async def test_create_account_json_prints_exactly_one_object(cli_db: str) -> None:
    result = run_cli("create-account", "Acme", "--json", database_url=cli_db)

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    assert set(json.loads(result.stdout)) == {"account_id", "api_key"}


async def test_create_account_stores_the_account_and_a_hash_of_the_key(cli_db: str) -> None:
    created = create_account(cli_db)

    secret = created["api_key"].split("_", 2)[2]
    rows = await fetch(
        cli_db, f"SELECT * FROM api_key WHERE id = '{key_id_of(created['api_key'])}'"
    )
    assert created["api_key"].startswith("ms_")
    assert [(str(r["account_id"]), r["secret_hash"]) for r in rows] == [
        (created["account_id"], hashlib.sha256(secret.encode()).hexdigest())
    ]


async def test_create_account_without_json_shows_the_key_once_in_text(cli_db: str) -> None:
    result = run_cli("create-account", "Plain", database_url=cli_db)

    assert result.returncode == 0, result.stderr
    assert len(re.findall(r"ms_[0-9a-f]{12}_\S+", result.stdout)) == 1


async def test_create_account_with_blank_name_fails_without_traceback(cli_db: str) -> None:
    result = run_cli("create-account", "   ", "--json", database_url=cli_db)

    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


async def test_create_api_key_issues_another_key_for_the_account(cli_db: str) -> None:
    account = create_account(cli_db)

    result = run_cli("create-api-key", account["account_id"], "--json", database_url=cli_db)

    issued = json.loads(result.stdout)
    rows = await fetch(
        cli_db, f"SELECT account_id FROM api_key WHERE id = '{key_id_of(issued['api_key'])}'"
    )
    assert issued["account_id"] == account["account_id"]
    assert issued["api_key"] != account["api_key"]
    assert [str(r["account_id"]) for r in rows] == [account["account_id"]]


@pytest.mark.parametrize("account_id", ["00000000-0000-0000-0000-000000000000", "nope"])
async def test_create_api_key_for_unknown_account_fails_clearly(
    cli_db: str, account_id: str
) -> None:
    result = run_cli("create-api-key", account_id, database_url=cli_db)

    assert result.returncode != 0
    assert "not found" in result.stderr
    assert "Traceback" not in result.stderr


async def test_revoke_api_key_marks_the_key_revoked(cli_db: str) -> None:
    key_id = key_id_of(create_account(cli_db)["api_key"])

    result = run_cli("revoke-api-key", key_id, database_url=cli_db)

    rows = await fetch(cli_db, f"SELECT revoked_at FROM api_key WHERE id = '{key_id}'")
    assert result.returncode == 0, result.stderr
    assert rows[0]["revoked_at"] is not None


async def test_revoking_twice_fails_clearly(cli_db: str) -> None:
    key_id = key_id_of(create_account(cli_db)["api_key"])
    run_cli("revoke-api-key", key_id, database_url=cli_db)

    again = run_cli("revoke-api-key", key_id, database_url=cli_db)

    assert again.returncode != 0
    assert "Traceback" not in again.stderr


async def insert_sealed_config(url: str, account_id: str, password: str, keyring: Keyring) -> str:
    """A config row whose password is sealed by `keyring`, written with raw SQL."""
    config_id = str(uuid.uuid4())
    token = keyring.seal(password, context=password_context(uuid.UUID(config_id)))
    now = "2026-01-01 00:00:00+00:00"
    await execute(
        url,
        "INSERT INTO smtp_config (id, account_id, name, host, port, password_sealed, use_tls,"
        " from_email, is_default, daily_limit, priority, max_connections, created_at, updated_at)"
        f" VALUES ('{config_id}', '{account_id}', 'c-{config_id[:8]}', 'smtp.example.com', 587,"
        f" '{token}', TRUE, 'a@example.com', FALSE, 100, 100, 2, '{now}', '{now}')",
    )
    return config_id


async def test_rotate_secret_key_reseals_every_secret_with_the_newest_key(cli_db: str) -> None:
    account = create_account(cli_db)
    old = Keyring.from_config(OLD_KEY)
    passwords = {
        await insert_sealed_config(cli_db, account["account_id"], p, old): p
        for p in (new_password(), new_password())
    }
    all_rows = await fetch(cli_db, "SELECT id FROM smtp_config WHERE password_sealed IS NOT NULL")

    result = run_cli("rotate-secret-key", database_url=cli_db, secret_key=f"{NEW_KEY},{OLD_KEY}")

    rotated = Keyring.from_config(f"{NEW_KEY},{OLD_KEY}")
    rows = await fetch(cli_db, "SELECT id, password_sealed FROM smtp_config")
    tokens = {str(r["id"]): r["password_sealed"] for r in rows if r["password_sealed"]}
    assert result.returncode == 0, result.stderr
    assert f"re-sealed {len(all_rows)} secret(s)" in result.stdout
    assert {t.split(":")[1] for t in tokens.values()} == {rotated.current_key_id}
    assert {
        cid: rotated.open(tokens[cid], context=password_context(uuid.UUID(cid)))
        for cid in passwords
    } == passwords
    assert not any(p in result.stdout + result.stderr for p in passwords.values())


@pytest.mark.parametrize(
    ("url", "variables"),
    [
        ("postgres://postgres@127.0.0.1:5432/postgres", {}),
        ("sqlite:///tmp/mailsage-never-created/prod.db", {"env": "production"}),
    ],
    ids=["postgres", "production"],
)
def test_serve_without_a_key_refuses_to_start_clearly(url: str, variables: dict[str, str]) -> None:
    result = run_cli("serve", "--port", "0", database_url=url, **variables)

    assert result.returncode != 0
    assert "MAILSAGE_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")


@pytest.fixture(scope="module")
async def embedded_server(embedded_dir: Path) -> AsyncIterator[tuple[str, list[str]]]:
    """`mailsage serve --port 0` on a fresh embedded SQLite with no key; yields (url, log)."""
    env = cli_env(f"sqlite://{embedded_dir / 'data' / 'mailsage.db'}")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mailsage_gql.cli", "serve", "--port", "0",
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not (match := re.search(r"running on (http://\S+)", lines[-1] if lines else "")):
                line = (await process.stderr.readline()).decode()
                assert line, "server exited before listening:\n" + "".join(lines)
                lines.append(line)
        yield match.group(1), lines
    finally:
        process.terminate()
        rest = await process.stderr.read()
        lines.extend(rest.decode().splitlines(keepends=True))
        await process.wait()


async def test_embedded_serve_without_key_generates_a_0600_key_file_beside_the_db(
    embedded_server: tuple[str, list[str]], embedded_dir: Path
) -> None:
    key_file = embedded_dir / "data" / "mailsage.db.key"

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Keyring.from_config(key_file.read_text().strip())


async def test_embedded_serve_without_key_warns_once_saying_where(
    embedded_server: tuple[str, list[str]], embedded_dir: Path
) -> None:
    _, lines = embedded_server

    key_warnings = [line for line in lines if "WARNING" in line and "key" in line.lower()]
    assert len(key_warnings) == 1
    assert str(embedded_dir / "data" / "mailsage.db.key") in key_warnings[0]


async def test_embedded_serve_answers_health_and_the_cli_key(
    embedded_server: tuple[str, list[str]], embedded_dir: Path
) -> None:
    url, _ = embedded_server
    account = create_account(f"sqlite://{embedded_dir / 'data' / 'mailsage.db'}")

    async with httpx.AsyncClient(base_url=url) as client:
        health = await client.get("/healthz")
        listed = await client.get(
            "/api/v1/smtp/configs", headers={"Authorization": f"Bearer {account['api_key']}"}
        )

    assert health.status_code == 200
    assert listed.json() == {"data": []}
