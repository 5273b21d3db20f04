"""Tortoise configuration, connection start-up and aerich migrations for both dialects."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from aerich import Command
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url

from mailsage_gql.database.sqlite import SqliteClient
from mailsage_gql.settings import Settings

log = logging.getLogger(__name__)

MODEL_MODULES = ["mailsage_gql.models"]
MIGRATIONS_ROOT = Path(__file__).resolve().parents[2] / "migrations"


def connection_label(settings: Settings) -> str:
    """One label per dialect: Tortoise caches SQL per label, so SQLite and PostgreSQL in one
    process (the test suite) must not share one."""
    return settings.dialect


def tortoise_config(settings: Settings, *, with_aerich: bool = False) -> dict[str, Any]:
    label = connection_label(settings)
    if settings.dialect == "sqlite":
        path = settings.sqlite_path
        connection: dict[str, Any] = {
            "engine": "mailsage_gql.database.sqlite",
            "credentials": {
                "file_path": str(path),
                # Durability: an answered sendEmail survives a crash and a power cut.
                "journal_mode": "WAL",
                "synchronous": "FULL",
                "foreign_keys": "ON",
                "busy_timeout": 10000,
            },
        }
    else:
        connection = {
            "engine": "tortoise.backends.asyncpg",
            "credentials": _pg_credentials(settings),
        }
    modules = [*MODEL_MODULES, "aerich.models"] if with_aerich else MODEL_MODULES
    return {
        "connections": {label: connection},
        "apps": {"models": {"models": modules, "default_connection": label}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _pg_credentials(settings: Settings) -> dict[str, Any]:
    url = settings.database_url.replace("postgresql://", "postgres://", 1)
    credentials: dict[str, Any] = expand_db_url(url)["credentials"]
    credentials.setdefault("minsize", 1)
    credentials.setdefault("maxsize", 10)
    credentials["reset"] = _keep_session
    return credentials


async def _keep_session(connection: object) -> None:
    """Pool release without asyncpg's default reset query (advisory unlock, CLOSE ALL,
    UNLISTEN, RESET ALL): one round trip more for every transaction, the delivery loop's
    included, to undo session state this application never creates on pooled connections
    (its LISTEN runs on a connection of its own; its locks are row locks). asyncpg still
    rolls back a transaction left open before calling this."""


def migrations_location(settings: Settings) -> Path:
    return MIGRATIONS_ROOT / settings.dialect


@asynccontextmanager
async def aerich_command(settings: Settings, *, init: bool = True) -> AsyncIterator[Command]:
    """An aerich Command on an ORM opened (and closed) here; `init=False` leaves Migrate
    uninitialised, for `init_db`. Tortoise is initialised explicitly because aerich's own
    context manager skips initialisation when a closed context is still registered."""
    if settings.sqlite_path is not None:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    config = tortoise_config(settings, with_aerich=True)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        command = Command(config, app="models", location=str(migrations_location(settings)))
        if init:
            await command.init()
        yield command
    finally:
        await Tortoise.close_connections()


async def migrate(settings: Settings) -> list[str]:
    """Apply pending aerich migrations; returns the versions applied.

    Takes no lock: run it from one process (`mailsage migrate`, or the embedded server).
    """
    async with aerich_command(settings) as command:
        applied = await command.upgrade(run_in_transaction=True)
    for version in applied:
        log.info("applied migration %s", version)
    return applied


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    """Open the ORM for the lifetime of the block (global fallback on: uvicorn runs requests in
    other tasks than the lifespan, see STACK_NOTES)."""
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    try:
        yield
    finally:
        await Tortoise.close_connections()


def db_connection(settings: Settings) -> BaseDBAsyncClient:
    return connections.get(connection_label(settings))


async def ping(settings: Settings) -> None:
    """:raises Exception: the database does not answer."""
    await db_connection(settings).execute_query("SELECT 1")


class RawSql:
    """Hand-written SQL for the hot and atomic paths, on either dialect.

    Write statements with `?` placeholders; PostgreSQL gets `$1..$n`. Values are converted to
    what Tortoise itself stores, so raw and ORM rows compare correctly (SQLite keeps datetimes
    as `str(datetime)` text in UTC, UUIDs as text, booleans as 0/1).
    """

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn
        self.postgres = conn.capabilities.dialect == "postgres"

    def _prepare(self, sql: str, values: list[Any]) -> tuple[str, list[Any]]:
        if self.postgres:
            parts = sql.split("?")
            sql = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
            return sql, values
        return sql, [self._sqlite_value(v) for v in values]

    @staticmethod
    def _sqlite_value(value: Any) -> Any:
        if isinstance(value, datetime):
            return str(value.astimezone(UTC))
        if isinstance(value, (uuid.UUID, date)):
            return str(value)
        if isinstance(value, bool):
            return int(value)
        return value

    async def execute(self, sql: str, *values: Any) -> int:
        """Run a statement; returns the number of rows it changed.

        Tortoise's asyncpg client reads an INSERT's count from the wrong field of the status
        ("INSERT 0 1": it takes the OID, always 0), so PostgreSQL INSERTs count their
        RETURNING rows instead.
        """
        if self.postgres and sql.lstrip().upper().startswith("INSERT") and "RETURNING" not in sql:
            return len(await self.fetch(sql + " RETURNING 1", *values))
        query, params = self._prepare(sql, list(values))
        count, _ = await self.conn.execute_query(query, params)
        return int(count)

    async def execute_many(self, sql: str, rows: list[list[Any]]) -> None:
        """Run a statement once per row in one driver call (executemany). Rows reach the
        driver unconverted, for speed: pass datetimes, UUIDs and booleans through `param`."""
        query, _ = self._prepare(sql, [])
        await self.conn.execute_many(query, rows)

    def param(self, value: Any) -> Any:
        """`value` as this dialect's statements take it (see the class docstring)."""
        return value if self.postgres else self._sqlite_value(value)

    async def fetch_small(self, sql: str, *values: Any) -> Sequence[Sequence[Any]]:
        """A small, bounded read outside any transaction (a page of configs), as rows of values
        in the statement's column order: tuples, asyncpg records or `sqlite3.Row`s (all index
        alike), none of the per-row dicts `fetch` builds.

        SQLite: run synchronously on the event loop, on the client's read-only connection
        (WAL: it sees every committed write and blocks no writer), instead of a hop to
        aiosqlite's one worker thread and back. Under concurrent requests those hops queue
        on that thread and on the GIL, and the loop idles while they wait. A read the
        database cannot serve at once (busy) takes the regular path."""
        query, params = self._prepare(sql, list(values))
        if isinstance(self.conn, SqliteClient) and self.conn.filename != ":memory:":
            try:
                return self.conn.loop_reader().execute(query, params).fetchall()
            except sqlite3.OperationalError:
                pass
        _, rows = await self.conn.execute_query(query, params)
        return cast(Sequence[Sequence[Any]], rows)  # typed as dicts; records or sqlite3.Rows

    async def fetch(self, sql: str, *values: Any) -> list[dict[str, Any]]:
        query, params = self._prepare(sql, list(values))
        return await self.conn.execute_query_dict(query, params)

    def values_table(
        self, rows: Sequence[Sequence[Any]], columns: Sequence[tuple[str, str]]
    ) -> tuple[str, list[Any]]:
        """A table of `rows`, with its parameters, to join a statement to: `UPDATE ... FROM
        <table> AS v WHERE ... = v.message_id`. `columns` names each row's values in order,
        with its PostgreSQL type: `[("message_id", "uuid"), ("sent_at", "timestamptz")]`.
        Names and types are constants of the caller, never input.

        SQLite: `(VALUES (?, ...), ...)` under the columns' names. PostgreSQL: one array
        parameter per column, of its type, unnested: the statement's text is then the same for
        any number of rows, so asyncpg prepares it once (a new text costs a second round trip
        to prepare); and a last column `ordinal` (1, 2, ...) to keep the rows' order where it
        matters (an INSERT ... SELECT with a join: `ORDER BY v.ordinal`)."""
        for name, pg_type in columns:
            assert name.isidentifier() and pg_type.replace(" ", "").isidentifier(), name
        if self.postgres:
            names = ", ".join(f'"{name}"' for name, _ in columns)
            arrays = ", ".join(f"?::{pg_type}[]" for _, pg_type in columns)
            values = [[row[i] for row in rows] for i in range(len(columns))]
            # Only placeholders and the caller's names and types go into the text.
            table = f"unnest({arrays}) WITH ORDINALITY AS t({names}, ordinal)"
            return f"(SELECT * FROM {table})", values  # noqa: S608
        # SQLite names a VALUES table's columns column1, column2, ...: select them renamed.
        names = ", ".join(f'column{i} AS "{name}"' for i, (name, _) in enumerate(columns, 1))
        row = "(" + ", ".join("?" * len(columns)) + ")"
        values = [value for r in rows for value in r]
        table = "(VALUES " + ", ".join([row] * len(rows)) + ")"
        return f"(SELECT {names} FROM {table})", values  # noqa: S608

    def uuid(self, value: Any) -> uuid.UUID:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))

    def datetime(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(str(value))
