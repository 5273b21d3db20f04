"""Benchmark harness: fresh databases, mailsage/sink subprocesses, GraphQL calls, tables."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MAILSAGE = str(BIN / "mailsage")
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
HOST = "127.0.0.1"
#: Run another tree of the package (e.g. `git archive HEAD | tar -x -C DIR`) instead of the
#: working copy: children get PYTHONPATH=BENCH_SRC, which wins over the editable install.
SRC = os.environ.get("BENCH_SRC", "")
#: Empty: `mailsage serve` as shipped (uvicorn picks uvloop). "asyncio": bench/serve_loop.py.
SERVE_LOOP = os.environ.get("BENCH_SERVE_LOOP", "")

#: ~2 KB of body text: 26 lines of 78 characters.
BODY = "".join(
    f"{i:02d} The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\n"[:78]
    + "\n"
    for i in range(26)
)


def _sigterm_to_exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """SIGTERM unwinds like Ctrl-C, so every `with` block stops its children."""
    signal.signal(signal.SIGTERM, _sigterm_to_exit)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def secret_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


# -- processes -----------------------------------------------------------------------------


@dataclass
class Child:
    """A child process in its own session (Ctrl-C reaches only us; we stop it)."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


@dataclass
class Harness:
    """Owns a temp dir and every child process; `close()` (or `with`) stops them all."""

    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mailsage-bench-")))
    children: list[Child] = field(default_factory=list)
    pg_databases: list[str] = field(default_factory=list)

    def __enter__(self) -> Harness:
        install_signal_handlers()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for child in reversed(self.children):
            with contextlib.suppress(Exception):
                child.stop()
        self.children.clear()
        for url in self.pg_databases:
            with contextlib.suppress(Exception):
                asyncio.run(_drop_pg(url))
        self.pg_databases.clear()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def spawn(self, name: str, args: Sequence[str], *, env: dict[str, str] | None = None) -> Child:
        log_path = self.tmp / f"{name}-{len(self.children)}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log_file,
            start_new_session=True,
        )
        log_file.close()
        child = Child(name=name, process=process, log_path=log_path)
        self.children.append(child)
        return child

    # -- databases ---------------------------------------------------------------------------

    def database(self, db: str) -> str:
        """A fresh, unmigrated database: a temp SQLite file or a new PostgreSQL database."""
        if db == "sqlite":
            return f"sqlite://{self.tmp / f'mailsage-{uuid.uuid4().hex[:8]}.db'}"
        if db == "postgres":
            url = asyncio.run(_create_pg())
            self.pg_databases.append(url)
            return url
        raise ValueError(f"unknown database {db!r}")

    # -- sinks -------------------------------------------------------------------------------

    def sink(self, kind: str) -> Sink:
        """An SMTP sink in its own process: "fast" (bench/fast_sink.py) or "aiosmtpd"."""
        record = self.tmp / f"sink-{kind}-{uuid.uuid4().hex[:6]}.log"
        module = {"fast": "bench.fast_sink", "aiosmtpd": "bench.aiosmtpd_sink"}[kind]
        args = [sys.executable, "-m", module, "--port", "0", "--record", str(record)]
        child = self.spawn(f"sink-{kind}", args)
        assert child.process.stdout is not None
        line = child.process.stdout.readline()
        if not line:
            raise RuntimeError(f"sink {kind} did not start:\n{child.log()}")
        child.port = int(json.loads(line)["port"])
        return Sink(kind=kind, child=child, record=record)

    # -- mailsage ----------------------------------------------------------------------------

    def mailsage(self, env: dict[str, str], *args: str) -> str:
        result = subprocess.run(
            [MAILSAGE, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"mailsage {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def serve(self, env: dict[str, str], *, timeout: float = 60.0) -> Child:
        """`mailsage serve` as shipped, or on the loop named by BENCH_SERVE_LOOP (asyncio)."""
        port = free_port()
        command = [MAILSAGE]
        if SERVE_LOOP:
            command = [sys.executable, "-m", "bench.serve_loop", SERVE_LOOP]
        args = [*command, "serve", "--host", HOST, "--port", str(port)]
        child = self.spawn(
            "serve",
            args,
            env={**env, "PYTHONPATH": f"{SRC}:{ROOT}" if SRC else str(ROOT)},
        )
        child.port = port
        wait_ready(child, f"http://{HOST}:{port}/readyz", timeout=timeout)
        return child

    def worker(self, env: dict[str, str], *, concurrency: int) -> Child:
        env = {**env, "MAILSAGE_LOG_LEVEL": "info"}  # only start/stop lines are at info
        return self.spawn(
            "worker", [MAILSAGE, "worker", "--concurrency", str(concurrency)], env=env
        )

    def uvicorn_app(self, app: str, env: dict[str, str], *, timeout: float = 60.0) -> Child:
        """Any ASGI app under uvicorn (same server options as `mailsage serve`)."""
        port = free_port()
        args = [sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(port)]
        args += ["--log-level", "warning", "--ws", "websockets-sansio", "--lifespan", "on"]
        if SERVE_LOOP:
            args += ["--loop", SERVE_LOOP]
        child = self.spawn("uvicorn", args, env=env)
        child.port = port
        wait_ready(child, f"http://{HOST}:{port}/readyz", timeout=timeout)
        return child


def wait_worker_running(child: Child, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while "running; stop with SIGTERM" not in child.log():
        child.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker not running after {timeout}s:\n{child.log()}")
        time.sleep(0.05)


def wait_ready(child: Child, url: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        child.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{child.name} not ready after {timeout}s:\n{child.log()}")
        time.sleep(0.05)


async def _create_pg() -> str:
    import asyncpg

    name = f"mailsage_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


async def _drop_pg(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def mailsage_env(database_url: str, key: str, **overrides: object) -> dict[str, str]:
    """This environment without MAILSAGE_*, then the bench settings and `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILSAGE_")}
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": key,
        "allow_private_smtp_hosts": "true",
        "rate_limit_per_second": 0,
        "log_level": "warning",
        "poll_interval": 1.0,
    }
    values.update(overrides)
    for name, value in values.items():
        env["MAILSAGE_" + name.upper()] = str(value)
    if SRC:
        env["PYTHONPATH"] = SRC
    return env


# -- sinks ---------------------------------------------------------------------------------


@dataclass
class Sink:
    """A sink process; its record file holds one `<wall time> <Message-ID>` line per message."""

    kind: str
    child: Child
    record: Path
    _offset: int = 0
    _seen: list[tuple[float, str]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.child.port

    def poll(self) -> list[tuple[float, str]]:
        """All records so far (reads only what was appended since the last call)."""
        if self.record.exists():
            with self.record.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
            end = data.rfind(b"\n") + 1
            self._offset += end
            for line in data[:end].splitlines():
                stamp, _, message_id = line.decode().partition(" ")
                self._seen.append((float(stamp), message_id))
        return self._seen

    def count(self) -> int:
        return len(self.poll())

    def reset(self) -> None:
        """Forget what was read so far (new records only count from here)."""
        self.poll()
        self._seen = []

    def wait_for(self, count: int, *, stall_timeout: float = 30.0) -> bool:
        """Until `count` records; False when no new record came for `stall_timeout`."""
        last, last_change = -1, time.monotonic()
        while (n := self.count()) < count:
            self.child.check_alive()
            if n != last:
                last, last_change = n, time.monotonic()
            elif time.monotonic() - last_change > stall_timeout:
                return False
            time.sleep(0.01)
        return True


def duplicates_and_missing(records: list[tuple[float, str]], expected: set[str]) -> tuple[int, int]:
    ids = [m for _, m in records]
    duplicates = len(ids) - len(set(ids))
    missing = len(expected - set(ids))
    return duplicates, missing


# -- GraphQL -------------------------------------------------------------------------------

CONFIG_FIELDS = (
    "id name host port username useTls fromEmail isDefault dailyLimit maxPerMinute sentToday "
    "remainingToday resetsAt hasPassword priority maxConnections createdAt updatedAt"
)


class Api:
    """A small synchronous GraphQL client for setup and for the timed calls."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120
        )

    def close(self) -> None:
        self.client.close()

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def create_config(
        self, *, port: int, max_connections: int, name: str = "sink", default: bool = True
    ) -> str:
        data = self.gql(
            "mutation($i: SmtpConfigInput!) { createSmtpConfig(input: $i) { id } }",
            {
                "i": {
                    "name": name,
                    "host": HOST,
                    "port": port,
                    "fromEmail": "bench@example.com",
                    "useTls": False,
                    "isDefault": default,
                    "dailyLimit": 10_000_000,
                    "maxConnections": max_connections,
                }
            },
        )
        return str(data["createSmtpConfig"]["id"])

    def send_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        data = self.gql(
            "mutation($m: [SendEmailInput!]!) { sendBatch(messages: $m) { queued failed "
            "items { index message { id rfcMessageId } error { code message } } } }",
            {"m": items},
        )
        result = data["sendBatch"]
        if result["failed"]:
            raise RuntimeError(f"sendBatch failed items: {result['items'][:3]}")
        return [item["message"] for item in result["items"]]

    def send_email(self, item: dict[str, Any]) -> dict[str, Any]:
        data = self.gql(
            "mutation($i: SendEmailInput!) { sendEmail(input: $i) { id rfcMessageId } }",
            {"i": item},
        )
        message: dict[str, Any] = data["sendEmail"]
        return message


def message_input(i: int) -> dict[str, Any]:
    return {"to": [f"rcpt{i}@example.org"], "subject": f"Benchmark message {i}", "text": BODY}


def create_account(harness: Harness, env: dict[str, str], name: str = "Bench") -> dict[str, str]:
    out: dict[str, str] = json.loads(harness.mailsage(env, "create-account", name, "--json"))
    return out


@dataclass
class Stack:
    """A migrated database with an account, a running `mailsage serve` and its API."""

    db: str
    url: str
    key: str
    serve: Child
    api: Api
    account: dict[str, str]

    def env(self, **overrides: object) -> dict[str, str]:
        return mailsage_env(self.url, self.key, **overrides)


def start_stack(harness: Harness, db: str, **serve_overrides: object) -> Stack:
    url = harness.database(db)
    key = secret_key()
    env = mailsage_env(url, key)
    harness.mailsage(env, "migrate")
    account = create_account(harness, env)
    serve = harness.serve(mailsage_env(url, key, **serve_overrides))
    api = Api(f"http://{HOST}:{serve.port}", account["api_key"])
    return Stack(db=db, url=url, key=key, serve=serve, api=api, account=account)


# -- figures -------------------------------------------------------------------------------


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds the processes `pids` have used so far (from /proc)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue  # gone
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes (its backends included)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if stat[stat.index("(") + 1 : stat.rindex(")")] == "postgres":
                pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU used per message by groups of processes between start() and stop(): the
    machine has two cores, so these say how many messages a second it can carry at most.
    PostgreSQL counts every server process (other work on the server included)."""

    def __init__(self, **groups: Callable[[], Sequence[int]]) -> None:
        self.groups = groups
        self._start: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pids()) for name, pids in self.groups.items()}

    def stop(self) -> None:
        self.used = {
            name: cpu_seconds(pids()) - self._start[name] for name, pids in self.groups.items()
        }

    def per_message_us(self, messages: int) -> dict[str, float]:
        return {name: used * 1e6 / max(messages, 1) for name, used in self.used.items()}


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (paste-able into docs/benchmarks.md)."""

    def fmt(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        return str(value)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    out: list[float] = []
    start = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - start)


def code_version() -> str:
    """What is measured: BENCH_SRC's `.commit` file, or this checkout's commit (+dirty)."""
    if SRC:
        marker = Path(SRC) / ".commit"
        return f"{SRC} ({marker.read_text().strip() if marker.exists() else 'unknown commit'})"

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    dirty = git("status", "--porcelain", "--", "mailsage_gql", "migrations").strip()
    return f"working copy at {git('rev-parse', '--short', 'HEAD').strip()}" + (
        " + uncommitted changes" if dirty else ""
    )


def header(title: str) -> None:
    loop = SERVE_LOOP or "uvicorn default (uvloop)"
    print(
        f"{title}\ncode: {code_version()}; serve loop: {loop}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def split_ints(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x.strip()]


def split_strs(raw: str) -> list[str]:
    return [x.strip() for x in raw.split(",") if x.strip()]


# -- profiling -----------------------------------------------------------------------------

PY_SPY = BIN / "py-spy"


def start_profile(harness: Harness, pid: int, name: str, seconds: float) -> Path | None:
    """py-spy record of `pid` for `seconds` (collapsed stacks); None when py-spy is absent."""
    if not PY_SPY.exists():
        print(f"(py-spy not installed in {BIN}; no profile)", file=sys.stderr)
        return None
    out = harness.tmp / f"profile-{name}.txt"
    args = [str(PY_SPY), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200"]
    args += ["-f", "raw", "-o", str(out), "--nonblocking"]
    harness.spawn(f"py-spy-{name}", args)
    return out


def summarize_profile(path: Path, *, top: int = 12, wait: float = 120.0) -> str:
    """Top functions by own samples and by inclusive samples (package frames only)."""
    deadline = time.monotonic() + wait
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    if not path.exists():
        return f"(no profile written at {path})"
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf = frames[-1]
        own[leaf] = own.get(leaf, 0) + count
        for frame in set(frames):
            if "mailsage_gql" in frame or "tortoise" in frame or "strawberry" in frame:
                inclusive[frame] = inclusive.get(frame, 0) + count
    lines = [f"profile {path.name}: {total} samples"]
    lines.append("  own time (leaf frames):")
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {100 * count / total:5.1f}%  {_short(frame)}")
    lines.append("  inclusive (mailsage_gql / tortoise / strawberry frames):")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {100 * count / total:5.1f}%  {_short(frame)}")
    return "\n".join(lines)


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py:123)" keeping the package part.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"
