"""Given an API process and two worker processes on PostgreSQL in the middle of a run, when the
PostgreSQL server restarts (every connection cut, open transactions rolled back), then the API
and the workers recover without anyone acting and no message is lost: each is SENT once, or
UNCERTAIN and received at most once."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import httpx
import pytest

from mailsage_gql.models import Account
from mailsage_gql.settings import Settings
from tests.reliability.conftest import (
    ServerFactory,
    api_client,
    message_ids_by_status,
    relay_config,
    wait_for_settled,
)
from tests.support.cli import fetch
from tests.support.processes import (
    can_restart_postgres,
    heal_orm_connections,
    prepare_database,
    process_env,
    restart_postgres,
    wait_until_ready,
)
from tests.support.smtp_sink import SinkProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not can_restart_postgres(), reason="needs a local PostgreSQL cluster it may restart"
    ),
]

BEFORE = 3000  # queued before the restart
DURING = 600  # queued by a client that keeps going through the restart
ENV = process_env({"lease_seconds": 3, "serve_sender": "false"})


def batch(start: int, count: int) -> dict[str, Any]:
    return {
        "messages": [
            {
                "to": [f"rcpt{i}@example.org"],
                "subject": f"Restart {i}",
                "text": "Hello",
                "idempotency_key": f"restart-{i}",
            }
            for i in range(start, start + count)
        ]
    }


async def post_until_accepted(client: httpx.AsyncClient, body: dict[str, Any]) -> int:
    """POST a batch until it is accepted (a retried batch is deduplicated by its idempotency
    keys); returns how many tries it took. Fails after 60 s."""
    tries = 0
    async with asyncio.timeout(60):
        while True:
            tries += 1
            try:
                response = await client.post("/api/v1/emails/batch", json=body)
                if response.status_code == 202:
                    assert response.json()["failed"] == 0, response.text
                    return tries
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def test_postgres_restart_mid_run_loses_nothing_and_every_process_recovers_by_itself(
    db: Settings,
    fresh_pg_url: str,
    servers: ServerFactory,
    process_workers: Any,
    smtp_sink_process: Any,
) -> None:
    if db.dialect != "postgres":
        pytest.skip("restarts the PostgreSQL server; the session's SQLite database is not at stake")
    # given an API process, two workers and a provider in another process, in mid-run
    # (this process holds open connections to the session database too)
    url = fresh_pg_url
    api_key = await prepare_database(url)
    sink: SinkProcess = await smtp_sink_process()
    server = await servers(url, **ENV)
    workers = process_workers(url)
    try:
        async with api_client(server.url, api_key) as client:
            created = await client.post("/api/v1/smtp/configs", json=relay_config(sink.port))
            assert created.status_code == 201, created.text
            await workers.start_many(2, concurrency=8, env=ENV)
            for start in range(0, BEFORE, 1000):
                await post_until_accepted(client, batch(start, 1000))
            await sink.wait_for_records(200, timeout=60)

            # when the PostgreSQL server restarts while a client keeps queueing
            received_at_restart = len(sink.records())
            feeder = asyncio.gather(
                *(post_until_accepted(client, batch(BEFORE + s, 50)) for s in range(0, DURING, 50))
            )
            away = await restart_postgres()
            tries = await feeder

            # then the API answers again by itself and takes new mail
            await wait_until_ready(client, timeout=30)
            after = await client.post(
                "/api/v1/emails",
                json={"to": ["late@example.org"], "subject": "After", "text": "Hi"},
            )
            assert after.status_code == 202, after.text

            # and the workers (never restarted) settle every message
            total = BEFORE + DURING + 1
            counts = await wait_for_settled(
                url, total, timeout=180, logs=lambda: server.log() + workers.logs()
            )
        assert received_at_restart < BEFORE, "the restart landed after the run"
        assert all(w.running for w in workers.workers), workers.logs()
        assert set(counts) <= {"SENT", "UNCERTAIN"}, (counts, workers.logs())
        assert sum(counts.values()) == total  # every accepted message exists once
        keys = await fetch(url, "SELECT count(DISTINCT idempotency_key) AS n FROM message")
        assert keys[0]["n"] == BEFORE + DURING
        by_status = await message_ids_by_status(url)
        received = collections.Counter(sink.message_ids())
        missing = [m for m in by_status["SENT"] if received[m] == 0]
        repeated = {m: received[m] for m in by_status["SENT"] if received[m] > 1}
        assert (missing, repeated) == ([], {}), workers.logs()
        assert all(received[m] <= 1 for m in by_status["UNCERTAIN"])
        duplicates = sum(n - 1 for n in received.values())
        assert duplicates <= len(by_status["UNCERTAIN"])
        print(  # the figures for docs/reliability.md (pytest -s)
            f"restart: away {away:.1f}s, received at restart {received_at_restart}, "
            f"counts {dict(counts)}, duplicates {duplicates}, feeder tries {sum(tries)}"
        )
    finally:
        # this process's own session connections were cut too: make them usable again
        await heal_orm_connections()
    assert await Account.all().count() == 0  # the session database answers this process again
