"""SmtpPool and SmtpPoolRegistry against real aiosmtpd servers: reuse, limits, recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mailsage_gql.errors import (
    SmtpConnectionError,
    SmtpRecipientRejectedError,
    SmtpUncertainError,
)
from mailsage_gql.smtp import SmtpPool, SmtpPoolRegistry
from tests.integration.smtp.test_connection import PASSWORD, USER, endpoint, message, options
from tests.support.smtp_sink import SinkFactory, SmtpSink

PoolFactory = Callable[..., SmtpPool]


@pytest.fixture
async def make_pool() -> AsyncIterator[PoolFactory]:
    """Pools closed at teardown (before the sinks stop)."""
    pools: list[SmtpPool] = []

    def make(sink: SmtpSink, *, max_connections: int = 2, **overrides: Any) -> SmtpPool:
        ca_file = overrides.pop("ca_file", None)
        pool = SmtpPool(
            endpoint(sink), options(ca_file, **overrides), max_connections=max_connections
        )
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()


async def test_many_messages_share_at_most_max_connections(
    smtp_sink: SinkFactory, make_pool: PoolFactory, smtp_ca_file: str
) -> None:
    # given a STARTTLS + AUTH server and a pool of two connections
    sink = await smtp_sink(tls="starttls", auth=(USER, PASSWORD))
    pool = make_pool(sink, max_connections=2, ca_file=smtp_ca_file)

    # when 40 messages are sent concurrently
    results = await asyncio.gather(*(pool.send(message(f"m{i}")) for i in range(40)))

    # then all arrive over at most two connections, authenticated at most twice
    assert all(result.smtp_code == 250 for result in results)
    received = await sink.wait_for_messages(40)
    assert sorted(m.subject or "" for m in received) == sorted(f"m{i}" for i in range(40))
    assert sink.connections_accepted <= 2
    assert sink.max_open_connections <= 2
    assert sink.auth_attempts == sink.connections_accepted
    assert pool.connections_opened == sink.connections_accepted


async def test_sequential_messages_reuse_one_connection(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    sink = await smtp_sink()
    pool = make_pool(sink, max_connections=4)

    for i in range(5):
        await pool.send(message(f"seq{i}"))

    assert sink.connections_accepted == 1
    assert len(sink.messages) == 5


async def test_sends_beyond_the_limit_wait_for_a_free_connection(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    # given a pool of one connection whose server stalls each reply for a while
    sink = await smtp_sink(fault="slow_data", slow_seconds=0.05)
    pool = make_pool(sink, max_connections=1)

    # when three sends start at once
    results = await asyncio.gather(*(pool.send(message(f"w{i}")) for i in range(3)))

    # then they took turns on the single connection
    assert [result.smtp_code for result in results] == [250, 250, 250]
    assert sink.max_open_connections == 1
    assert sink.connections_accepted == 1


async def test_a_rejected_transaction_is_reset_and_the_connection_reused(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    # given a server refusing every recipient
    sink = await smtp_sink(fault="rcpt_550")
    pool = make_pool(sink)

    # when a send fails mid-transaction, then the server recovers
    with pytest.raises(SmtpRecipientRejectedError):
        await pool.send(message("refused"))
    sink.fault = None
    result = await pool.send(message("accepted"))

    # then the transaction was reset and the same connection carried the next message
    assert result.smtp_code == 250
    assert sink.resets == 1
    assert sink.connections_accepted == 1
    assert [m.subject for m in sink.messages] == ["accepted"]


async def test_the_pool_recovers_after_a_broken_connection(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    # given a server that breaks the connection after the final dot
    sink = await smtp_sink()
    pool = make_pool(sink)
    await pool.send(message("before"))
    sink.fault = "disconnect_after_dot"
    with pytest.raises(SmtpUncertainError):
        await pool.send(message("lost"))

    # when the server recovers and the next message is sent
    sink.fault = None
    result = await pool.send(message("after"))

    # then a new connection carries it
    assert result.smtp_code == 250
    assert sink.connections_accepted == 2
    assert [m.subject for m in sink.messages] == ["before", "lost", "after"]


async def test_a_connection_the_server_dropped_while_idle_is_replaced_transparently(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    # given a pooled idle connection that the server then drops
    sink = await smtp_sink()
    pool = make_pool(sink)
    await pool.send(message("first"))
    sink.drop_connections()
    await sink.wait_for_closed_connections()

    # when the next message is sent
    result = await pool.send(message("second"))

    # then it goes through on a fresh connection without an error
    assert result.smtp_code == 250
    assert sink.connections_accepted == 2


async def test_a_dead_session_found_at_mail_is_retried_once_on_a_fresh_one(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    # given a pooled connection that looks open but dies at MAIL FROM (once)
    sink = await smtp_sink()
    pool = make_pool(sink)
    await pool.send(message("first"))
    sink.fault = "disconnect_on_mail"
    sink.fault_times = 1

    # when the next message is sent
    result = await pool.send(message("second"))

    # then nothing of it had been sent, so it went through on a new connection
    assert result.smtp_code == 250
    assert sink.connections_accepted == 2
    assert [m.subject for m in sink.messages] == ["first", "second"]


async def test_a_fresh_session_dying_at_mail_is_not_retried(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    # given a server that drops every connection at MAIL FROM
    sink = await smtp_sink(fault="disconnect_on_mail")
    pool = make_pool(sink)

    # when a message is sent, then the failure surfaces after one attempt
    with pytest.raises(SmtpConnectionError) as caught:
        await pool.send(message())
    assert caught.value.stage == "mail"
    assert sink.connections_accepted == 1


async def test_a_refused_connection_fails_the_send_and_a_later_send_recovers(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    # given a server that is down
    sink = await smtp_sink(fault="refuse")
    pool = make_pool(sink)
    with pytest.raises(SmtpConnectionError) as caught:
        await pool.send(message("down"))
    assert caught.value.stage == "connect"

    # when it comes back
    await sink.set_fault(None)
    result = await pool.send(message("up"))

    # then the pool connects again
    assert result.smtp_code == 250
    assert [m.subject for m in sink.messages] == ["up"]


async def test_idle_connections_are_closed_after_the_idle_timeout(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    # given a pool with a short idle timeout
    sink = await smtp_sink()
    pool = make_pool(sink, idle_timeout=0.1)
    await pool.send(message())
    assert sink.open_connections == 1

    # when nothing is sent for longer than the idle timeout
    await sink.wait_for_closed_connections(timeout=3.0)

    # then the pool has closed its connection
    assert pool.idle_connections == 0


async def test_closing_the_pool_quits_its_connections(
    smtp_sink: SinkFactory, make_pool: PoolFactory
) -> None:
    sink = await smtp_sink()
    pool = make_pool(sink)
    await asyncio.gather(pool.send(message("a")), pool.send(message("b")))

    await pool.close()

    await sink.wait_for_closed_connections()
    with pytest.raises(RuntimeError):
        await pool.send(message("c"))


async def test_the_registry_keeps_a_pool_per_version_and_closes_old_ones(
    smtp_sink: SinkFactory,
) -> None:
    # given a registry and a pool in use for version 1 of a configuration
    sink = await smtp_sink()
    registry = SmtpPoolRegistry(options())
    try:
        first = registry.get("cfg-1", "v1", endpoint(sink), max_connections=2)
        assert registry.get("cfg-1", "v1", endpoint(sink), max_connections=2) is first
        await first.send(message("v1"))

        # when the configuration is edited (a new version)
        second = registry.get("cfg-1", "v2", endpoint(sink), max_connections=2)

        # then a new pool serves it and the old one's connection is closed
        assert second is not first
        await sink.wait_for_closed_connections()
        await second.send(message("v2"))
    finally:
        await registry.close()
    await sink.wait_for_closed_connections()
    assert sink.connections_accepted == 2
