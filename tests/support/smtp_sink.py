"""Real aiosmtpd servers for tests: TLS via trustme, AUTH, recorded messages, injected faults."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.parser
import email.policy
import json
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import pytest
import trustme
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.support.waiting import eventually

TlsMode = Literal["none", "starttls", "implicit"]
Fault = Literal[
    "refuse",  # nothing listens on the port
    "greeting_421",  # "421 Service not available" instead of the greeting, then close
    "slow_greeting",  # no greeting for `slow_seconds`
    "no_starttls",  # STARTTLS not offered (new connections)
    "auth_535",  # every AUTH fails with 535 5.7.8
    "mail_451_rate",  # MAIL FROM: 451 4.7.1 rate limited
    "slow_mail",  # MAIL FROM: reply only after `slow_seconds`
    "disconnect_on_mail",  # close the connection when MAIL FROM arrives (a dead idle session)
    "rcpt_451_rate",  # every RCPT TO: 451 4.7.1 rate limited
    "rcpt_550",  # every RCPT TO: 550 5.1.1 user unknown
    "data_554",  # final reply 554 5.7.1 spam
    "data_quota",  # final reply 550 5.4.5 daily sending quota exceeded (Gmail's words)
    "disconnect_on_data",  # close the connection when DATA arrives, before 354
    "disconnect_after_354",  # say 354, then close while the client writes the message
    "disconnect_after_dot",  # record the message, close without replying
    "slow_data",  # record the message, reply only after `slow_seconds`
    # Added for the reliability campaign (tests/reliability): one fault per SMTP phase.
    "ehlo_421",  # EHLO (and HELO): 421 service not available, then close
    "ehlo_554",  # EHLO and HELO: 554 5.7.1 access denied (the session stays open)
    "slow_ehlo",  # EHLO: reply only after `slow_seconds`
    "starttls_454",  # STARTTLS offered, then refused with 454 4.7.0 (temporary)
    "auth_454",  # every AUTH fails with 454 4.7.0 temporary authentication failure
    "mail_451",  # MAIL FROM: 451 4.3.0 temporary local problem (not a rate limit)
    "mail_421",  # MAIL FROM: 421 service not available, then close (mid-session shutdown)
    "rcpt_421",  # RCPT TO: 421 service not available, then close
    "slow_data_354",  # DATA: the 354 comes only after `slow_seconds`
    "data_451",  # final reply 451 4.3.0 temporary failure (after the whole message)
    "slow_replies",  # MAIL, every RCPT and the final reply each only after `slow_seconds`
]
FAULTS: tuple[str, ...] = get_args(Fault)
HOST = "127.0.0.1"

RATE_REPLY = "451 4.7.1 Rate limit exceeded, try again later"
SHUTDOWN_REPLY = "421 localhost Service not available, closing transmission channel"
ACCESS_DENIED_REPLY = "554 5.7.1 Access denied"
TLS_UNAVAILABLE_REPLY = "454 4.7.0 TLS not available due to temporary reason"
AUTH_TEMPORARY_REPLY = "454 4.7.0 Temporary authentication failure"
TEMPORARY_REPLY = "451 4.3.0 Temporary local problem, try again later"
UNKNOWN_USER_REPLY = "550 5.1.1 <{address}>: user unknown"
SPAM_REPLY = "554 5.7.1 Message rejected as spam"
QUOTA_REPLY = (
    "550-5.4.5 Daily user sending quota exceeded.\r\n"
    "550 5.4.5 For more information, go to https://support.google.com/mail/?p=SendingQuota"
)

_header_parser = email.parser.BytesHeaderParser(policy=email.policy.default)


class ServerCert(Protocol):
    """What a sink needs of a certificate: trustme.LeafCert, or a PEM file (other process)."""

    def configure_cert(self, context: ssl.SSLContext) -> None: ...


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the sink received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes = field(repr=False)
    message_id: str | None
    from_: str | None
    to: str | None
    subject: str | None

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> ReceivedMessage:
        raw = envelope.original_content or b""
        headers = _header_parser.parsebytes(raw)

        def header(name: str) -> str | None:
            value = headers.get(name)
            return None if value is None else str(value)

        return cls(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message_id=header("Message-ID"),
            from_=header("From"),
            to=header("To"),
            subject=header("Subject"),
        )


class _Handler:
    """aiosmtpd hooks: apply the sink's current fault, record accepted messages."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        sink = self.sink
        if sink._fires("mail_451_rate"):
            return RATE_REPLY
        if sink._fires("slow_mail") or sink.fault == "slow_replies":
            await sink._stall()
        if sink._fires("disconnect_on_mail"):
            await _hang_up(server)
        if sink._fires("mail_451"):
            return TEMPORARY_REPLY
        if sink._fires("mail_421"):
            await server.push(SHUTDOWN_REPLY)
            await _hang_up(server)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        sink = self.sink
        if sink.fault == "slow_replies":
            await sink._stall()
        if sink._fires("rcpt_451_rate"):
            return RATE_REPLY
        if sink._fires("rcpt_421"):
            await server.push(SHUTDOWN_REPLY)
            await _hang_up(server)
        if sink._fires("rcpt_550") or address in sink.refuse_recipients:
            return UNKNOWN_USER_REPLY.format(address=address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_RSET(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        self.sink.resets += 1
        return "250 OK"

    async def handle_DATA(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        sink = self.sink
        if sink._fires("data_554"):
            return SPAM_REPLY
        if sink._fires("data_quota"):
            return QUOTA_REPLY
        if sink._fires("data_451"):
            return TEMPORARY_REPLY
        sink._record(ReceivedMessage.from_envelope(envelope))
        if sink._fires("disconnect_after_dot"):
            await _hang_up(server)
        if sink._fires("slow_data") or sink.fault == "slow_replies":
            await sink._stall()
        return "250 2.0.0 OK queued"


async def _hang_up(server: SMTPProtocol) -> None:
    """Close the connection and wait to be cancelled by aiosmtpd's connection_lost()."""
    assert server.transport is not None
    server.transport.close()
    await asyncio.get_running_loop().create_future()


class _SinkProtocol(SMTPProtocol):
    def __init__(self, sink: SmtpSink, **kwargs: Any) -> None:
        super().__init__(_Handler(sink), **kwargs)
        self._sink = sink
        self._counted_open = False
        self._refuse_helo = False  # ehlo_554: HELO is refused too on this connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._counted_open:  # called again after STARTTLS
            self._counted_open = True
            self._sink._connection_opened(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._sink._connection_closed(self)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self._sink._fires("greeting_421"):
            await self.push("421 localhost Service not available, closing transmission channel")
            assert self.transport is not None
            self.transport.close()
            return
        if self._sink._fires("slow_greeting"):
            await self._sink._stall()
        await super()._handle_client()

    async def smtp_EHLO(self, hostname: str) -> None:
        if self._sink._fires("ehlo_421"):
            await self.push(SHUTDOWN_REPLY)
            await _hang_up(self)
        if self._sink._fires("ehlo_554"):
            self._refuse_helo = True
            await self.push(ACCESS_DENIED_REPLY)
            return
        if self._sink._fires("slow_ehlo"):
            await self._sink._stall()
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname: str) -> None:
        if self._refuse_helo:
            await self.push(ACCESS_DENIED_REPLY)
            return
        await super().smtp_HELO(hostname)

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self._sink._fires("starttls_454"):
            await self.push(TLS_UNAVAILABLE_REPLY)
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_DATA(self, arg: str) -> None:
        if self._sink._fires("slow_data_354"):
            await self._sink._stall()
        if self._sink._fires("disconnect_on_data"):
            await _hang_up(self)
        if self._sink._fires("disconnect_after_354"):
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await _hang_up(self)
        await super().smtp_DATA(arg)


class SmtpSink:
    """A real aiosmtpd server on 127.0.0.1, in the running event loop.

    `fault` can be changed while it runs (`sink.fault = None` lets a provider recover);
    per-command faults apply at once, connection faults (greeting, STARTTLS) to new
    connections. Use `await sink.set_fault(...)` to switch to or from "refuse".
    `fault_times=n` makes the fault fire n times, then clear itself (fail twice, recover).
    """

    def __init__(
        self,
        *,
        tls: TlsMode = "none",
        cert: ServerCert | None = None,
        auth: tuple[str, str] | None = None,
        require_auth: bool = False,
        fault: Fault | None = None,
        refuse_recipients: frozenset[str] = frozenset(),
        slow_seconds: float = 5.0,
        fault_times: int | None = None,
    ) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        if tls != "none" and cert is None:
            raise ValueError("a TLS sink needs a server certificate")
        self.host = HOST
        self.port = 0
        self.tls: TlsMode = tls
        self.auth = auth
        self.require_auth = require_auth
        self.refuse_recipients = refuse_recipients
        self.slow_seconds = slow_seconds
        #: How many more times the fault fires before clearing itself; None: until changed.
        self.fault_times = fault_times
        self.messages: list[ReceivedMessage] = []
        self.connections_accepted = 0
        self.max_open_connections = 0
        self.auth_attempts = 0
        self.resets = 0
        self._fault: Fault | None = fault
        self._open: set[_SinkProtocol] = set()
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Event()
        self._released = asyncio.Event()
        self._tls_context: ssl.SSLContext | None = None
        if cert is not None:
            self._tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(self._tls_context)

    # -- control ---------------------------------------------------------------------------

    @property
    def fault(self) -> Fault | None:
        return self._fault

    @fault.setter
    def fault(self, value: Fault | None) -> None:
        if value == "refuse" or self._fault == "refuse":
            raise ValueError('switching to or from "refuse" needs `await sink.set_fault(...)`')
        if value is not None and value not in FAULTS:
            raise ValueError(f"unknown fault {value!r}; one of {FAULTS}")
        self._fault = value

    async def set_fault(self, value: Fault | None) -> None:
        """Switch the fault, starting or stopping listening for "refuse"."""
        was_refusing = self._fault == "refuse"
        self._fault = value
        if value == "refuse" and not was_refusing:
            await self._stop_listening()
        elif was_refusing and value != "refuse":
            await self._listen()

    @property
    def open_connections(self) -> int:
        return len(self._open)

    async def start(self) -> SmtpSink:
        if self._fault == "refuse":
            self.port = _unused_port()
        else:
            await self._listen()
        return self

    async def stop(self) -> None:
        self._released.set()  # let stalled replies finish
        await self._stop_listening()

    def drop_connections(self) -> None:
        """Close every client connection, as a server dropping idle sessions does."""
        for protocol in list(self._open):
            if protocol.transport is not None:
                protocol.transport.close()

    async def wait_for_messages(self, count: int, *, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Wait until at least `count` messages were received; fails after `timeout`."""
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.messages

    async def wait_for_closed_connections(self, *, timeout: float = 5.0) -> None:
        """Wait until no client connection is open."""
        async with asyncio.timeout(timeout):
            while self._open:
                self._arrived.clear()
                await self._arrived.wait()

    # -- internals -------------------------------------------------------------------------

    def _protocol(self) -> _SinkProtocol:
        tls_context = self._tls_context if self.tls == "starttls" else None
        if self._fires("no_starttls"):
            tls_context = None
        return _SinkProtocol(
            self,
            hostname="localhost",
            ident="MailSage test sink",
            tls_context=tls_context,
            require_starttls=False,
            auth_required=self.require_auth,
            # Plain sinks with credentials offer AUTH without TLS (as some providers do);
            # STARTTLS sinks only after it. Without credentials no mechanism is offered.
            auth_require_tls=self.tls == "starttls" or not self.auth,
            auth_exclude_mechanism=None if self.auth else ["LOGIN", "PLAIN"],
            authenticator=self._authenticate if self.auth else None,
            loop=asyncio.get_running_loop(),
        )

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            host=self.host,
            port=self.port,
            ssl=self._tls_context if self.tls == "implicit" else None,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        self.drop_connections()

    def _authenticate(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        self.auth_attempts += 1
        assert self.auth is not None
        user, password = self.auth
        if self._fires("auth_454"):
            return AuthResult(success=False, handled=False, message=AUTH_TEMPORARY_REPLY)
        ok = (
            not self._fires("auth_535")
            and isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        if ok:
            return AuthResult(success=True)
        # handled=False makes aiosmtpd send the 535; handled=True would leave the client hanging.
        return AuthResult(success=False, handled=False)

    def _fires(self, fault: Fault) -> bool:
        """Whether `fault` is active now; counts down `fault_times` when set."""
        if self._fault != fault:
            return False
        if self.fault_times is not None:
            self.fault_times -= 1
            if self.fault_times <= 0:
                self._fault = None
        return True

    def _record(self, message: ReceivedMessage) -> None:
        self.messages.append(message)
        self._arrived.set()

    async def _stall(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.slow_seconds):
                await self._released.wait()

    def _connection_opened(self, protocol: _SinkProtocol) -> None:
        self.connections_accepted += 1
        self._open.add(protocol)
        self.max_open_connections = max(self.max_open_connections, len(self._open))

    def _connection_closed(self, protocol: _SinkProtocol) -> None:
        self._open.discard(protocol)
        self._arrived.set()


def _unused_port() -> int:
    """A port nothing listens on (bound, then released without listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_ca() -> trustme.CA:
    """The test certificate authority every sink's certificate is issued by."""
    return trustme.CA()


@pytest.fixture(scope="session")
def smtp_server_cert(smtp_ca: trustme.CA) -> trustme.LeafCert:
    return smtp_ca.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture(scope="session")
def smtp_ca_file(smtp_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of the CA PEM, for TransportOptions(ca_file=...)."""
    path = tmp_path_factory.mktemp("smtp-ca") / "ca.pem"
    smtp_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def smtp_server_cert_file(
    smtp_server_cert: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """Path of the server key + chain PEM, for sinks in other processes (`--cert`)."""
    path = tmp_path_factory.mktemp("smtp-cert") / "server.pem"
    smtp_server_cert.private_key_and_cert_chain_pem.write_to_path(str(path))
    return str(path)


SinkFactory = Callable[..., Awaitable[SmtpSink]]


@pytest.fixture
async def smtp_sink(smtp_server_cert: trustme.LeafCert) -> AsyncIterator[SinkFactory]:
    """Factory: `sink = await smtp_sink(tls="starttls", auth=("u", "p"), fault=None)`.

    Sinks run in the test's event loop and stop at teardown. Pass `cert=` to use another
    certificate (e.g. one from an untrusted CA).
    """
    sinks: list[SmtpSink] = []

    async def start(**options: Any) -> SmtpSink:
        if options.get("tls", "none") != "none":
            options.setdefault("cert", smtp_server_cert)
        sink = SmtpSink(**options)
        sinks.append(sink)
        return await sink.start()

    yield start
    for sink in sinks:
        await sink.stop()


# -- a sink in another process -------------------------------------------------------------


@dataclass
class SinkProcess:
    """A sink running in a child process; it appends one JSON line per message to `record`."""

    host: str
    port: int
    record: Path
    process: asyncio.subprocess.Process

    def records(self) -> list[dict[str, Any]]:
        """Messages received so far: {"message_id", "mail_from", "rcpt_tos"} each."""
        if not self.record.exists():
            return []
        lines = self.record.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def message_ids(self) -> list[str | None]:
        return [record["message_id"] for record in self.records()]

    async def wait_for_records(self, count: int, *, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Poll the record file until it holds `count` messages; fails after `timeout`."""

        async def read() -> list[dict[str, Any]]:
            return self.records()

        return await eventually(
            read, lambda r: len(r) >= count, timeout=timeout, what=f"{count} recorded messages"
        )

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def start_sink_process(
    record: Path,
    *,
    tls: TlsMode = "none",
    cert_file: str | None = None,
    auth: tuple[str, str] | None = None,
    fault: Fault | None = None,
    startup_timeout: float = 20.0,
) -> SinkProcess:
    """Run `python -m tests.support.smtp_sink` and wait for it to print its port."""
    args = [sys.executable, "-m", "tests.support.smtp_sink", "--port", "0", "--record", str(record)]
    args += ["--tls", tls]
    if cert_file:
        args += ["--cert", cert_file]
    if auth:
        args += ["--user", auth[0], "--password", auth[1]]
    if fault:
        args += ["--fault", fault]
    root = Path(__file__).resolve().parents[2]
    process = await asyncio.create_subprocess_exec(*args, cwd=root, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    try:
        async with asyncio.timeout(startup_timeout):
            line = await process.stdout.readline()
        port = int(json.loads(line)["port"])
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return SinkProcess(host=HOST, port=port, record=record, process=process)


@pytest.fixture
async def smtp_sink_process(
    tmp_path: Path, smtp_server_cert_file: str
) -> AsyncIterator[Callable[..., Awaitable[SinkProcess]]]:
    """Factory: `proc = await smtp_sink_process(tls="none")`; stopped at teardown."""
    processes: list[SinkProcess] = []

    async def start(**options: Any) -> SinkProcess:
        if options.get("tls", "none") != "none":
            options.setdefault("cert_file", smtp_server_cert_file)
        record = tmp_path / f"sink-{len(processes)}.jsonl"
        process = await start_sink_process(record, **options)
        processes.append(process)
        return process

    yield start
    for process in processes:
        await process.stop()


class _FileRecordingSink(SmtpSink):
    def __init__(self, record: Path, **options: Any) -> None:
        super().__init__(**options)
        self._record_file = record.open("a", encoding="utf-8")

    def _record(self, message: ReceivedMessage) -> None:
        super()._record(message)
        line = {
            "message_id": message.message_id,
            "mail_from": message.mail_from,
            "rcpt_tos": list(message.rcpt_tos),
        }
        self._record_file.write(json.dumps(line) + "\n")
        self._record_file.flush()


async def _serve(options: argparse.Namespace) -> None:
    cert = _PemCert(options.cert) if options.cert else None
    auth = (options.user, options.password) if options.user else None
    sink = _FileRecordingSink(
        Path(options.record), tls=options.tls, cert=cert, auth=auth, fault=options.fault
    )
    sink.port = options.port
    await sink.start()
    print(json.dumps({"port": sink.port}), flush=True)
    await asyncio.get_running_loop().create_future()  # until terminated


class _PemCert:
    """A ServerCert read from a key + certificate chain PEM file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def configure_cert(self, context: ssl.SSLContext) -> None:
        context.load_cert_chain(self.path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="MailSage test SMTP sink")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", choices=get_args(TlsMode), default="none")
    parser.add_argument("--cert", help="server key + certificate chain PEM (TLS modes)")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--fault", choices=FAULTS)
    parser.add_argument("--record", required=True, help="append one JSON line per message")
    options = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(options))


if __name__ == "__main__":
    main()
