"""Rendering a queued message into RFC 5322 bytes; pure, no I/O."""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

# SMTP policy: CRLF line endings, lines folded at 78; refuses CR/LF inside header values.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


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


def render(parts: MessageParts) -> bytes:
    """The message as sent; Bcc recipients are envelope-only and never appear in it."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = parts.from_email
    msg["To"] = ", ".join(parts.to)
    if parts.cc:
        msg["Cc"] = ", ".join(parts.cc)
    if parts.reply_to:
        msg["Reply-To"] = parts.reply_to
    msg["Subject"] = parts.subject
    msg["Date"] = email.utils.format_datetime(parts.date)
    msg["Message-ID"] = parts.message_id
    for name, value in parts.headers:
        msg[name] = value
    if parts.text is not None:
        msg.set_content(parts.text)
        if parts.html is not None:
            msg.add_alternative(parts.html, subtype="html")
    else:
        msg.set_content(parts.html or "", subtype="html")
    return msg.as_bytes()


def new_message_id(domain: str, unique: str) -> str:
    """`<unique@domain>`: the domain of the sender, so receivers see a consistent origin."""
    return f"<{unique}@{domain}>"
