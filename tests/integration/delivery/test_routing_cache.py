"""Given deliveries that need an account's routing snapshot at once, when it is stale, then
one read serves them all, and a read that began before a failure is not kept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mailsage_gql.delivery import breakers
from mailsage_gql.delivery.batcher import WriteBatcher
from mailsage_gql.delivery.clock import utc_now
from mailsage_gql.delivery.smtp_deliverer import SmtpDeliverer
from mailsage_gql.services import accounts, smtp_configs
from mailsage_gql.services.engine import transport_options
from mailsage_gql.services.secrets import load_keyring
from mailsage_gql.settings import Settings
from mailsage_gql.smtp import SmtpPoolRegistry


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts routing reads (each reads the breaker states once), slowed so they overlap."""
    calls: list[int] = []
    original = breakers.read_health

    async def counted(config_ids: Any) -> Any:
        calls.append(1)
        await asyncio.sleep(0.05)
        return await original(config_ids)

    monkeypatch.setattr(breakers, "read_health", counted)
    return calls


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


async def test_concurrent_deliveries_share_one_routing_read(db: Settings, reads: list[int]) -> None:
    deliverer, account = await deliverer_and_account(db)

    routes = await asyncio.gather(*(deliverer._route(account.id, utc_now()) for _ in range(20)))

    assert len(reads) == 1
    assert all(r is routes[0] for r in routes)
    assert [c.name for c in routes[0].configs] == ["c"]


async def test_a_read_under_way_during_a_failure_is_not_kept(
    db: Settings, reads: list[int]
) -> None:
    deliverer, account = await deliverer_and_account(db)

    # a read starts, then a failure is recorded before it ends
    first = asyncio.ensure_future(deliverer._route(account.id, utc_now()))
    await asyncio.sleep(0.01)
    deliverer._forget_route(account.id)
    await first

    # the next delivery reads anew (the first read may predate the failure)
    await deliverer._route(account.id, utc_now())
    assert len(reads) == 2
    # and that read is kept
    await deliverer._route(account.id, utc_now())
    assert len(reads) == 2
