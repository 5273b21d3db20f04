"""Given many deliveries whose queue writes share one flush, when they are combined into
set-based statements, then each caller still gets its own outcome: a lost lease refuses only
its own message (its writes left out, its reservation given back), a daily limit is met
exactly, and everything else commits (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from mailsage_gql.delivery import message_queue
from mailsage_gql.delivery.attempts import (
    AttemptOutcome,
    AttemptRecord,
    Reservation,
    begin_attempt,
    finish_attempt,
)
from mailsage_gql.delivery.batcher import WriteBatcher
from mailsage_gql.delivery.clock import utc_day, utc_now
from mailsage_gql.delivery.outbox import Event
from mailsage_gql.errors import LeaseLostError
from mailsage_gql.models import DeliveryAttempt, DeliveryEvent, Message, MessageStatus, SmtpUsage
from mailsage_gql.services import accounts, sending, smtp_configs
from mailsage_gql.services.secrets import load_keyring
from mailsage_gql.settings import Settings

OWNER = "worker-a"
LEASE = timedelta(seconds=60)


async def nothing() -> None:
    return None


async def claimed(settings: Settings, count: int) -> tuple[list[Message], uuid.UUID]:
    """`count` queued messages of a new account, claimed by OWNER; and the account's config."""
    account, _ = await accounts.create_account("combined")
    config = await smtp_configs.create_config(
        account.id,
        {"name": "c", "host": "127.0.0.1", "port": 2525, "from_email": "s@example.com"},
        keyring=load_keyring(settings),
    )
    items = [{"to": [f"r{i}@example.org"], "subject": f"m{i}", "text": "x"} for i in range(count)]
    await sending.send_batch(account.id, items, settings=settings, notify=nothing)
    messages = await message_queue.claim(owner=OWNER, limit=count, now=utc_now(), lease=LEASE)
    assert len(messages) == count
    return messages, uuid.UUID(str(config.id))


async def steal(message: Message) -> None:
    await Message.filter(id=message.id).update(lease_owner="worker-b")


async def begin_all(
    batcher: WriteBatcher | None,
    messages: list[Message],
    config_id: uuid.UUID,
    *,
    daily_limit: int,
    failover_from: uuid.UUID | None = None,
) -> list[Reservation | BaseException]:
    return await asyncio.gather(
        *(
            begin_attempt(
                m,
                owner=OWNER,
                config_id=config_id,
                daily_limit=daily_limit,
                max_per_minute=None,
                probe=False,
                probe_timeout=timedelta(seconds=10),
                failover_from=failover_from,
                now=utc_now(),
                batcher=batcher,
            )
            for m in messages
        ),
        return_exceptions=True,
    )


async def sent_today(config_id: uuid.UUID) -> int:
    row = await SmtpUsage.get_or_none(config_id=config_id, day=utc_day(utc_now()))
    return 0 if row is None else row.sent


async def events(message: Message, type_: str) -> int:
    return await DeliveryEvent.filter(message_id=message.id, type=type_).count()


async def test_a_lost_lease_in_a_combined_begin_refuses_only_its_own_message(
    db: Settings,
) -> None:
    # given six claimed messages, one of which another worker has taken over
    messages, config_id = await claimed(db, 6)
    await steal(messages[2])
    batcher = WriteBatcher()

    # when all six begin their attempt together
    results = await begin_all(batcher, messages, config_id, daily_limit=100)

    # then they shared one flush, the stolen one alone was refused, and nothing of it was kept
    assert (batcher.flushes, batcher.operations) == (1, 6)
    assert isinstance(results[2], LeaseLostError)
    others = [r for i, r in enumerate(results) if i != 2]
    assert others == [Reservation(True)] * 5
    assert await sent_today(config_id) == 5
    for i, message in enumerate(messages):
        row = await Message.get(id=message.id)
        assert (row.in_flight_since is None) == (i == 2)
        assert await events(message, "SENDING") == (0 if i == 2 else 1)
        assert row.attempt_count == (0 if i == 2 else 1)


