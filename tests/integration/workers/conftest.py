"""Worker-process tests: `mailsage worker` children on the test PostgreSQL database.

The test process only enqueues (GraphQL in process, no sender of its own: httpx's ASGI
transport runs no lifespan) and watches rows and sinks; the children do every delivery.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mailsage_gql.models import Message
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, Tenant
from tests.support.workers import WorkerPool

BATCH = """
mutation($messages: [SendEmailInput!]!) {
  sendBatch(messages: $messages) { queued failed items { message { id rfcMessageId } } }
}
"""
TERMINAL = ("SENT", "FAILED", "UNCERTAIN")


@pytest.fixture
def settings(db: Settings, smtp_ca_file: str) -> Settings:
    if db.dialect != "postgres":
        pytest.skip("worker processes share one PostgreSQL database (SQLite has one writer)")
    return db


@pytest.fixture
async def workers(settings: Settings, tmp_path: Path) -> AsyncIterator[WorkerPool]:
    """Factory of worker processes; all of them are stopped (or killed) at teardown."""
    pool = WorkerPool(settings, tmp_path)
    try:
        yield pool
    finally:
        await pool.stop_all()


async def queue_batch(
    gql: GraphQL, tenant: Tenant, count: int, *, subject: str = "Batch"
) -> dict[str, str]:
    """Queue `count` one-recipient messages with one sendBatch; returns {Message-ID: id}."""
    messages = [
        {"to": [f"rcpt{i}@example.org"], "subject": f"{subject} {i}", "text": "Hello"}
        for i in range(count)
    ]
    body = await gql(BATCH, {"messages": messages}, tenant=tenant)
    assert "errors" not in body, body
    result = body["data"]["sendBatch"]
    assert (result["queued"], result["failed"]) == (count, 0), result
    return {item["message"]["rfcMessageId"]: item["message"]["id"] for item in result["items"]}


async def statuses() -> collections.Counter[str]:
    rows = await Message.all().values_list("status", flat=True)
    return collections.Counter(str(getattr(s, "value", s)) for s in rows)


async def wait_until_settled(
    count: int,
    *,
    settled: tuple[str, ...] = TERMINAL,
    timeout: float,
    workers: WorkerPool,
    owners: set[str] | None = None,
) -> collections.Counter[str]:
    """Poll until `count` messages are in one of the `settled` statuses; returns all counts.
    `owners`, when given, collects the lease owners (workers) seen holding messages."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                counts = await statuses()
                if owners is not None:
                    owners.update(
                        await Message.filter(lease_owner__isnull=False)
                        .distinct()
                        .values_list("lease_owner", flat=True)
                    )
                if sum(counts[s] for s in settled) >= count:
                    return counts
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(
            f"not settled after {timeout}s: {dict(await statuses())}\n{workers.logs()}"
        ) from None


def config_input(sink: Any, name: str, **extra: Any) -> dict[str, Any]:
    """A plain-SMTP config for a sink (in process or another process) on 127.0.0.1."""
    config: dict[str, Any] = {
        "name": name,
        "host": sink.host,
        "port": sink.port,
        "useTls": False,
        "fromEmail": "sender@example.com",
        "maxConnections": 4,
    }
    config.update(extra)
    return config
