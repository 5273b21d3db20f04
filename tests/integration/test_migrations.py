"""A fresh database of each kind, migrated, has exactly the tables and columns of the models."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.cli import REPO, cli_env, fetch
from tests.support.databases import drop_pg_database, new_database_url

#: table -> {column: nullable}
Schema = dict[str, dict[str, bool]]


def build(how: str, url: str) -> None:
    """Run `mailsage_gql.database.migrate` (or generate_schemas) on `url` in a child process."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.schema_probe", how, url],
        env=cli_env(url),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


async def columns_of(url: str) -> Schema:
    schema: Schema = {}
    if url.startswith("sqlite://"):
        tables = await fetch(
            url, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        for table in (t["name"] for t in tables):
            info = await fetch(url, f'PRAGMA table_info("{table}")')
            schema[table] = {c["name"]: not c["notnull"] and not c["pk"] for c in info}
    else:
        rows = await fetch(
            url,
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public'",
        )
        for row in rows:
            schema.setdefault(row["table_name"], {})[row["column_name"]] = (
                row["is_nullable"] == "YES"
            )
    schema.pop("aerich", None)  # aerich's own bookkeeping, not a model
    return schema


async def index_definitions(url: str) -> dict[str, str]:
    if url.startswith("sqlite://"):
        rows = await fetch(url, "SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        return {r["name"]: r["sql"] or "" for r in rows}
    rows = await fetch(
        url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    return {r["indexname"]: r["indexdef"] for r in rows}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, str]]:
    """(migrated URL, generated-from-models URL): two fresh databases of one kind."""
    tmp: Path = tmp_path_factory.mktemp("migrations")
    urls = [await new_database_url(request.param, tmp) for _ in range(2)]
    try:
        build("migrate", urls[0])
        build("generate", urls[1])
        yield urls[0], urls[1]
    finally:
        if request.param == "postgres":
            for url in urls:
                await drop_pg_database(url)


async def test_migrated_database_has_the_tables_of_the_models(
    databases: tuple[str, str],
) -> None:
    migrated, generated = databases

    tables = sorted(await columns_of(migrated))
    assert {"account", "api_key", "smtp_config", "message"} <= set(tables)
    assert tables == sorted(await columns_of(generated))


async def test_migrated_columns_match_the_models_in_name_and_nullability(
    databases: tuple[str, str],
) -> None:
    migrated, generated = databases

    assert await columns_of(migrated) == await columns_of(generated)


async def test_migrated_database_has_the_partial_unique_default_index(
    databases: tuple[str, str],
) -> None:
    migrated, _ = databases

    definition = (await index_definitions(migrated)).get("uniq_smtp_config_default", "")

    assert "UNIQUE" in definition.upper()
    assert "is_default" in definition
    assert "WHERE" in definition.upper()


async def test_migrating_again_applies_nothing(databases: tuple[str, str]) -> None:
    migrated, _ = databases
    before = await columns_of(migrated)

    build("migrate", migrated)

    assert await columns_of(migrated) == before