async def test_a_combined_begin_meets_the_daily_limit_exactly(db: Settings) -> None:
    # given five claimed messages and a limit of three a day
    messages, config_id = await claimed(db, 5)
    batcher = WriteBatcher()

    # when all five begin together
    results = await begin_all(batcher, messages, config_id, daily_limit=3)

    # then exactly three got places, in arrival order, and the day counts three
    assert results == [Reservation(True)] * 3 + [Reservation(False, "daily_limit")] * 2
    assert await sent_today(config_id) == 3
    assert [await events(m, "SENDING") for m in messages] == [1, 1, 1, 0, 0]


async def test_a_lost_lease_in_a_combined_finish_refuses_only_its_own_message(
    db: Settings,
) -> None:
    # given four messages in flight, one of which another worker has taken over since
    messages, config_id = await claimed(db, 4)
    batcher = WriteBatcher()
    assert all(
        r == Reservation(True)
        for r in await begin_all(batcher, messages, config_id, daily_limit=100)
    )
    await steal(messages[1])

    # when all four record a delivery together
    async def finish(message: Message) -> None:
        now = utc_now()
        await finish_attempt(
            message,
            AttemptOutcome.sent(
                AttemptRecord(config_id, 1, now, now, 250, "2.0.0", "ok", None),
                [Event("SENT", smtp_config_id=config_id, attempt=1, smtp_code=250)],
            ),
            owner=OWNER,
            batcher=batcher,
        )

    flushes = batcher.flushes
    results = await asyncio.gather(*(finish(m) for m in messages), return_exceptions=True)

    # then one flush recorded three, and the stolen one has no attempt, event or SENT status
    assert batcher.flushes == flushes + 1
    assert isinstance(results[1], LeaseLostError)
    assert [r for i, r in enumerate(results) if i != 1] == [None] * 3
    for i, message in enumerate(messages):
        row = await Message.get(id=message.id)
        expected_sent = i != 1
        assert (row.status == MessageStatus.SENT) == expected_sent
        assert (row.delivered_config_id == config_id) == expected_sent
        assert (row.lease_owner is None) == expected_sent
        assert await DeliveryAttempt.filter(message_id=message.id).count() == int(expected_sent)
        assert await events(message, "SENT") == int(expected_sent)


@pytest.mark.parametrize("count", [1, 3])
async def test_a_combined_finish_without_a_batcher_commits_alone(db: Settings, count: int) -> None:
    # given messages in flight begun without a group commit
    messages, config_id = await claimed(db, count)
    await begin_all(None, messages, config_id, daily_limit=100)

    # when each records its delivery in its own transaction
    for message in messages:
        now = utc_now()
        await finish_attempt(
            message,
            AttemptOutcome.sent(
                AttemptRecord(config_id, 1, now, now, 250, None, "ok", None),
                [Event("SENT", smtp_config_id=config_id, attempt=1)],
            ),
            owner=OWNER,
        )

    # then every one is SENT with its attempt
    assert await Message.filter(status=MessageStatus.SENT).count() == count
    assert await DeliveryAttempt.filter(outcome="sent").count() == count


async def test_combined_events_keep_their_order_within_a_message(db: Settings) -> None:
    # given three claimed messages that fail over to a second config together
    messages, config_id = await claimed(db, 3)
    previous = uuid.uuid4()
    batcher = WriteBatcher()

    # when they begin their attempts in one flush
    results = await begin_all(batcher, messages, config_id, daily_limit=100, failover_from=previous)

    # then each message's FAILOVER event comes before its SENDING event (ids in order)
    assert results == [Reservation(True)] * 3
    assert batcher.flushes == 1
    for message in messages:
        events = await DeliveryEvent.filter(message_id=message.id).order_by("id")
        assert [e.type for e in events] == ["QUEUED", "FAILOVER", "SENDING"]
