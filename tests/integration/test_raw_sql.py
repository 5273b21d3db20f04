"""Given the hand-written SQL helper, when small reads take the event-loop path (SQLite),
then they read exactly what the regular path reads, see every committed write at once, and
fall back to the regular path when the database cannot serve them (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3

import pytest

from mailsage_gql import database
from mailsage_gql.database import RawSql
from mailsage_gql.database.sqlite import SqliteClient
from mailsage_gql.models import Account
from mailsage_gql.services import accounts
from mailsage_gql.settings import Settings

QUERY = "SELECT id, name, created_at FROM account WHERE id = ?"


async def test_small_reads_match_regular_reads_and_see_committed_writes(db: Settings) -> None:
    # given an account, read both ways
    account, _ = await accounts.create_account("Before")
    sql = RawSql(database.db_connection(db))
    small = [tuple(row) for row in await sql.fetch_small(QUERY, account.id)]
    assert small == [tuple(row.values()) for row in await sql.fetch(QUERY, account.id)]
    assert small[0][1] == "Before"

    # when it is renamed (committed through the ORM's own connection)
    await Account.filter(id=account.id).update(name="After")

    # then the next small read sees it at once
    [row] = await sql.fetch_small(QUERY, account.id)
    assert row[1] == "After"


async def test_a_small_read_the_database_cannot_serve_takes_the_regular_path(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _ = await accounts.create_account("Busy")
    sql = RawSql(database.db_connection(db))

    def busy(client: SqliteClient) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(SqliteClient, "loop_reader", busy)

    [row] = await sql.fetch_small(QUERY, account.id)
    assert row[1] == "Busy"
