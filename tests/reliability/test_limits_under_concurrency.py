"""Given many processes, connections and requests racing for one limit or one default, when
they all go at once, then the database keeps the rule: a daily limit is never exceeded by
four workers of sixteen connections each, and fifty concurrent setDefaultSmtpConfig calls over
real HTTP leave exactly one default (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import collections
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailsage_gql.models import SmtpConfig
from mailsage_gql.settings import Settings
from tests.integration.delivery.conftest import create_config
from tests.integration.workers.conftest import config_input, queue_batch, wait_until_settled
from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.configs import SET_DEFAULT, gql_create
from tests.support.smtp_sink import SinkFactory
from tests.support.workers import WorkerPool

USAGE = "query($id: ID!) { smtpConfig(id: $id) { sentToday remainingToday } }"
LIMIT = 37
MESSAGES = 200
CALLS = 50


async def test_fifty_concurrent_set_default_calls_over_http_leave_exactly_one_default(
    gql: GraphQL, tenant: Tenant, live_server: LiveServer
) -> None:
    # given five configs of one account
    ids = [(await gql_create(gql, tenant, name=f"Provider {i}"))["id"] for i in range(5)]
    targets = [random.choice(ids) for _ in range(CALLS)]

    # when fifty setDefaultSmtpConfig calls race over real HTTP, each on its own connection
    async def set_default(config_id: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
            return await client.post(
                "/graphql",
                json={"query": SET_DEFAULT, "variables": {"id": config_id}},
                headers=tenant.headers,
            )

    responses = await asyncio.gather(*(set_default(t) for t in targets))

    # then every call succeeded and made its config the default when it committed
    assert [r.status_code for r in responses] == [200] * CALLS
    bodies = [r.json() for r in responses]
    assert [b.get("errors") for b in bodies] == [None] * CALLS
    assert all(b["data"]["setDefaultSmtpConfig"]["isDefault"] for b in bodies)
    # and exactly one default is left, one of those asked for
    defaults = await SmtpConfig.filter(account_id=tenant.account_id, is_default=True).all()
    assert len(defaults) == 1
    assert str(defaults[0].id) in set(targets)


class TestDailyLimitAcrossWorkers:
    @pytest.fixture
    def settings(self, db: Settings) -> Settings:
        if db.dialect != "postgres":
            pytest.skip("worker processes share one PostgreSQL database (SQLite has one writer)")
        return db

    @pytest.mark.slow
    async def test_four_workers_of_sixteen_connections_never_exceed_a_daily_limit(
        self,
        settings: Settings,
        gql: GraphQL,
        tenant: Tenant,
        smtp_sink: SinkFactory,
        tmp_path: Path,
    ) -> None:
        # given two providers limited to 37 recipients a day, 16 connections each, and four
        # workers of 16 deliveries each (a backoff beyond a day: nothing is retried today)
        sinks = [await smtp_sink(), await smtp_sink()]
        config_ids = [
            await create_config(
                gql,
                tenant,
                config_input(sink, f"P{i}", priority=i, dailyLimit=LIMIT, maxConnections=16),
            )
            for i, sink in enumerate(sinks)
        ]
        pool = WorkerPool(settings, tmp_path)
        try:
            await pool.start_many(
                4, concurrency=16, env={"retry_schedule": (2 * 86400.0,), "lease_seconds": 10}
            )

            # when 200 one-recipient messages race for the 74 places
            queued = await queue_batch(gql, tenant, MESSAGES)
            counts = await wait_until_settled(
                MESSAGES,
                settled=("SENT", "DEFERRED", "FAILED", "UNCERTAIN"),
                timeout=60,
                workers=pool,
            )
        finally:
            await pool.stop_all()

        # then each provider received exactly its limit, once per message, and says so
        assert counts == {"SENT": 2 * LIMIT, "DEFERRED": MESSAGES - 2 * LIMIT}, pool.logs()
        assert [len(s.messages) for s in sinks] == [LIMIT, LIMIT]
        received = collections.Counter(m.message_id for s in sinks for m in s.messages)
        assert set(received) <= set(queued) and set(received.values()) == {1}
        for config_id in config_ids:
            usage: dict[str, Any] = (await gql(USAGE, {"id": config_id}, tenant=tenant))["data"]
            assert usage["smtpConfig"] == {"sentToday": LIMIT, "remainingToday": 0}
        assert max(s.max_open_connections for s in sinks) <= 16 * 4
