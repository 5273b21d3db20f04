"""Whole processes for fault tests: `mailsage serve` as a child, fresh databases set up by the
CLI, and restarting the PostgreSQL server itself.

The test process never opens the ORM on these databases (its own ORM holds the session
databases): `mailsage migrate` and `mailsage create-account` run as children, and rows are read
with plain SQL (tests.support.cli.fetch).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from tortoise import connections

from mailsage_gql.settings import Settings
from tests.support.cli import run_cli
from tests.support.databases import PG_ADMIN_URL, SECRET_KEY, postgres_reachable
from tests.support.secret_audit import audit_log_file
from tests.support.workers import MAILSAGE, ROOT, worker_env

#: uvicorn's start-up line; with `--port 0` it names the port it bound.
_RUNNING = re.compile(r"Uvicorn running on http://[\d.]+:(\d+)")


@dataclass
class ServerProcess:
    """One `mailsage serve --port 0` child; `url` once it listens. Restartable on the same
    environment (a kill -9 then a start is a crash and a restart)."""

    env: dict[str, str]
    log_dir: Path
    name: str = "serve"
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    starts: int = 0
    log_paths: list[Path] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')}" for p in self.log_paths
        )

    async def start(self, *, timeout: float = 30.0) -> str:
        """Start the server and wait until it listens; returns its base URL."""
        assert not self.running, "already running"
        log_path = self.log_dir / f"{self.name}-{self.starts}.log"
        self.starts += 1
        self.log_paths.append(log_path)
        audit_log_file(log_path)
        with log_path.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [str(MAILSAGE), "serve", "--host", "127.0.0.1", "--port", "0"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            async with asyncio.timeout(timeout):
                while not (match := _RUNNING.search(log_path.read_text(errors="replace"))):
                    if not self.running:
                        raise AssertionError(f"mailsage serve exited early:\n{self.log()}")
                    await asyncio.sleep(0.05)
        except BaseException:
            self.kill()
            raise
        self.url = f"http://127.0.0.1:{match.group(1)}"
        return self.url

    def kill(self) -> None:
        """kill -9: no shutdown at all; waits for the process to be gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    async def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL when it lingers."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                while self.process.poll() is None:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            self.kill()


def serve_env(database_url: str, **overrides: object) -> dict[str, str]:
    """The environment of `mailsage serve` or `mailsage worker` on a database of its own:
    the session secret key, private SMTP hosts allowed, `overrides` (worker_env's rules)."""
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
    return worker_env(settings, **overrides)


async def prepare_database(database_url: str) -> str:
    """Migrate a fresh database and create an account in it, with the CLI (never the ORM of
    this process); returns the account's API key."""
    env = {"secret_key": SECRET_KEY}
    for args in (("migrate",), ("create-account", "Reliability", "--json")):
        done = await asyncio.to_thread(run_cli, *args, database_url=database_url, **env)
        assert done.returncode == 0, done.stderr
    api_key: str = json.loads(done.stdout)["api_key"]
    return api_key


async def wait_until_ready(client: httpx.AsyncClient, *, timeout: float) -> None:
    """Poll GET /readyz (the database answers) until 200; fails after `timeout`."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


# -- the PostgreSQL server -------------------------------------------------------------------


def postgres_cluster() -> tuple[str, str]:
    """(version, cluster) of the local PostgreSQL cluster (/etc/postgresql/<v>/<name>)."""
    base = Path("/etc/postgresql")
    for version in sorted(base.iterdir(), reverse=True):
        for cluster in sorted(version.iterdir()):
            if (cluster / "postgresql.conf").exists():
                return version.name, cluster.name
    raise RuntimeError("no PostgreSQL cluster under /etc/postgresql")


def can_restart_postgres() -> bool:
    """Whether this machine runs the test server as a local cluster we may restart."""
    try:
        postgres_cluster()
    except (OSError, RuntimeError):
        return False
    return "127.0.0.1" in PG_ADMIN_URL and os.access("/usr/bin/pg_ctlcluster", os.X_OK)


async def restart_postgres(*, mode: str = "fast", timeout: float = 60.0) -> float:
    """Restart the PostgreSQL server (every connection is cut, in-flight transactions roll
    back) and wait until it accepts connections again; returns the seconds it was away."""
    version, cluster = postgres_cluster()
    loop = asyncio.get_running_loop()
    started = loop.time()
    process = await asyncio.create_subprocess_exec(
        "pg_ctlcluster",
        "--skip-systemctl-redirect",
        version,
        cluster,
        "restart",
        "--mode",
        mode,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode == 0, output.decode(errors="replace")
    async with asyncio.timeout(timeout):
        while not await postgres_reachable():
            await asyncio.sleep(0.1)
    return loop.time() - started


async def heal_orm_connections(label: str = "postgres") -> None:
    """After a server restart: make this process's Tortoise pool replace every connection
    (asyncpg would otherwise hand out a dead one once), then prove one works."""
    try:
        client = connections.get(label)
    except Exception:  # the ORM of this process has no such connection open: nothing to heal
        return
    pool = getattr(client, "_pool", None)
    if isinstance(pool, asyncpg.Pool):
        await pool.expire_connections()
    await client.execute_query("SELECT 1")


def process_env(overrides: Mapping[str, object]) -> dict[str, object]:
    """Short timeouts and leases for fault tests, then `overrides`."""
    values: dict[str, object] = {
        "smtp_connect_timeout": 2.0,
        "smtp_command_timeout": 2.0,
        "smtp_message_timeout": 5.0,
        "poll_interval": 0.2,
        "retry_schedule": (0.5, 1.0),
    }
    values.update(overrides)
    return values
