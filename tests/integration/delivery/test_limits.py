"""Given providers with daily (and per-minute) limits, when messages are sent, then limits
count recipients, a full provider is skipped for the next one, and when none can take a
message it waits until a limit resets (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest

from mailsage_gql.delivery.clock import next_reset, utc_now
from mailsage_gql.models import DeliveryEvent
from mailsage_gql.services.engine import Engine
from mailsage_gql.settings import Settings
from tests.integration.delivery.conftest import create_config, send, settled, sink_config
from tests.support.api import GraphQL, Tenant
from tests.support.clock import ManualClock
from tests.support.smtp_sink import SinkFactory

USAGE = """
query($id: ID!) { smtpConfig(id: $id) { dailyLimit sentToday remainingToday resetsAt } }
"""
THREE = {"to": ["a@example.org"], "cc": ["b@example.org"], "bcc": ["c@example.org"]}


async def usage(gql: GraphQL, tenant: Tenant, config_id: str) -> dict[str, Any]:
    body = await gql(USAGE, {"id": config_id}, tenant=tenant)
    config: dict[str, Any] = body["data"]["smtpConfig"]
    return config


def resets_between(before: datetime, after: datetime) -> set[datetime]:
    """The midnights a limit read between `before` and `after` can name (two across one)."""
    return {next_reset(before), next_reset(after)}


def via(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["smtpConfigId"], a["outcome"]) for a in message["attempts"]]


async def test_a_message_to_three_recipients_counts_three_against_the_daily_limit(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    # given a provider allowing 10 recipients a day
    sink = await smtp_sink()
    config_id = await create_config(gql, tenant, sink_config(sink, "Only", dailyLimit=10))

    # when one message goes to a To, a Cc and a Bcc recipient
    before = utc_now()
    message = await settled(gql, tenant, await send(gql, tenant, **THREE))

    # then it counts 3 of today's 10, until the next midnight UTC
    assert message["status"] == "SENT"
    assert (await sink.wait_for_messages(1))[0].rcpt_tos == tuple(
        [*THREE["to"], *THREE["cc"], *THREE["bcc"]]
    )
    config = await usage(gql, tenant, config_id)
    assert (config["sentToday"], config["remainingToday"]) == (3, 7)
    assert datetime.fromisoformat(config["resetsAt"]) in resets_between(before, utc_now())


async def test_a_provider_at_its_limit_is_skipped_for_the_next_one(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    # given a first provider whose limit of 3 is used up by a three-recipient message
    first, second = await smtp_sink(), await smtp_sink()
    first_id = await create_config(
        gql, tenant, sink_config(first, "Small", priority=1, dailyLimit=3)
    )
    second_id = await create_config(gql, tenant, sink_config(second, "Big", priority=2))
    assert (await settled(gql, tenant, await send(gql, tenant, **THREE)))["status"] == "SENT"

    # when another message is sent
    message = await settled(gql, tenant, await send(gql, tenant, subject="next"))

    # then the full provider is not tried: the next one delivers it
    assert via(message) == [(second_id, "sent")]
    assert [m.subject for m in second.messages] == ["next"]
    assert len(first.messages) == 1
    assert (await usage(gql, tenant, first_id))["remainingToday"] == 0


async def test_a_provider_without_room_for_every_recipient_is_skipped(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    # given a first provider with 2 places left today
    first, second = await smtp_sink(), await smtp_sink()
    first_id = await create_config(
        gql, tenant, sink_config(first, "Small", priority=1, dailyLimit=3)
    )
    second_id = await create_config(gql, tenant, sink_config(second, "Big", priority=2))
    await settled(gql, tenant, await send(gql, tenant))

    # when a message to three recipients is sent
    message = await settled(gql, tenant, await send(gql, tenant, **THREE))

    # then it is not split: the next provider takes all three
    assert via(message) == [(second_id, "sent")]
    assert (await usage(gql, tenant, first_id))["sentToday"] == 1
    assert (await usage(gql, tenant, second_id))["sentToday"] == 3


@pytest.fixture
async def full(gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine) -> list[str]:
    """Two providers of one place each, both used up by two sent messages."""
    ids = []
    for name, priority in (("A", 1), ("B", 2)):
        sink = await smtp_sink()
        config = sink_config(sink, name, priority=priority, dailyLimit=1)
        ids.append(await create_config(gql, tenant, config))
    for _ in ids:
        assert (await settled(gql, tenant, await send(gql, tenant)))["status"] == "SENT"
    return ids


class TestEveryProviderFull:
    """The backoff is longer than a day here, so only the limit reset explains a retry time."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, retry_schedule=(2 * 86400.0,))

    async def test_message_waits_until_the_next_midnight_utc(
        self, gql: GraphQL, tenant: Tenant, full: list[str]
    ) -> None:
        # given both providers used up today (full)

        # when one more message is sent
        before = utc_now()
        message_id = await send(gql, tenant, subject="overflow")
        message = await settled(gql, tenant, message_id)

        # then it is DEFERRED, untried, until the limits reset at midnight UTC
        assert message["status"] == "DEFERRED"
        assert message["attempts"] == []
        assert message["lastError"]["code"] == "smtp_rate_limit"
        assert "daily_limit" in message["lastError"]["message"]
        assert datetime.fromisoformat(message["nextAttemptAt"]) in resets_between(before, utc_now())
        events = await DeliveryEvent.filter(message_id=message_id).order_by("id")
        assert [(e.type, e.code) for e in events] == [
            ("QUEUED", None),
            ("DEFERRED", "smtp_rate_limit"),
        ]

    async def test_usage_shows_both_providers_full_until_midnight(
        self, gql: GraphQL, tenant: Tenant, full: list[str]
    ) -> None:
        # given both providers used up today (full)

        # when their usage is read
        before = utc_now()
        configs = [await usage(gql, tenant, config_id) for config_id in full]

        # then each shows its one place used, none left, and the next midnight as reset
        midnights = resets_between(before, utc_now())
        assert [(c["sentToday"], c["remainingToday"]) for c in configs] == [(1, 0)] * 2
        assert {datetime.fromisoformat(c["resetsAt"]) for c in configs} <= midnights


