"""What the aiosmtplib adapter relies on, checked against real aiosmtpd sessions and the pin."""

from __future__ import annotations

import asyncio
import inspect
import ssl
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

import pytest
import trustme
from aiosmtplib import SMTP, SMTPServerDisconnected
from aiosmtplib.protocol import SMTPProtocol

from mailsage_gql.smtp.aiosmtplib_adapter import CHECKED_VERSION, SessionWire
from tests.support.smtp_sink import SinkFactory, SmtpSink

PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"
MESSAGE = b"Subject: adapter\r\n\r\nhello\r\n.\r\n"
# Far beyond loopback socket buffers, so the write is still buffered when it returns from
# the transport and the drain really waits; below aiosmtpd's 32 MiB DATA limit.
BIG_MESSAGE = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 16_000 + b".\r\n"
DEADLINE = 10.0


class ProtocolSpy:
    """Records the asyncio protocol callbacks aiosmtplib's protocol receives."""

    def __init__(self, protocol: SMTPProtocol) -> None:
        self.data_arrived = asyncio.Event()
        self.paused = asyncio.Event()
        receive, pause = protocol.data_received, protocol.pause_writing

        def data_received(data: bytes) -> None:
            receive(data)
            self.data_arrived.set()

        def pause_writing() -> None:
            pause()
            self.paused.set()

        protocol.data_received = data_received  # type: ignore[method-assign]
        protocol.pause_writing = pause_writing  # type: ignore[method-assign]


@asynccontextmanager
async def at_data(sink: SmtpSink, ca: trustme.CA | None = None) -> AsyncIterator[SMTP]:
    """An aiosmtplib session to `sink` that got 354 to DATA, through public API only."""
    context = None
    if sink.tls == "implicit":
        assert ca is not None
        context = ssl.create_default_context()
        ca.configure_trust(context)
    client = SMTP(
        hostname=sink.host,
        port=sink.port,
        use_tls=sink.tls == "implicit",
        start_tls=False,
        tls_context=context,
        local_hostname="client.test",
        timeout=DEADLINE,
    )
    await client.connect()
    try:
        await client.ehlo()
        await client.mail("from@example.com")
        await client.rcpt("to@example.com")
        reply = await client.execute_command(b"DATA")
        assert reply.code == 354
        yield client
    finally:
        client.close()


def test_the_installed_aiosmtplib_is_the_pinned_one_the_adapter_was_checked_against() -> None:
    # given the dependency pins
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    [pin] = [d for d in dependencies if d.startswith("aiosmtplib")]

    # then aiosmtplib is pinned exactly, to the installed release, which the adapter names:
    # an upgrade means re-reading aiosmtplib's protocol.py against the adapter's docstring
    assert pin == f"aiosmtplib=={CHECKED_VERSION}"
    assert version("aiosmtplib") == CHECKED_VERSION


async def test_a_connected_session_has_the_internals_the_adapter_uses(
    smtp_sink: SinkFactory,
) -> None:
    sink = await smtp_sink()
    async with at_data(sink) as client:
        protocol = client.protocol

        # the protocol is aiosmtplib's, with a reply flag that is down between commands
        assert isinstance(protocol, SMTPProtocol)
        assert vars(protocol).get("_response_pending") is False
        # the stdlib flow-control wait, a coroutine on the protocol
        assert inspect.iscoroutinefunction(protocol._drain_helper)
        # and a transport with the flow-control surface the adapter drives
        transport = client.transport
        for method in ("is_closing", "set_write_buffer_limits", "get_write_buffer_size"):
            assert callable(getattr(transport, method))


async def test_aiosmtplib_drops_a_reply_that_arrives_while_none_is_pending(
    smtp_sink: SinkFactory,
) -> None:
    # given a session at DATA, and the message written without marking a reply pending
    sink = await smtp_sink()
    async with at_data(sink) as client:
        assert client.protocol is not None
        spy = ProtocolSpy(client.protocol)
        client.protocol.write(MESSAGE)

        # when the server's reply to it has arrived
        async with asyncio.timeout(DEADLINE):
            await spy.data_arrived.wait()

        # then it was dropped: the next command reads its own reply, not that one
        reply = await client.execute_command(b"NOOP")
        assert reply.message == "OK"
        assert len(sink.messages) == 1


