"""`mailsage worker` processes for multi-process tests: start with an environment, stop, kill -9.

Each worker writes its log to a file (a pipe nobody reads would fill and block it). Every
process started through `WorkerPool` is killed at teardown, whatever the test did.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mailsage_gql.settings import PREFIX, Settings
from tests.support.databases import SECRET_KEY
from tests.support.secret_audit import audit_log_file

ROOT = Path(__file__).resolve().parents[2]
MAILSAGE = Path(sys.executable).with_name("mailsage")
#: Logged by `mailsage worker` once its sender and its LISTEN connection are up.
RUNNING_LINE = "running; stop with SIGTERM"


def worker_env(settings: Settings, **overrides: object) -> dict[str, str]:
    """The environment of a worker on `settings`' database: this environment without any
    MAILSAGE_* variable of its own, then the test database, key and `overrides`
    (`poll_interval=0.2` becomes MAILSAGE_POLL_INTERVAL=0.2)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    values: dict[str, object] = {
        "database_url": settings.database_url,
        "secret_key": SECRET_KEY,
        "allow_private_smtp_hosts": "true",
        "log_level": "info",
        "poll_interval": 0.2,
    }
    if settings.smtp_ca_file:
        values["smtp_ca_file"] = settings.smtp_ca_file
    values.update(overrides)
    for name, value in values.items():
        if isinstance(value, tuple):
            value = ",".join(str(v) for v in value)
        env[PREFIX + name.upper()] = str(value)
    return env


@dataclass
class WorkerProcess:
    """One `mailsage worker` child process and its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_until_running(self, *, timeout: float = 20.0) -> None:
        """Until the worker logged that it runs; fails early if it exited."""
        async with asyncio.timeout(timeout):
            while RUNNING_LINE not in self.log():
                if not self.running:
                    raise AssertionError(f"worker exited early:\n{self.log()}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """kill -9: no clean shutdown, leases and in-flight transactions are left behind."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)

    async def wait(self, *, timeout: float) -> int:
        async with asyncio.timeout(timeout):
            while (code := self.process.poll()) is None:
                await asyncio.sleep(0.05)
        return code

    async def stop(self, *, timeout: float = 15.0) -> int:
        """SIGTERM (finish in-flight work, release claims); SIGKILL if it does not exit."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await self.wait(timeout=timeout)
        except TimeoutError:
            self.kill()
            return await self.wait(timeout=timeout)


async def start_worker(
    settings: Settings,
    log_path: Path,
    *,
    concurrency: int = 4,
    env: Mapping[str, object] | None = None,
    wait: bool = True,
) -> WorkerProcess:
    """`mailsage worker --concurrency N` on `settings`' (migrated, PostgreSQL) database."""
    audit_log_file(log_path)
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [str(MAILSAGE), "worker", "--concurrency", str(concurrency)],
            cwd=ROOT,
            env=worker_env(settings, **(env or {})),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process=process, log_path=log_path)
    if wait:
        try:
            await worker.wait_until_running()
        except BaseException:
            worker.kill()
            worker.process.wait()
            raise
    return worker


class WorkerPool:
    """Starts workers for one test and guarantees they are gone afterwards."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.workers: list[WorkerProcess] = []

    async def start(
        self, *, concurrency: int = 4, env: Mapping[str, object] | None = None
    ) -> WorkerProcess:
        log_path = self.log_dir / f"worker-{len(self.workers)}.log"
        worker = await start_worker(
            self.settings, log_path, concurrency=concurrency, env=env, wait=False
        )
        self.workers.append(worker)
        await worker.wait_until_running()
        return worker

    async def start_many(
        self, count: int, *, concurrency: int = 4, env: Mapping[str, object] | None = None
    ) -> list[WorkerProcess]:
        return list(
            await asyncio.gather(
                *(self.start(concurrency=concurrency, env=env) for _ in range(count))
            )
        )

    async def stop_all(self) -> None:
        """SIGTERM every worker still running, then SIGKILL any that lingers."""
        for worker in self.workers:
            if worker.running:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                await worker.wait(timeout=10.0)
            except TimeoutError:
                worker.kill()
                await worker.wait(timeout=10.0)

    def logs(self) -> str:
        return "\n".join(f"--- {w.log_path.name} ---\n{w.log()}" for w in self.workers)
