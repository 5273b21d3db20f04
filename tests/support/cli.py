"""Run the `mailsage` command as a subprocess, and read its database without the ORM."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

REPO = Path(__file__).resolve().parents[2]


def cli_env(database_url: str, **variables: str) -> dict[str, str]:
    """The environment of a CLI run: no inherited MAILSAGE_* variable, then `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILSAGE_")}
    env["MAILSAGE_DATABASE_URL"] = database_url
    env["MAILSAGE_LOG_LEVEL"] = "info"
    env.update({f"MAILSAGE_{k.upper()}": v for k, v in variables.items()})
    return env


def run_cli(*args: str, database_url: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailsage_gql.cli", *args],
        env=cli_env(database_url, **variables),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def fetch(database_url: str, sql: str) -> list[dict[str, Any]]:
    """Rows of `sql` on the database at `database_url` (no Tortoise: the suite's ORM is busy)."""
    if database_url.startswith("sqlite://"):
        with sqlite3.connect(database_url.removeprefix("sqlite://")) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql).fetchall()]
    conn = await asyncpg.connect(database_url)
    try:
        return [dict(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def execute(database_url: str, sql: str) -> None:
    if database_url.startswith("sqlite://"):
        with sqlite3.connect(database_url.removeprefix("sqlite://")) as conn:
            conn.execute(sql)
        return
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