@pytest.mark.parametrize("tls", ["none", "implicit"])
async def test_a_reply_that_arrives_before_it_is_read_is_kept(
    smtp_sink: SinkFactory, smtp_ca: trustme.CA, tls: str
) -> None:
    # given the message written through the adapter
    sink = await smtp_sink(tls=tls)
    async with at_data(sink, smtp_ca) as client:
        assert client.protocol is not None
        spy = ProtocolSpy(client.protocol)
        wire = SessionWire(client)
        await wire.write(MESSAGE)

        # when the reply arrives before anyone reads it
        async with asyncio.timeout(DEADLINE):
            await spy.data_arrived.wait()

            # then reading returns it
            reply = await wire.read_reply()

        assert (reply.code, reply.message) == (250, "2.0.0 OK queued")


async def test_write_returns_only_once_the_transport_buffer_is_empty(
    smtp_sink: SinkFactory,
) -> None:
    # given a message larger than the socket buffers
    sink = await smtp_sink()
    async with at_data(sink) as client:
        assert client.protocol is not None and client.transport is not None
        spy = ProtocolSpy(client.protocol)
        wire = SessionWire(client)

        # when written through the adapter
        async with asyncio.timeout(DEADLINE):
            await wire.write(BIG_MESSAGE)

            # then writing had paused (the drain waited), and nothing is left in our buffer
            assert spy.paused.is_set()
            assert client.transport.get_write_buffer_size() == 0  # type: ignore[attr-defined]
            reply = await wire.read_reply()

        assert reply.code == 250
        [received] = await sink.wait_for_messages(1)
        assert received.subject == "big"


async def test_a_connection_lost_while_the_write_is_buffered_raises(
    smtp_sink: SinkFactory,
) -> None:
    # given a large message being written, paused on a full buffer
    sink = await smtp_sink()
    async with at_data(sink) as client:
        assert client.protocol is not None
        spy = ProtocolSpy(client.protocol)
        write = asyncio.create_task(SessionWire(client).write(BIG_MESSAGE))
        async with asyncio.timeout(DEADLINE):
            await spy.paused.wait()

            # when the server drops the connection (unread data: a reset)
            sink.drop_connections()

            # then the write raises: the end of the message never left this process
            with pytest.raises(ConnectionError):
                await write

        assert sink.messages == []


async def test_a_write_cancelled_while_buffered_never_sends_the_rest(
    smtp_sink: SinkFactory,
) -> None:
    # given a large message being written to a server that has stopped reading
    sink = await smtp_sink()
    async with at_data(sink) as client:
        assert client.protocol is not None
        [server] = sink._open  # the server side of this session
        assert server.transport is not None
        server.transport.pause_reading()
        spy = ProtocolSpy(client.protocol)
        write = asyncio.create_task(SessionWire(client).write(BIG_MESSAGE))
        async with asyncio.timeout(DEADLINE):
            await spy.paused.wait()

            # when the write is cancelled (a timeout), the session closed, the server reads again
            write.cancel()
            with pytest.raises(asyncio.CancelledError):
                await write
            client.close()
            server.transport.resume_reading()

            # then the rest of the message never reached the server
            await sink.wait_for_closed_connections()
        assert sink.messages == []


async def test_a_hang_up_that_came_with_the_354_raises_before_writing(
    smtp_sink: SinkFactory,
) -> None:
    # given a server that says 354 and hangs up at once
    sink = await smtp_sink(fault="disconnect_after_354")
    async with at_data(sink) as client:
        # when the message is written
        with pytest.raises(SMTPServerDisconnected):
            await SessionWire(client).write(MESSAGE)

    # then nothing reached the server
    assert sink.messages == []


async def test_reading_after_a_hang_up_past_the_dot_raises_disconnected(
    smtp_sink: SinkFactory,
) -> None:
    # given a server that records the message and hangs up without replying
    sink = await smtp_sink(fault="disconnect_after_dot")
    async with at_data(sink) as client:
        wire = SessionWire(client)
        await wire.write(MESSAGE)

        # when the reply is read, then the loss is reported as a disconnect
        async with asyncio.timeout(DEADLINE):
            with pytest.raises(SMTPServerDisconnected):
                await wire.read_reply()

    assert len(sink.messages) == 1


async def test_a_closed_session_has_no_wire(smtp_sink: SinkFactory) -> None:
    sink = await smtp_sink()
    async with at_data(sink) as client:
        client.close()

        with pytest.raises(SMTPServerDisconnected):
            SessionWire(client)
