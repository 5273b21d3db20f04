"""Given deliveries that need an account's routing snapshot at once, when it is stale, then
one read serves them all, a snapshot is kept for its TTL, and a read that began before a
failure is not kept. Time comes in as the `now` argument; reads wait at a gate."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from mailsage_gql.delivery import breakers
from mailsage_gql.delivery.batcher import WriteBatcher
from mailsage_gql.delivery.clock import utc_now
from mailsage_gql.delivery.smtp_deliverer import ROUTE_TTL, SmtpDeliverer
from mailsage_gql.services import accounts, smtp_configs
from mailsage_gql.services.engine import transport_options
from mailsage_gql.services.secrets import load_keyring
from mailsage_gql.settings import Settings
from mailsage_gql.smtp import SmtpPoolRegistry
from tests.support.waiting import eventually


@dataclass
class Reads:
    """Routing reads so far (each reads the breaker states once); each waits at `gate`."""

    count: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def started(self) -> int:
        return self.count


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """Counts routing reads; the gate starts open unless a test clears it."""
    seen = Reads()
    seen.gate.set()
    original = breakers.read_health

    async def counted(config_ids: Any) -> Any:
        seen.count += 1
        await seen.gate.wait()
        return await original(config_ids)

    monkeypatch.setattr(breakers, "read_health", counted)
    return seen


async def deliverer_and_account(settings: Settings) -> tuple[SmtpDeliverer, Any]:
    keyring = load_keyring(settings)
    account, _ = await accounts.create_account("routes")
    await smtp_configs.create_config(
        account.id,
        {"name": "c", "host": "127.0.0.1", "port": 2525, "from_email": "s@example.com"},
        keyring=keyring,
    )
    deliverer = SmtpDeliverer(
        settings=settings,
        keyring=keyring,
        pools=SmtpPoolRegistry(transport_options(settings)),
        owner="w",
        batcher=WriteBatcher(),
    )
    return deliverer, account


async def test_concurrent_deliveries_share_one_routing_read(db: Settings, reads: Reads) -> None:
    deliverer, account = await deliverer_and_account(db)
    now = utc_now()
    reads.gate.clear()  # the first read is under way while the other deliveries ask

    routing = [asyncio.ensure_future(deliverer._route(account.id, now)) for _ in range(20)]
    await eventually(reads.started, lambda n: n >= 1, what="a read under way")
    reads.gate.set()
    routes = await asyncio.gather(*routing)

    assert reads.count == 1
    assert all(r is routes[0] for r in routes)
    assert [c.name for c in routes[0].configs] == ["c"]


async def test_a_snapshot_is_kept_for_its_ttl_then_read_anew(db: Settings, reads: Reads) -> None:
    deliverer, account = await deliverer_and_account(db)
    now = utc_now()
    first = await deliverer._route(account.id, now)

    # within the TTL the snapshot serves; at its end it is read again
    assert await deliverer._route(account.id, now + ROUTE_TTL * 0.99) is first
    assert reads.count == 1
    assert await deliverer._route(account.id, now + ROUTE_TTL) is not first
    assert reads.count == 2


async def test_a_read_under_way_during_a_failure_is_not_kept(db: Settings, reads: Reads) -> None:
    deliverer, account = await deliverer_and_account(db)
    now = utc_now()

    # a read starts, then a failure is recorded before it ends
    reads.gate.clear()
    first = asyncio.ensure_future(deliverer._route(account.id, now))
    await eventually(reads.started, lambda n: n == 1, what="the read under way")
    deliverer._forget_route(account.id)
    reads.gate.set()
    await first

    # the next delivery reads anew (the first read may predate the failure)
    await deliverer._route(account.id, now)
    assert reads.count == 2
    # and that read is kept
    await deliverer._route(account.id, now)
    assert reads.count == 2
