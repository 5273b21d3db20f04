"""One SMTP session over aiosmtplib: connect, TLS, AUTH, and send messages on it."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
import time

from aiosmtplib import SMTP
from aiosmtplib.email import quote_address
from aiosmtplib.errors import (
    SMTPConnectError,
    SMTPException,
    SMTPHeloError,
    SMTPResponseException,
    SMTPServerDisconnected,
)
from aiosmtplib.response import SMTPResponse

from mailsage_gql import host_policy
from mailsage_gql.errors import ConfigurationError, SmtpError, ValidationError
from mailsage_gql.smtp.aiosmtplib_adapter import SessionWire
from mailsage_gql.smtp.replies import Failure, Stage, classify, classify_refused, enhanced_code
from mailsage_gql.smtp.types import (
    OutgoingMessage,
    SendResult,
    SmtpEndpoint,
    TransportOptions,
    VerifyResult,
)

logger = logging.getLogger(__name__)

_LINE_ENDINGS = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")
_ACCEPTED_RCPT = (250, 251)


def build_tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The client TLS context: system CAs plus `ca_file`.

    Security: certificate and host name verification are always on and TLS 1.2 is the
    minimum; `ca_file` adds trust anchors, it never replaces the system ones.

    :raises ConfigurationError: `ca_file` cannot be read or holds no certificate.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"MAILSAGE_SMTP_CA_FILE {ca_file!r}: {exc}") from None
    return context


def default_helo_name(options: TransportOptions) -> str:
    """The EHLO name: the configured one, else this machine's FQDN (may block on DNS)."""
    return options.helo_name or socket.getfqdn()


def prepare_body(data: bytes) -> bytes:
    """The DATA payload without its terminating ".": CRLF line endings, leading dots doubled.

    Security: every lone CR or LF becomes CRLF before dot-stuffing, so a message cannot carry
    a bare "<LF>.<LF>" that a lenient server takes as the end of data (SMTP smuggling), and a
    line starting with "." cannot end the data early (RFC 5321 4.5.2).
    """
    crlf = data.count(b"\r\n")
    if not (crlf == data.count(b"\n") == data.count(b"\r")):
        data = _LINE_ENDINGS.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b".") or b"\n." in data:
        data = _LEADING_DOT.sub(b"..", data)
    return data


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    for _ in range(4):  # aiosmtplib wraps handshake errors once or twice
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def translate(
    exc: BaseException, stage: Stage, server: str, *, secret: str | None = None
) -> SmtpError:
    """Reduce an aiosmtplib or socket exception to facts, and let `classify` decide.

    Security: `secret` (the password) is blanked out of any text taken from the exception.
    """
    if isinstance(exc, SmtpError):
        return exc
    code: int | None = None
    tls_error = _ssl_error(exc)
    if isinstance(exc, SMTPResponseException) and exc.code > 0:
        failure, code, text = Failure.REPLY, exc.code, exc.message
    elif tls_error is not None:
        failure, text = Failure.TLS, str(tls_error)
        if stage == "connect":
            stage = "tls"
    elif isinstance(exc, TimeoutError):
        failure, text = Failure.TIMEOUT, str(exc) or "timed out"
    elif isinstance(exc, SMTPServerDisconnected | ConnectionError):
        failure, text = Failure.DISCONNECTED, f"connection lost ({exc})"
    elif isinstance(exc, SMTPConnectError | OSError):
        failure, text = Failure.UNREACHABLE, str(exc)
    elif isinstance(exc, SMTPException):
        failure, text = Failure.PROTOCOL, exc.message
    else:
        failure, text = Failure.PROTOCOL, f"{type(exc).__name__}: {exc}"
    if secret:
        text = text.replace(secret, "[redacted]")
    return classify(stage, failure=failure, code=code, text=text, server=server)


async def _connect_socket(address: str, port: int, *, within: float) -> socket.socket:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # Without this, the separately written final "." waits on Nagle + delayed ACK. asyncio
    # sets it only on sockets it creates itself.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(within):
            await loop.sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


