"""Plain values the SMTP transport takes and returns: endpoints, options, messages, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mailsage_gql.host_policy import Resolver, system_resolver

IMPLICIT_TLS_PORT = 465

TlsMode = Literal["none", "starttls", "implicit"]


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how to connect.

    `implicit_tls`: None picks from the port (465 means implicit TLS, any other port means
    STARTTLS); True or False forces it, for providers (and tests) using other ports.
    Security: the password is kept out of repr; never format an endpoint's fields into text.
    """

    host: str
    port: int
    use_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool | None = None

    def __post_init__(self) -> None:
        if self.implicit_tls and not self.use_tls:
            raise ValueError("implicit_tls=True needs use_tls=True")

    @property
    def tls_mode(self) -> TlsMode:
        """ "none", "starttls" (required, never optional) or "implicit"."""
        if not self.use_tls:
            return "none"
        implicit = self.implicit_tls
        if implicit is None:
            implicit = self.port == IMPLICIT_TLS_PORT
        return "implicit" if implicit else "starttls"


@dataclass(frozen=True)
class TransportOptions:
    """Process-wide transport settings, built from Settings by the composition root.

    `connect_timeout` covers TCP connect, the implicit TLS handshake and the greeting;
    `command_timeout` each later command (including the reply to the final "."), and
    `message_timeout` one whole transaction, MAIL FROM to the final reply.
    `allow_private_hosts` allows loopback and private ranges, never metadata or link-local
    addresses (mailsage_gql.host_policy); `resolver` turns host names into addresses.
    """

    connect_timeout: float = 10.0
    command_timeout: float = 30.0
    message_timeout: float = 120.0
    idle_timeout: float = 60.0
    ca_file: str | None = None  # extra CA; the system CAs are always trusted too
    allow_private_hosts: bool = False
    resolver: Resolver = system_resolver
    helo_name: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send: the envelope and the pre-rendered RFC 5322 bytes (CRLF endings)."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class SendResult:
    """The server accepted the message (for at least one recipient)."""

    smtp_code: int
    enhanced_code: str | None
    response: str
    refused: dict[str, tuple[int, str]]  # refused recipients while others were accepted
    duration_ms: float


@dataclass(frozen=True)
class VerifyResult:
    """A configuration check passed: connected, TLS as configured, authenticated if asked."""

    smtp_code: int  # the last reply before QUIT: AUTH's 235, or EHLO's 250 without AUTH
    enhanced_code: str | None
    response: str
    duration_ms: float
    tls_version: str | None  # e.g. "TLSv1.3"; None on a plain connection
    authenticated: bool
