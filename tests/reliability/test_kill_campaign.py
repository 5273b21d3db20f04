"""Given three worker processes delivering a large run on PostgreSQL, when one of them is killed
with SIGKILL at a random moment and a replacement started, round after round, then nothing is
lost: every message ends SENT and reached the provider exactly once, or UNCERTAIN (it was in
flight at a kill) and reached it at most once, so duplicates never exceed UNCERTAIN messages.

Sizes come from MAILSAGE_CAMPAIGN_ROUNDS and MAILSAGE_CAMPAIGN_MESSAGES (defaults: the full
10 x 5,000 of issue 6); MAILSAGE_CAMPAIGN_SEED replays a campaign.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from pathlib import Path

import pytest

from mailsage_gql.models import Message, MessageStatus
from mailsage_gql.settings import Settings
from tests.integration.delivery.conftest import create_config
from tests.integration.workers.conftest import config_input, queue_batch, wait_until_settled
from tests.reliability.conftest import env_int
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkProcess
from tests.support.workers import WorkerPool

ROUNDS = env_int("MAILSAGE_CAMPAIGN_ROUNDS", 10)
MESSAGES = env_int("MAILSAGE_CAMPAIGN_MESSAGES", 5000)
SEED = env_int("MAILSAGE_CAMPAIGN_SEED", random.randrange(1_000_000))
WORKERS = 3
ENV = {"lease_seconds": 3, "poll_interval": 0.2}


@pytest.fixture
def settings(db: Settings) -> Settings:
    if db.dialect != "postgres":
        pytest.skip("worker processes share one PostgreSQL database (SQLite has one writer)")
    return db


def received_count(sink: SinkProcess) -> int:
    return sink.record.read_bytes().count(b"\n") if sink.record.exists() else 0


@pytest.mark.slow
async def test_random_kill_9_rounds_lose_nothing_and_duplicate_only_uncertain_messages(
    settings: Settings,
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink_process: object,
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    print(f"kill campaign: {ROUNDS} rounds x {MESSAGES} messages, seed {SEED}")
    # given a provider in another process and three workers on one PostgreSQL database
    sink: SinkProcess = await smtp_sink_process()  # type: ignore[operator]
    await create_config(
        gql, tenant, config_input(sink, "Relay", dailyLimit=10_000_000, maxConnections=16)
    )
    pool = WorkerPool(settings, tmp_path)
    try:
        live = await pool.start_many(WORKERS, concurrency=8, env=ENV)
        queued: dict[str, str] = {}
        started = time.monotonic()
        for round_ in range(ROUNDS):
            # when a round's messages are queued and a random worker is killed -9 at a
            # random moment of the run, then replaced
            before = received_count(sink)
            for start in range(0, MESSAGES, 1000):
                queued |= await queue_batch(
                    gql, tenant, min(1000, MESSAGES - start), subject=f"R{round_}-{start}"
                )
            kill_at = before + int(MESSAGES * rng.uniform(0.05, 0.95))
            async with asyncio.timeout(120):
                while received_count(sink) < kill_at:
                    await asyncio.sleep(0.01)
            victim = live.pop(rng.randrange(len(live)))
            victim.kill()
            await victim.wait(timeout=10)
            live.append(await pool.start(concurrency=8, env=ENV))

            # then every message so far settles: SENT or UNCERTAIN only
            counts = await wait_until_settled(len(queued), timeout=180, workers=pool)
            assert set(counts) <= {"SENT", "UNCERTAIN"}, (counts, pool.logs())
            print(
                f"round {round_}: killed at {kill_at - before}/{MESSAGES}, "
                f"totals {dict(counts)}, {time.monotonic() - started:.0f}s"
            )

        # and the provider got each SENT message exactly once, each UNCERTAIN one at most once
        received = collections.Counter(sink.message_ids())
        assert set(received) <= set(queued)
        sent = await Message.filter(status=MessageStatus.SENT).values_list(
            "message_id_header", flat=True
        )
        uncertain = await Message.filter(status=MessageStatus.UNCERTAIN).values_list(
            "message_id_header", flat=True
        )
        assert len(sent) + len(uncertain) == len(queued) == ROUNDS * MESSAGES
        lost = [m for m in sent if received[m] == 0]
        repeated = {m: received[m] for m in sent if received[m] != 1 and received[m] != 0}
        assert (lost, repeated) == ([], {})
        assert {m: received[m] for m in uncertain if received[m] > 1} == {}
        duplicates = sum(n - 1 for n in received.values())
        assert duplicates <= len(uncertain)
        print(
            f"kill campaign done: sent {len(sent)}, uncertain {len(uncertain)}, "
            f"uncertain received {sum(1 for m in uncertain if received[m])}, "
            f"duplicates {duplicates}, lost 0, {time.monotonic() - started:.0f}s"
        )
    finally:
        await pool.stop_all()
