"""Given a worker whose provider is slower than its lease, when another worker is watching
for expired leases, then the first keeps renewing its lease and the message ends SENT,
not taken over and marked UNCERTAIN."""

from __future__ import annotations

import pytest

from mailsage_gql.models import DeliveryEvent, Message
from tests.integration.delivery.conftest import create_config, send, wait_for_status
from tests.integration.workers.conftest import config_input
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.workers import WorkerPool

LEASE_SECONDS = 1.5


@pytest.mark.slow
async def test_a_delivery_slower_than_the_lease_keeps_its_lease_with_a_long_poll_interval(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, workers: WorkerPool
) -> None:
    # given a provider that answers the final dot after 4 s (over two lease times), and a
    # worker that polls every 30 s delivering a message through it
    sink = await smtp_sink(fault="slow_data", slow_seconds=4.0)
    await create_config(gql, tenant, config_input(sink, "Slow"))
    env = {"lease_seconds": LEASE_SECONDS}
    await workers.start(concurrency=1, env={**env, "poll_interval": 30})
    message_id = await send(gql, tenant)
    await sink.wait_for_messages(1)

    # when a second worker, recovering expired leases every half second, runs meanwhile
    await workers.start(concurrency=1, env={**env, "poll_interval": 0.2})

    # then the first worker's lease never expired: the message is SENT, once
    message = await wait_for_status(gql, tenant, message_id, {"SENT", "UNCERTAIN"}, timeout=15)
    assert message["status"] == "SENT", workers.logs()
    assert await DeliveryEvent.filter(type="UNCERTAIN").count() == 0
    assert len(sink.messages) == 1
    assert (await Message.get(id=message_id)).attempt_count == 1
