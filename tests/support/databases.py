"""Database fixtures: SQLite in a temp dir always, PostgreSQL when reachable (required in CI).

Each backend is migrated once per session with the real aerich migrations, then truncated
before every test that asks for `db`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from mailsage_gql import database
from mailsage_gql.crypto import generate_key
from mailsage_gql.settings import Settings

PG_ADMIN_URL = os.environ.get("MAILSAGE_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TABLES = [
    "webhook_attempt",
    "webhook_delivery",
    "webhook",
    "delivery_event",
    "delivery_attempt",
    "message",
    "provider_health",
    "smtp_usage",
    "smtp_config",
    "api_key",
    "account",
]
#: One key for the whole session, so processes started by tests can open what tests sealed.
SECRET_KEY = generate_key()


async def postgres_reachable() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def create_pg_database() -> str:
    """A new empty database; returns its URL."""
    name = f"mailsage_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def base_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": SECRET_KEY,
        "allow_private_smtp_hosts": True,
        "log_level": "warning",
        # Revocation must be seen at once by tests; tests/unit/test_auth_cache.py covers it.
        "auth_cache_seconds": 0.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def new_database_url(backend: str, tmp_dir: Path) -> str:
    """A fresh, unmigrated database of `backend`; skips (or fails in CI) without PostgreSQL."""
    if backend == "sqlite":
        return f"sqlite://{tmp_dir / f'mailsage-{uuid.uuid4().hex[:8]}.db'}"
    if not await postgres_reachable():
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (required when CI=true)")
        pytest.skip(message)
    return await create_pg_database()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    """A migrated database per backend, open for the session; tests run grouped by backend."""
    url = await new_database_url(request.param, tmp_path_factory.mktemp("db"))
    settings = base_settings(url)
    try:
        await database.migrate(settings)
        async with database.database(settings):
            yield settings
    finally:
        if settings.dialect == "postgres":
            await drop_pg_database(url)


async def truncate_all(settings: Settings) -> None:
    conn = database.db_connection(settings)
    if settings.dialect == "postgres":
        await conn.execute_script(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " RESTART IDENTITY CASCADE"
        )
    else:
        await conn.execute_script("".join(f'DELETE FROM "{t}";' for t in TABLES))


@pytest.fixture
async def db(migrated_database: Settings) -> AsyncIterator[Settings]:
    """Settings of an empty, migrated database that is open in this process."""
    await truncate_all(migrated_database)
    yield migrated_database