async def test_when_every_provider_is_full_a_backoff_sooner_than_midnight_wins(
    gql: GraphQL, tenant: Tenant, settings: Settings, full: list[str]
) -> None:
    # given both providers used up today, and the first backoff step (60 s)
    step = timedelta(seconds=settings.retry_schedule[0])

    # when one more message is sent
    before = utc_now()
    message = await settled(gql, tenant, await send(gql, tenant))
    after = utc_now()

    # then it is retried after the backoff (or at midnight, should that come first)
    retry_at = datetime.fromisoformat(message["nextAttemptAt"])
    assert message["status"] == "DEFERRED"
    assert min(before + step, next_reset(before)) <= retry_at
    assert retry_at <= min(after + step, next_reset(after))


async def test_a_provider_at_its_per_minute_limit_defers_until_the_next_minute(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine, clock: ManualClock
) -> None:
    # given the only provider allowing one message a minute, already used this minute: the
    # engine's clock stands in the middle of a minute that begins after the wall clock's
    # (a deferral to its end is not due while the test runs)
    minute = utc_now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    clock.freeze(minute + timedelta(seconds=30))
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Slow", maxPerMinute=1))
    first = await settled(gql, tenant, await send(gql, tenant))
    assert first["status"] == "SENT"

    # when another message is sent
    message = await settled(gql, tenant, await send(gql, tenant))

    # then it waits for the next minute with the limit as its reason
    assert message["status"] == "DEFERRED"
    assert message["lastError"]["code"] == "smtp_rate_limit"
    assert "minute_limit" in message["lastError"]["message"]
    assert datetime.fromisoformat(message["nextAttemptAt"]) == minute + timedelta(minutes=1)
    assert len(sink.messages) == 1
