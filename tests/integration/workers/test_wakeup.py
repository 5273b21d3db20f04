"""Given an idle worker process that polls only every 30 s, when a message is queued through
the API in another process, then PostgreSQL LISTEN/NOTIFY wakes it and it delivers at once."""

from __future__ import annotations

from tests.integration.delivery.conftest import create_config, send, wait_for_status
from tests.integration.workers.conftest import config_input
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.waiting import eventually
from tests.support.workers import WorkerPool, WorkerProcess

POLL_INTERVAL = 30.0
#: The sender's statements on the message queue as the worker logs them at debug level (the
#: ORM logs each statement before running it): a claim, and the look-up of the next due time
#: that the loop makes last before it waits, and only once none of its deliveries is active.
CLAIM = "UPDATE message SET status = 'SENDING'"
IDLE = "SELECT MIN(next_attempt_at) AS due FROM message"


async def idle_since_last_claim(worker: WorkerProcess) -> bool:
    log = worker.log()
    return log.rfind(IDLE) > log.rfind(CLAIM) >= 0


async def test_worker_polling_every_30s_delivers_a_new_message_within_seconds(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, workers: WorkerPool
) -> None:
    # given a worker that polls every 30 s, idle after delivering a first message
    sink = await smtp_sink()
    await create_config(gql, tenant, config_input(sink, "Relay"))
    worker = await workers.start(
        concurrency=2, env={"poll_interval": POLL_INTERVAL, "log_level": "debug"}
    )
    first = await send(gql, tenant, subject="warm-up")
    await wait_for_status(gql, tenant, first, {"SENT"}, timeout=10)
    # After the delivery the loop claims once more and finds nothing: idle once it has
    # looked up the next due time since, so nothing but a notification can wake it.
    await eventually(
        lambda: idle_since_last_claim(worker), bool, what="the worker idle after the warm-up"
    )

    # when another message is queued through the API (this process, not the worker's)
    second = await send(gql, tenant, subject="wake up")

    # then the worker delivers it long before its next poll
    message = await wait_for_status(gql, tenant, second, {"SENT"}, timeout=5)
    assert message["status"] == "SENT"
    assert [m.subject for m in await sink.wait_for_messages(2)] == ["warm-up", "wake up"]
