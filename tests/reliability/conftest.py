"""Reliability campaign (issue 6, faults): kill -9, API crashes, a PostgreSQL restart,
providers failing in every SMTP phase, limits under concurrency. Whole processes run on
databases of their own; rows are read with plain SQL (tests.support.cli.fetch)."""

from __future__ import annotations

import collections
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailsage_gql.settings import Settings
from tests.support.cli import fetch
from tests.support.databases import SECRET_KEY, drop_pg_database, new_database_url
from tests.support.processes import ServerProcess, serve_env
from tests.support.waiting import eventually
from tests.support.workers import WorkerPool

SETTLED = ("SENT", "FAILED", "UNCERTAIN")


def env_int(name: str, default: int) -> int:
    """A campaign size from the environment (CI runs the full default)."""
    return int(os.environ.get(name, default))


@pytest.fixture
async def fresh_pg_url(tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database of this test's own; dropped afterwards."""
    url = await new_database_url("postgres", tmp_path)
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'embedded' / 'mailsage.db'}"


ServerFactory = Callable[..., Awaitable[ServerProcess]]


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Factory: `server = await servers(database_url, **settings)`, started; every server is
    killed at teardown whatever the test did."""
    started: list[ServerProcess] = []

    async def start(database_url: str, **overrides: object) -> ServerProcess:
        server = ServerProcess(
            env=serve_env(database_url, **overrides),
            log_dir=tmp_path,
            name=f"serve-{len(started)}",
        )
        started.append(server)
        await server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.kill()


@pytest.fixture
async def process_workers(tmp_path: Path) -> AsyncIterator[Callable[[str], WorkerPool]]:
    """Factory: `pool = process_workers(database_url)`; every worker stopped at teardown."""
    pools: list[WorkerPool] = []

    def make(database_url: str) -> WorkerPool:
        log_dir = tmp_path / f"workers-{len(pools)}"
        log_dir.mkdir()
        pool = WorkerPool(Settings(database_url=database_url, secret_key=SECRET_KEY), log_dir)
        pools.append(pool)
        return pool

    try:
        yield make
    finally:
        for pool in pools:
            await pool.stop_all()


def api_client(url: str, api_key: str, *, timeout: float = 30.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout
    )


def relay_config(port: int, name: str = "Relay", **extra: Any) -> dict[str, Any]:
    """A REST body for a plain-SMTP provider on 127.0.0.1:`port`."""
    config: dict[str, Any] = {
        "name": name,
        "host": "127.0.0.1",
        "port": port,
        "use_tls": False,
        "from_email": "sender@example.com",
        "is_default": True,
        "daily_limit": 1_000_000,
        "max_connections": 16,
    }
    config.update(extra)
    return config


async def status_counts(database_url: str) -> collections.Counter[str]:
    rows = await fetch(database_url, "SELECT status, count(*) AS n FROM message GROUP BY status")
    return collections.Counter({str(r["status"]): int(r["n"]) for r in rows})


async def wait_for_settled(
    database_url: str, count: int, *, timeout: float, logs: Callable[[], str]
) -> collections.Counter[str]:
    """Poll until `count` messages are SENT, FAILED or UNCERTAIN; fails after `timeout` with
    the counts and the processes' logs."""
    try:
        return await eventually(
            lambda: status_counts(database_url),
            lambda counts: sum(counts[s] for s in SETTLED) >= count,
            timeout=timeout,
            what=f"{count} messages settled",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs()}") from None


async def message_ids_by_status(database_url: str) -> dict[str, list[str]]:
    rows = await fetch(database_url, "SELECT status, message_id_header FROM message")
    result: dict[str, list[str]] = collections.defaultdict(list)
    for row in rows:
        result[str(row["status"])].append(str(row["message_id_header"]))
    return result