class SmtpConnection:
    """One authenticated SMTP session; one transaction at a time (the pool guarantees it).

    A connection is open, or closed for good: any failure that leaves the session in an
    unknown state (disconnect, timeout, cancellation) aborts it.
    """

    __slots__ = (
        "_client",
        "_deadline",
        "_endpoint",
        "_in_transaction",
        "_message_deadline",
        "_options",
        "_stage",
        "last_used",
    )

    def __init__(self, client: SMTP, endpoint: SmtpEndpoint, options: TransportOptions) -> None:
        self._client = client
        self._endpoint = endpoint
        self._options = options
        self._stage: Stage = "mail"
        self._in_transaction = False  # MAIL accepted, no final reply yet: RSET before reuse
        #: During send(): the message's deadline, and the timeout that enforces the command
        #: timeout within it (one timer, moved per command: see _expect_reply).
        self._message_deadline = 0.0
        self._deadline: asyncio.Timeout | None = None
        self.last_used = 0.0

    @classmethod
    async def open(
        cls,
        endpoint: SmtpEndpoint,
        options: TransportOptions,
        *,
        tls_context: ssl.SSLContext | None,
        helo_name: str,
    ) -> tuple[SmtpConnection, SMTPResponse]:
        """Connect, greet, negotiate TLS and authenticate; returns the session and last reply.

        Security: the socket goes to the address the host policy approved (no second lookup),
        while SNI and certificate checks use the configured host name. STARTTLS is required
        when TLS is configured (no silent downgrade). Credentials are sent only after TLS
        when TLS is configured; with use_tls=False they go in clear, as configured.

        :raises SmtpError: classified, with the failing stage.
        :raises ValidationError: the host is refused by the host policy.
        """
        host = endpoint.host
        mode = endpoint.tls_mode
        if mode != "none" and tls_context is None:
            tls_context = await asyncio.to_thread(build_tls_context, options.ca_file)
        stage: Stage = "connect"
        try:  # an unresolvable name is an OSError: a connect failure like any other
            address = await host_policy.resolve(
                host,
                endpoint.port,
                target=host_policy.SMTP_HOST,
                allow_private=options.allow_private_hosts,
                resolver=options.resolver,
            )
            sock = await _connect_socket(address, endpoint.port, within=options.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise translate(exc, stage, host) from None
        # From here asyncio owns the socket: it closes it with the transport.
        client = SMTP(
            hostname=host,
            sock=sock,
            use_tls=mode == "implicit",
            start_tls=False,
            tls_context=tls_context,
            local_hostname=helo_name,
            timeout=options.command_timeout,
        )
        timeout = options.command_timeout
        try:
            reply = await client.connect(timeout=options.connect_timeout)
            reply = await cls._greet(
                client, need_esmtp=mode == "starttls" or bool(endpoint.username)
            )
            if mode == "starttls":
                stage = "tls"
                if not client.supports_extension("starttls"):
                    raise classify(
                        stage,
                        failure=Failure.NOT_OFFERED,
                        text="the server does not offer STARTTLS, which this configuration"
                        " requires",
                        server=host,
                    )
                await client.starttls(
                    server_hostname=host, tls_context=tls_context, timeout=timeout
                )
                stage = "connect"
                reply = await client.ehlo(timeout=timeout)
            if endpoint.username is not None:
                stage = "auth"
                if not client.supported_auth_methods:
                    offered = client.esmtp_extensions.get("auth")
                    raise classify(
                        stage,
                        failure=Failure.NOT_OFFERED,
                        text=(
                            "the server does not offer AUTH"
                            if not offered
                            else f"the server offers AUTH {offered}, none of which we support"
                        )
                        + (" (it may offer it only over TLS)" if mode == "none" else ""),
                        server=host,
                    )
                reply = await client.login(
                    endpoint.username, endpoint.password or "", timeout=timeout
                )
        except (Exception, asyncio.CancelledError) as exc:
            client.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise translate(exc, stage, host, secret=endpoint.password) from None
        return cls(client, endpoint, options), reply

    @staticmethod
    async def _greet(client: SMTP, *, need_esmtp: bool) -> SMTPResponse:
        try:
            return await client.ehlo()
        except SMTPHeloError as exc:
            if need_esmtp or exc.code < 500 or not client.is_connected:
                raise
        return await client.helo()

    @property
    def is_open(self) -> bool:
        return self._client.is_connected

    @property
    def tls_version(self) -> str | None:
        if not self._client.is_connected:
            return None
        ssl_object = self._client.get_transport_info("ssl_object")
        return None if ssl_object is None else str(ssl_object.version())

    def abort(self) -> None:
        """Close the transport now, without QUIT."""
        self._client.close()

    async def quit(self) -> None:
        """Say QUIT and close; best effort, never raises."""
        if not self._client.is_connected:
            return
        try:
            await self._client.quit(timeout=self._options.command_timeout)
        except (Exception, asyncio.CancelledError) as exc:
            logger.debug("QUIT to %s failed: %r", self._endpoint.host, exc)
        finally:
            self._client.close()

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Run one transaction: MAIL, RCPT per recipient, DATA.

        Succeeds when at least one recipient was accepted (refused ones are in the result).
        The connection stays usable after a rejection (RSET is sent when a transaction was
        left open) and is aborted after anything that leaves its state unknown.

        :raises SmtpError: classified; SmtpUncertainError when the connection died or timed
            out after the final "." was written (the message may have been delivered).
        :raises ValidationError: an address cannot be put on an SMTP command line.
        """
        started = time.perf_counter()
        self._stage = "mail"
        loop = asyncio.get_running_loop()
        self._message_deadline = loop.time() + self._options.message_timeout
        try:
            async with asyncio.timeout_at(self._message_deadline) as deadline:
                self._deadline = deadline
                reply, refused = await self._transaction(message)
        except SmtpError as error:
            if self._in_transaction:
                await self._reset()
            raise error from None
        except ValidationError:
            raise
        except (Exception, asyncio.CancelledError) as exc:
            # Disconnect, timeout (a command's or the whole message's), cancellation: the
            # session state is unknown, so it is never reused.
            self._in_transaction = False
            self._client.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            if isinstance(exc, TimeoutError) and not str(exc):
                if loop.time() >= self._message_deadline:
                    which, seconds = "message", self._options.message_timeout
                else:
                    which, seconds = "command", self._options.command_timeout
                exc = TimeoutError(f"no reply within the {which} timeout ({seconds:g} s)")
            raise translate(exc, self._stage, self._endpoint.host) from None
        finally:
            self._deadline = None
        return SendResult(
            smtp_code=reply.code,
            enhanced_code=enhanced_code(reply.code, reply.message),
            response=reply.message,
            refused=refused,
            duration_ms=(time.perf_counter() - started) * 1000.0,
        )

    async def _transaction(
        self, message: OutgoingMessage
    ) -> tuple[SMTPResponse, dict[str, tuple[int, str]]]:
        client = self._client
        host = self._endpoint.host
        if not message.recipients:
            raise ValidationError("a message needs at least one recipient", field="recipients")

        ascii_only = message.sender.isascii() and all(r.isascii() for r in message.recipients)
        encoding = "ascii" if ascii_only else "utf-8"
        options: list[bytes] = []
        if not ascii_only:
            if not client.supports_extension("smtputf8"):
                raise classify(
                    "mail",
                    failure=Failure.NOT_OFFERED,
                    text="the addresses need SMTPUTF8, which the server does not offer",
                    server=host,
                )
            options.append(b"SMTPUTF8")
        if not message.data.isascii() and client.supports_extension("8bitmime"):
            options.append(b"BODY=8BITMIME")
        # Quote every address before MAIL, so a bad one never leaves a transaction open.
        try:
            sender = quote_address(message.sender).encode(encoding)
        except ValueError as exc:
            raise ValidationError(str(exc), field="sender") from None
        try:
            addresses = [quote_address(r).encode(encoding) for r in message.recipients]
        except ValueError as exc:
            raise ValidationError(str(exc), field="recipients") from None

        self._expect_reply()
        reply = await client.execute_command(b"MAIL", b"FROM:" + sender, *options, timeout=None)
        if reply.code != 250:
            raise classify("mail", code=reply.code, text=reply.message, server=host)
        self._in_transaction = True

        self._stage = "rcpt"
        refused: dict[str, tuple[int, str]] = {}
        for recipient, address in zip(message.recipients, addresses, strict=True):
            self._expect_reply()
            reply = await client.execute_command(b"RCPT", b"TO:" + address, timeout=None)
            if reply.code not in _ACCEPTED_RCPT:
                refused[recipient] = (reply.code, reply.message)
                if reply.code == 421:  # the server is closing the session
                    break
        if len(refused) == len(message.recipients):
            raise classify_refused(refused, server=host)

        self._stage = "data"
        self._expect_reply()
        reply = await client.execute_command(b"DATA", timeout=None)
        if reply.code != 354:
            raise classify("data", code=reply.code, text=reply.message, server=host)
        reply = await self._write_message(prepare_body(message.data))
        self._in_transaction = False
        if reply.code != 250:
            if reply.code == 421:  # the server is closing the session
                client.close()
            raise classify("data", code=reply.code, text=reply.message, server=host)
        return reply, refused

    async def _write_message(self, body: bytes) -> SMTPResponse:
        """Write the message and the final "." (one write, as aiosmtplib's data() does), then
        read the reply.

        A failure is placed on its side of the ".", so the caller knows whether the server can
        have accepted the message: until the "." has left this process the stage stays
        "data" (safe to retry); from then on it is "after_data" (uncertain).
        """
        wire = SessionWire(self._client)
        # Raises only while the "." is still in this process (see SessionWire).
        await wire.write(body + b".\r\n")
        self._stage = "after_data"
        self._expect_reply()
        return await wire.read_reply()

    def _expect_reply(self) -> None:
        """Give the next reply the command timeout, within the message's deadline.

        One timer for the whole transaction, moved before each command, instead of
        aiosmtplib's wait_for per command (a timer and two extra event-loop turns each)."""
        assert self._deadline is not None  # only inside send()
        now = asyncio.get_running_loop().time()
        self._deadline.reschedule(min(self._message_deadline, now + self._options.command_timeout))

    async def _reset(self) -> None:
        """End an open transaction so the session can carry the next message; never raises
        but CancelledError. A session that cannot be reset is closed."""
        self._in_transaction = False
        if not self._client.is_connected:
            return
        try:
            reply = await self._client.execute_command(
                b"RSET", timeout=self._options.command_timeout
            )
        except (Exception, asyncio.CancelledError) as exc:
            self._client.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        if reply.code != 250:
            self._client.close()


async def verify_endpoint(endpoint: SmtpEndpoint, options: TransportOptions) -> VerifyResult:
    """Check a configuration: connect, TLS, AUTH, then QUIT, on a fresh connection.

    :raises SmtpError: classified, with the failing stage.
    :raises ValidationError: the host is refused by the host policy.
    """
    started = time.perf_counter()
    helo_name = await asyncio.to_thread(default_helo_name, options)
    connection, reply = await SmtpConnection.open(
        endpoint, options, tls_context=None, helo_name=helo_name
    )
    tls_version = connection.tls_version
    await connection.quit()
    return VerifyResult(
        smtp_code=reply.code,
        enhanced_code=enhanced_code(reply.code, reply.message),
        response=reply.message,
        duration_ms=(time.perf_counter() - started) * 1000.0,
        tls_version=tls_version,
        authenticated=endpoint.username is not None,
    )


async def send_test_message(
    endpoint: SmtpEndpoint, options: TransportOptions, message: OutgoingMessage
) -> SendResult:
    """Connect, TLS, AUTH, send `message`, QUIT on a fresh connection.

    `duration_ms` covers the whole exchange, connecting included.

    :raises SmtpError: classified, with the failing stage.
    :raises ValidationError: the host is refused by the host policy, or an address is bad.
    """
    started = time.perf_counter()
    helo_name = await asyncio.to_thread(default_helo_name, options)
    connection, _ = await SmtpConnection.open(
        endpoint, options, tls_context=None, helo_name=helo_name
    )
    try:
        result = await connection.send(message)
    finally:
        await connection.quit()
    return SendResult(
        smtp_code=result.smtp_code,
        enhanced_code=result.enhanced_code,
        response=result.response,
        refused=result.refused,
        duration_ms=(time.perf_counter() - started) * 1000.0,
    )
