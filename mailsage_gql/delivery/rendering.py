"""Rendering a queued message into RFC 5322 bytes; pure, no I/O.

Contract: every input was validated on the way in (addresses by email-validator, no CR/LF/NUL
in any header value), so headers are written directly; only non-ASCII text is encoded (RFC
2047 words in headers, quoted-printable bodies). Header lines stay within 998 octets.
"""

from __future__ import annotations

import binascii
import email.utils
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header

_MAX_LINE = 998  # RFC 5322 hard limit, without CRLF


@dataclass(frozen=True)
class MessageParts:
    from_email: str
    to: Sequence[str]
    cc: Sequence[str]
    subject: str
    text: str | None
    html: str | None
    reply_to: str | None
    headers: Sequence[tuple[str, str]]
    message_id: str
    date: datetime


def _header_text(value: str) -> str:
    """Short ASCII as is; anything else as RFC 2047 encoded words, folded."""
    if value.isascii() and len(value) <= 900:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def _address_list(addresses: Sequence[str]) -> str:
    # Validated addresses; an internationalised one (SMTPUTF8) is written as UTF-8 (RFC 6532).
    return ",\r\n ".join(addresses)


def _body(content: str, subtype: str) -> bytes:
    """A text part: 7bit when it is ASCII with short lines, quoted-printable otherwise."""
    normalised = content.replace("\r\n", "\n").replace("\r", "\n")
    lines = normalised.split("\n")
    if normalised.isascii() and all(len(line) <= _MAX_LINE for line in lines):
        encoding, payload = "7bit", "\r\n".join(lines).encode("ascii")
    else:
        encoded = binascii.b2a_qp(normalised.encode("utf-8"), quotetabs=False, istext=True)
        encoding, payload = "quoted-printable", encoded.replace(b"\n", b"\r\n")
    head = (
        f"Content-Type: text/{subtype}; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode("ascii")
    return head + payload + (b"" if payload.endswith(b"\r\n") else b"\r\n")


def render(parts: MessageParts) -> bytes:
    """The message as sent; Bcc recipients are envelope-only and never appear in it."""
    lines = [
        f"From: {parts.from_email}",
        f"To: {_address_list(parts.to)}",
    ]
    if parts.cc:
        lines.append(f"Cc: {_address_list(parts.cc)}")
    if parts.reply_to:
        lines.append(f"Reply-To: {parts.reply_to}")
    lines += [
        f"Subject: {_header_text(parts.subject)}",
        f"Date: {email.utils.format_datetime(parts.date)}",
        f"Message-ID: {parts.message_id}",
        "MIME-Version: 1.0",
    ]
    lines += [f"{name}: {_header_text(value)}" for name, value in parts.headers]
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n"
    if parts.text is not None and parts.html is not None:
        boundary = f"=_mailsage_{secrets.token_hex(12)}"
        return (
            head
            + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode()
            + f"--{boundary}\r\n".encode()
            + _body(parts.text, "plain")
            + f"--{boundary}\r\n".encode()
            + _body(parts.html, "html")
            + f"--{boundary}--\r\n".encode()
        )
    if parts.text is not None:
        return head + _body(parts.text, "plain")
    return head + _body(parts.html or "", "html")


def new_message_id(domain: str, unique: str) -> str:
    """`<unique@domain>`: the domain of the sender, so receivers see a consistent origin."""
    return f"<{unique}@{domain}>"
