"""Given a long queue, and a long webhook backlog and history, when a worker claims, then
PostgreSQL reads only the rows it takes, through an index: with the plan made for the values
at hand and with the one plan it may cache for any values. And `next_due_at` answers from the
queued and deferred messages alone (both databases)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery import message_queue, webhook_queue
from mailsage_gql.delivery.clock import utc_now
from mailsage_gql.models import DeliveryEvent, Message
from mailsage_gql.services import accounts, sending, smtp_configs
from mailsage_gql.services.secrets import load_keyring
from mailsage_gql.settings import Settings

#: Enough rows that reading the whole table costs the planner more than an index does.
ROWS = 3000


async def nothing() -> None:
    return None


async def queued(settings: Settings, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A new account with a config, and `count` messages queued for it."""
    account, _ = await accounts.create_account("plans")
    await smtp_configs.create_config(
        account.id,
        {"name": "c", "host": "127.0.0.1", "port": 2525, "from_email": "s@example.com"},
        keyring=load_keyring(settings),
    )
    items = [{"to": [f"r{i}@example.org"], "subject": f"m{i}", "text": "x"} for i in range(count)]
    batch = await sending.send_batch(account.id, items, settings=settings, notify=nothing)
    records = [item.record for item in batch]
    assert all(records), [item.error for item in batch]
    return account.id, [r.id for r in records if r is not None]


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


async def claim_reads(build: Callable[[RawSql], str], table: str) -> dict[str, set[str]]:
    """How each plan of the claim statement `build` writes (custom: for one set of values;
    generic: for any) reads `table`: its nodes' types, with the index where there is one.
    Both queues' claims take the same parameters (leases.claim_statement): owner, lease
    expiry, now, now, limit."""
    reads = {}
    async with in_transaction() as conn:
        parts = build(RawSql(conn)).split("?")
        text = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
        types = "varchar, timestamptz, timestamptz, timestamptz, integer"
        await conn.execute_script(f"PREPARE probe ({types}) AS {text}")
        for mode in ("force_custom_plan", "force_generic_plan"):
            await conn.execute_script(f"SET LOCAL plan_cache_mode = {mode}")
            _, rows = await conn.execute_query(
                "EXPLAIN (FORMAT JSON) EXECUTE probe ('w', now(), now(), now(), 10)"
            )
            document = json.loads(rows[0]["QUERY PLAN"])
            reads[mode] = {
                f"{node['Node Type']} {node.get('Index Name', '')}".strip()
                for node in plan_nodes(document[0]["Plan"])
                if node.get("Relation Name") == table
            }
        await conn.execute_script("DEALLOCATE probe")
    return reads


@pytest.fixture
def postgres(db: Settings) -> Settings:
    if db.dialect != "postgres":
        pytest.skip("PostgreSQL's plans (SQLite claims with one writer and no row locks)")
    return db


async def test_a_message_claim_reads_the_due_index_not_the_table(postgres: Settings) -> None:
    account, _ = await accounts.create_account("plans")
    async with in_transaction() as conn:
        await RawSql(conn).execute(
            'INSERT INTO message (id, account_id, status, "to", cc, bcc, subject, text, headers, '
            "message_id_header, payload_hash, attempt_count, next_attempt_at, recipient_count, "
            "deferrals, created_at, updated_at) SELECT gen_random_uuid(), ?, "
            "CASE WHEN i % 3 = 0 THEN 'SENT' ELSE 'QUEUED' END, '[]', '[]', '[]', 's', 'x', "
            "'[]', 'm', 'h', 0, now() - i * interval '1 second', 1, 0, now(), now() "
            "FROM generate_series(1, ?) AS i",
            account.id,
            ROWS,
        )
        await conn.execute_script("ANALYZE message")

    reads = await claim_reads(message_queue.claim_statement, "message")

    for mode, how in reads.items():
        assert "Seq Scan" not in how, mode
        assert "Index Scan message_due" in how, (mode, how)


async def test_a_webhook_claim_reads_only_what_it_takes_from_a_backlog(postgres: Settings) -> None:
    account_id, _ = await queued(postgres, 1)
    event = await DeliveryEvent.filter(account_id=account_id).first()
    assert event is not None
    webhook = uuid.uuid4()
    async with in_transaction() as conn:
        sql = RawSql(conn)
        await sql.execute(
            "INSERT INTO webhook (id, url, events, secret_sealed, enabled, consecutive_failures, "
            "created_at, updated_at, account_id) VALUES (?, 'http://127.0.0.1/hook', 'SENT', "
            "'sealed', true, 0, now(), now(), ?)",
            webhook,
            account_id,
        )
        await sql.execute(  # a receiver that was down: a backlog as long as the history
            "INSERT INTO webhook_delivery (status, attempt_count, next_attempt_at, created_at, "
            "event_id, webhook_id) SELECT CASE WHEN i % 2 = 0 THEN 'PENDING' "
            "ELSE 'SUCCEEDED' END, 1, now() - i * interval '1 second', now(), ?, ? "
            "FROM generate_series(1, ?) AS i",
            event.id,
            webhook,
            ROWS,
        )
        await conn.execute_script("ANALYZE webhook_delivery")

    reads = await claim_reads(webhook_queue.claim_statement, "webhook_delivery")

    for mode, how in reads.items():
        assert "Seq Scan" not in how, (mode, how)


async def test_next_due_at_is_the_earliest_queued_or_deferred(db: Settings) -> None:
    assert await message_queue.next_due_at() is None
    _, (done, deferred, waiting) = await queued(db, 3)
    now = utc_now().replace(microsecond=250_000)
    for message_id, status, due in (
        (done, "SENT", now - timedelta(hours=2)),  # the earliest, but not waiting
        (deferred, "DEFERRED", now + timedelta(minutes=5)),
        (waiting, "QUEUED", now + timedelta(minutes=9)),
    ):
        await Message.filter(id=message_id).update(status=status, next_attempt_at=due)

    assert await message_queue.next_due_at() == now + timedelta(minutes=5)
