"""Given several worker processes on one PostgreSQL queue, when a batch is queued, then each
message is claimed by one worker only: the provider sees every Message-ID exactly once."""

from __future__ import annotations

import collections

from tests.integration.delivery.conftest import create_config
from tests.integration.workers.conftest import config_input, queue_batch, wait_until_settled
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.workers import WorkerPool


async def test_three_workers_deliver_each_of_200_messages_exactly_once(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, workers: WorkerPool
) -> None:
    # given three workers, four messages in flight each, and one provider
    sink = await smtp_sink()
    await create_config(gql, tenant, config_input(sink, "Relay", dailyLimit=10_000))
    await workers.start_many(3, concurrency=4)

    # when 200 messages are queued at once
    queued = await queue_batch(gql, tenant, 200)

    # then all are SENT and the provider received each Message-ID exactly once
    owners: set[str] = set()
    counts = await wait_until_settled(200, timeout=60, workers=workers, owners=owners)
    assert counts == {"SENT": 200}, workers.logs()
    assert len(owners) >= 2, f"the workers did not share the batch: {owners}"
    received = collections.Counter(m.message_id for m in sink.messages)
    assert received == collections.Counter(set(queued))
