"""Given a worker killed with SIGKILL in the middle of a batch, when a new worker takes over,
then every accepted message ends SENT exactly once, except those recorded UNCERTAIN (in
flight at the kill), which are never resent and reached the provider at most once."""

from __future__ import annotations

import collections

import pytest
from tortoise.expressions import Q

from mailsage_gql.models import DeliveryEvent, Message, MessageStatus
from tests.integration.delivery.conftest import create_config
from tests.integration.workers.conftest import config_input, queue_batch, wait_until_settled
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.workers import WorkerPool

#: Expired leases are recovered within a few seconds.
LEASE = {"lease_seconds": 3}


@pytest.mark.slow
async def test_kill_9_mid_batch_then_a_new_worker_delivers_everything_at_most_once(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, workers: WorkerPool
) -> None:
    # given a provider answering each message after 50 ms, and a worker busy with 300
    sink = await smtp_sink(fault="slow_data", slow_seconds=0.05)
    await create_config(gql, tenant, config_input(sink, "Relay", dailyLimit=10_000))
    victim = await workers.start(concurrency=4, env=LEASE)
    queued = await queue_batch(gql, tenant, 300)
    await sink.wait_for_messages(60, timeout=30)

    # when it is killed with SIGKILL mid-batch, and a new worker is started
    victim.kill()
    await victim.wait(timeout=10)
    received_at_kill = len(sink.messages)
    assert received_at_kill < 300, "the kill landed after the batch"
    await workers.start(concurrency=4, env=LEASE)

    # then every message ends SENT or UNCERTAIN; the new worker did part of the work
    counts = await wait_until_settled(300, timeout=90, workers=workers)
    assert set(counts) <= {"SENT", "UNCERTAIN"}, (counts, workers.logs())
    assert len(sink.messages) > received_at_kill
    # the killed worker's leases were recovered: requeued, or UNCERTAIN when in flight
    recovered = await DeliveryEvent.filter(
        Q(type="UNCERTAIN") | Q(type="QUEUED", detail="lease expired")
    ).count()
    assert recovered >= 1
    # and the provider got each SENT message exactly once, each UNCERTAIN one at most once
    received = collections.Counter(m.message_id for m in sink.messages)
    assert set(received) <= set(queued)
    sent = await Message.filter(status=MessageStatus.SENT).values_list(
        "message_id_header", flat=True
    )
    uncertain = await Message.filter(status=MessageStatus.UNCERTAIN).values_list(
        "message_id_header", flat=True
    )
    assert {m: received[m] for m in sent if received[m] != 1} == {}
    assert {m: received[m] for m in uncertain if received[m] > 1} == {}
    duplicates = sum(n - 1 for n in received.values())
    print("DEBUG", received_at_kill, counts, recovered, len(uncertain), duplicates, sum(1 for m in uncertain if received[m]))
    assert duplicates <= len(uncertain)
