"""Baseline app: raw Starlette JSON routes on the same database, no ORM, no GraphQL.

`uvicorn bench.raw_starlette:app` with BENCH_DATABASE_URL (sqlite://PATH or postgres://...).
- GET /raw/smtp-configs: the API-key check (SHA-256, constant-time compare) and the same two
  queries as `smtpConfigs` (configs by priority, then today's usage), as the same JSON shape.
- POST /raw/batch: {"messages": [...]} stored as one row each in `bench_raw_message`, one
  transaction (the least work that makes a batch durable), answering ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

URL = os.environ.get("BENCH_DATABASE_URL", "")
CONFIG_COLUMNS = (
    "id, name, host, port, username, use_tls, from_email, is_default, daily_limit, "
    "max_per_minute, password_sealed IS NOT NULL AS has_password, priority, max_connections, "
    "created_at, updated_at"
)
CREATE_RAW = (
    "CREATE TABLE IF NOT EXISTS bench_raw_message (id VARCHAR(36) PRIMARY KEY, "
    "account_id VARCHAR(36) NOT NULL, payload TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
)


class Db:
    """Two backends, the same three operations."""

    def __init__(self, url: str) -> None:
        self.postgres = not url.startswith("sqlite://")
        self.url = url
        self.pool: Any = None
        self.sqlite: sqlite3.Connection | None = None

    async def open(self) -> None:
        if self.postgres:
            import asyncpg

            self.pool = await asyncpg.create_pool(self.url, min_size=2, max_size=10)
            async with self.pool.acquire() as conn:
                await conn.execute(CREATE_RAW)
        else:
            self.sqlite = sqlite3.connect(self.url.split("://", 1)[1], check_same_thread=False)
            self.sqlite.execute("PRAGMA journal_mode=WAL")
            self.sqlite.execute(CREATE_RAW)
            self.sqlite.commit()

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        if self.sqlite is not None:
            self.sqlite.close()

    async def api_key(self, key_id: str) -> tuple[str, str, Any] | None:
        sql = "SELECT account_id, secret_hash, revoked_at FROM api_key WHERE id = "
        if self.postgres:
            row = await self.pool.fetchrow(sql + "$1", key_id)
            return None if row is None else (str(row[0]), row[1], row[2])
        assert self.sqlite is not None
        found = self.sqlite.execute(sql + "?", (key_id,)).fetchone()
        return None if found is None else (str(found[0]), found[1], found[2])

    async def configs(self, account_id: str, day: str) -> tuple[list[Any], dict[str, int]]:
        order = " ORDER BY priority, created_at, id"
        if self.postgres:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(
                    f"SELECT {CONFIG_COLUMNS} FROM smtp_config WHERE account_id = $1{order}",
                    uuid.UUID(account_id),
                )
                ids = [r["id"] for r in rows]
                usage = await conn.fetch(
                    "SELECT config_id, sent FROM smtp_usage WHERE config_id = ANY($1) AND day = $2",
                    ids,
                    datetime.fromisoformat(day).date(),
                )
            return [dict(r) for r in rows], {str(u[0]): u[1] for u in usage}
        assert self.sqlite is not None
        self.sqlite.row_factory = sqlite3.Row
        rows = self.sqlite.execute(
            f"SELECT {CONFIG_COLUMNS} FROM smtp_config WHERE account_id = ?{order}", (account_id,)
        ).fetchall()
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        usage = self.sqlite.execute(
            f"SELECT config_id, sent FROM smtp_usage WHERE config_id IN ({marks}) AND day = ?",
            (*ids, day),
        ).fetchall()
        return [dict(r) for r in rows], {str(u[0]): u[1] for u in usage}

    async def insert_batch(self, account_id: str, messages: list[Any]) -> list[str]:
        now = datetime.now(UTC)
        rows = [(str(uuid.uuid4()), account_id, json.dumps(m), now) for m in messages]
        sql = "INSERT INTO bench_raw_message (id, account_id, payload, created_at) VALUES "
        if self.postgres:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.executemany(sql + "($1, $2, $3, $4)", rows)
        else:
            assert self.sqlite is not None
            with self.sqlite:
                self.sqlite.executemany(
                    sql + "(?, ?, ?, ?)", [(a, b, c, d.isoformat()) for a, b, c, d in rows]
                )
        return [r[0] for r in rows]


DB = Db(URL)


def _iso(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return str(value.isoformat())


async def _account(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith("ms_") or len(token) < 17:
        return None
    key_id, secret = token[3:15], token[16:]
    found = await DB.api_key(key_id)
    presented = hashlib.sha256(secret.encode()).hexdigest()
    expected = found[1] if found else hashlib.sha256(b"").hexdigest()
    if not hmac.compare_digest(presented, expected) or found is None or found[2] is not None:
        return None
    return found[0]


async def smtp_configs(request: Request) -> Response:
    account_id = await _account(request)
    if account_id is None:
        return JSONResponse({"error": {"code": "unauthenticated"}}, status_code=401)
    now = datetime.now(UTC)
    resets_at = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows, usage = await DB.configs(account_id, now.date().isoformat())
    out = []
    for r in rows:
        sent = usage.get(str(r["id"]), 0)
        out.append(
            {
                "id": str(r["id"]),
                "name": r["name"],
                "host": r["host"],
                "port": r["port"],
                "username": r["username"],
                "useTls": bool(r["use_tls"]),
                "fromEmail": r["from_email"],
                "isDefault": bool(r["is_default"]),
                "dailyLimit": r["daily_limit"],
                "maxPerMinute": r["max_per_minute"],
                "sentToday": sent,
                "remainingToday": max(r["daily_limit"] - sent, 0),
                "resetsAt": resets_at.isoformat(),
                "hasPassword": bool(r["has_password"]),
                "priority": r["priority"],
                "maxConnections": r["max_connections"],
                "createdAt": _iso(r["created_at"]),
                "updatedAt": _iso(r["updated_at"]),
            }
        )
    return JSONResponse({"data": {"smtpConfigs": out}})


async def batch(request: Request) -> Response:
    account_id = await _account(request)
    if account_id is None:
        return JSONResponse({"error": {"code": "unauthenticated"}}, status_code=401)
    body = await request.json()
    ids = await DB.insert_batch(account_id, body["messages"])
    return JSONResponse({"queued": len(ids), "ids": ids})


async def readyz(request: Request) -> Response:
    return JSONResponse({"ok": True})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await DB.open()
    yield
    await DB.close()


app = Starlette(
    routes=[
        Route("/raw/smtp-configs", smtp_configs, methods=["GET", "POST"]),
        Route("/raw/batch", batch, methods=["POST"]),
        Route("/readyz", readyz),
    ],
    lifespan=lifespan,
)
