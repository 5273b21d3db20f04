"""Given rows turned into a VALUES table with named columns, when a statement selects those
names, then it reads every row's values back in order, NULLs included; and on PostgreSQL the
statement's text is the same for any number of rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.settings import Settings

COLUMNS = [("message_id", "uuid"), ("at", "timestamptz"), ("count", "integer"), ("note", "text")]
AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def rows(n: int) -> list[tuple[object, ...]]:
    return [
        (uuid.uuid4(), AT + timedelta(seconds=i), i, None if i % 2 else f"row {i}")
        for i in range(n)
    ]


async def test_named_columns_read_back_every_row_in_order(db: Settings) -> None:
    given = rows(3)
    async with in_transaction() as conn:
        sql = RawSql(conn)
        table, values = sql.values_table(given, COLUMNS)
        order = "v.ordinal" if sql.postgres else "v.count"
        read = await sql.fetch(
            f"SELECT v.message_id, v.at, v.count, v.note FROM {table} AS v ORDER BY {order}",
            *values,
        )

    assert [
        (sql.uuid(r["message_id"]), sql.datetime(r["at"]), r["count"], r["note"]) for r in read
    ] == given


async def test_a_values_table_joins_by_name(db: Settings) -> None:
    given = rows(4)
    async with in_transaction() as conn:
        sql = RawSql(conn)
        table, values = sql.values_table(given, COLUMNS)
        read = await sql.fetch(
            f"SELECT w.note FROM {table} AS v JOIN {table} AS w ON w.message_id = v.message_id "
            "WHERE v.count = ?",
            *values,
            *values,
            2,
        )

    assert read == [{"note": "row 2"}]


async def test_postgres_statement_text_does_not_depend_on_the_row_count(db: Settings) -> None:
    async with in_transaction() as conn:
        sql = RawSql(conn)
        one, _ = sql.values_table(rows(1), COLUMNS)
        many, _ = sql.values_table(rows(50), COLUMNS)

    assert (one == many) == sql.postgres
