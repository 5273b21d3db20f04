"""Given three worker processes sharing two providers' daily limits on PostgreSQL, when a
batch races through them, then no limit is ever exceeded and the overflow goes to the next
provider, or waits for the next UTC midnight when every provider is full."""

from __future__ import annotations

import collections

from mailsage_gql.delivery.clock import next_reset, utc_now
from mailsage_gql.models import Message, MessageStatus
from tests.integration.delivery.conftest import create_config
from tests.integration.workers.conftest import config_input, queue_batch, wait_until_settled
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.workers import WorkerPool

USAGE = "query($id: ID!) { smtpConfig(id: $id) { sentToday remainingToday } }"


async def test_limit_of_ten_takes_exactly_ten_of_fifty_and_the_rest_fail_over(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, workers: WorkerPool
) -> None:
    # given a first provider limited to 10 a day, a large second one, and three workers
    first, second = await smtp_sink(), await smtp_sink()
    first_id = await create_config(
        gql, tenant, config_input(first, "Small", priority=1, dailyLimit=10)
    )
    await create_config(gql, tenant, config_input(second, "Large", priority=2, dailyLimit=10_000))
    await workers.start_many(3, concurrency=4)

    # when 50 one-recipient messages are queued in one batch
    queued = await queue_batch(gql, tenant, 50)

    # then exactly 10 went through the first provider and 40 through the second, once each
    counts = await wait_until_settled(50, timeout=60, workers=workers)
    assert counts == {"SENT": 50}, workers.logs()
    assert len(first.messages) == 10
    assert len(second.messages) == 40
    received = collections.Counter(m.message_id for m in [*first.messages, *second.messages])
    assert received == collections.Counter(set(queued))
    usage = await gql(USAGE, {"id": first_id}, tenant=tenant)
    assert usage["data"]["smtpConfig"] == {"sentToday": 10, "remainingToday": 0}


async def test_when_every_limit_fills_under_races_the_overflow_waits_for_midnight(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, workers: WorkerPool
) -> None:
    # given two providers limited to 10 a day each, three workers, and a backoff longer
    # than a day (so only the limit reset can release a deferred message)
    first, second = await smtp_sink(), await smtp_sink()
    await create_config(gql, tenant, config_input(first, "A", priority=1, dailyLimit=10))
    await create_config(gql, tenant, config_input(second, "B", priority=2, dailyLimit=10))
    await workers.start_many(3, concurrency=4, env={"retry_schedule": (2 * 86400.0,)})

    # when 30 messages race for the 20 places
    await queue_batch(gql, tenant, 30)

    # then 20 are sent, 10 per provider, and the 10 others are DEFERRED until the next
    # midnight UTC because of the daily limit
    counts = await wait_until_settled(
        30, settled=("SENT", "DEFERRED", "FAILED", "UNCERTAIN"), timeout=60, workers=workers
    )
    assert counts == {"SENT": 20, "DEFERRED": 10}, workers.logs()
    assert (len(first.messages), len(second.messages)) == (10, 10)
    deferred = await Message.filter(status=MessageStatus.DEFERRED).values_list(
        "last_error_code", "next_attempt_at"
    )
    midnight = next_reset(utc_now())
    assert collections.Counter(deferred) == {("smtp_rate_limit", midnight): 10}


async def test_messages_that_lose_the_race_for_the_last_places_wait_for_midnight(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, workers: WorkerPool
) -> None:
    # given one provider limited to 10 a day, three workers, and a backoff beyond a day
    sink = await smtp_sink()
    await create_config(gql, tenant, config_input(sink, "Only", dailyLimit=10))
    await workers.start_many(3, concurrency=4, env={"retry_schedule": (2 * 86400.0,)})

    # when 40 messages race for its 10 places (many are planned while places seem free)
    await queue_batch(gql, tenant, 40)

    # then 10 are sent and every loser waits for midnight with the limit as its reason
    counts = await wait_until_settled(
        40, settled=("SENT", "DEFERRED", "FAILED", "UNCERTAIN"), timeout=60, workers=workers
    )
    assert counts == {"SENT": 10, "DEFERRED": 30}, workers.logs()
    assert len(sink.messages) == 10
    deferred = await Message.filter(status=MessageStatus.DEFERRED).values_list(
        "last_error_code", "next_attempt_at"
    )
    midnight = next_reset(utc_now())
    assert collections.Counter(deferred) == {("smtp_rate_limit", midnight): 30}
