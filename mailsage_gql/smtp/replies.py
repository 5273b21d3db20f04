"""The one place where SMTP outcomes become MailsageError classes: pure, no I/O."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Literal

from mailsage_gql.errors import (
    SmtpAuthError,
    SmtpConnectionError,
    SmtpError,
    SmtpMessageRejectedError,
    SmtpRateLimitError,
    SmtpRecipientRejectedError,
    SmtpTemporaryError,
    SmtpTimeoutError,
    SmtpUncertainError,
)

#: Where an outcome happened. "after_data": the final "." was written, the reply never came.
Stage = Literal["connect", "tls", "auth", "mail", "rcpt", "data", "after_data"]

STAGE_LABELS: dict[str, str] = {
    "connect": "connecting",
    "tls": "TLS negotiation",
    "auth": "authentication",
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
    "after_data": "waiting for the reply to the message",
}


class Failure(enum.Enum):
    """What kind of fact is being classified."""

    REPLY = "reply"  # the server answered with a code we did not want
    UNREACHABLE = "unreachable"  # DNS failure, refused, no route
    DISCONNECTED = "disconnected"  # the connection closed under us
    TIMEOUT = "timeout"
    TLS = "tls"  # handshake or certificate failure
    NOT_OFFERED = "not_offered"  # a required extension (STARTTLS, AUTH, SMTPUTF8) is missing
    PROTOCOL = "protocol"  # a reply we cannot parse or do not expect


# RFC 3463: class.subject.detail, the class matching the reply code's first digit.
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_UNCERTAIN_FAILURES = frozenset({Failure.DISCONNECTED, Failure.TIMEOUT, Failure.PROTOCOL})
_AUTH_CODES = frozenset({530, 534, 535, 538})
_RATE_LIMIT_4XX_CODES = frozenset({421, 450, 451, 452})
_RATE_LIMIT_4XX_ENHANCED = frozenset({"4.2.1", "4.3.2"})
_RATE_LIMIT_5XX_ENHANCED = frozenset({"5.4.5"})
_RATE_TEXT = re.compile(
    r"too many|\brate\b|rate.?limit|\bquota|\blimit(s|ed|ing)?\b|throttl", re.IGNORECASE
)
# A 5xx with these words is our sending quota (retry later), not a bounce. Narrower than
# _RATE_TEXT: "550 message exceeds size limit" is a rejection of the message.
_QUOTA_5XX_TEXT = re.compile(
    r"sending (quota|limit)|quota exceeded|rate.?limit|too many (messages|mails|emails)"
    r"|daily (user )?sending",
    re.IGNORECASE,
)


def enhanced_code(code: int, text: str) -> str | None:
    """The RFC 3463 enhanced status code at the start of a reply text, e.g. "5.1.1"."""
    match = _ENHANCED.match(text)
    if match is None or int(match.group(1)) != code // 100:
        return None
    return match.group(0)


def parse_reply(raw: str) -> tuple[int, str]:
    """Split a raw reply ("550-5.4.5 Daily ...\\r\\n550 5.4.5 ...") into code and joined text.

    The text is shaped like aiosmtplib's: code prefixes removed, lines joined with "\\n".
    """
    lines = [line for line in raw.replace("\r\n", "\n").split("\n") if line]
    code = int(lines[0][:3])
    return code, "\n".join(line[4:].strip() for line in lines)


def is_rate_limit(code: int, enhanced: str | None, text: str) -> bool:
    """True when a reply says we are sending too fast or over a quota, so retry later.

    A full mailbox (x.2.2) is the recipient's quota, never ours.
    """
    if enhanced is not None and enhanced[1:] == ".2.2":
        return False
    if 400 <= code < 500:
        if code not in _RATE_LIMIT_4XX_CODES:
            return False
        if enhanced is not None and (
            enhanced.startswith("4.7.") or enhanced in _RATE_LIMIT_4XX_ENHANCED
        ):
            return True
        return _RATE_TEXT.search(text) is not None
    if 500 <= code < 600:
        if enhanced in _RATE_LIMIT_5XX_ENHANCED:
            return True
        if enhanced is not None and enhanced.startswith("5.2."):
            return False  # mailbox status: the recipient's problem
        return _QUOTA_5XX_TEXT.search(text) is not None
    return False


def describe(stage: str, server: str, code: int | None, text: str) -> str:
    """The user-facing message: which stage failed at which server, and what it said."""
    label = STAGE_LABELS.get(stage, stage)
    where = f" ({server})" if server else ""
    if code is None:
        return f"SMTP {label} failed{where}: {text}" if text else f"SMTP {label} failed{where}"
    reply = " ".join(text.split("\n"))
    return f"SMTP {label} failed{where}: server replied {code} {reply}".rstrip()


def classify(
    stage: Stage,
    *,
    failure: Failure = Failure.REPLY,
    code: int | None = None,
    text: str = "",
    server: str = "",
    note: str = "",
) -> SmtpError:
    """Turn one SMTP outcome into the error to raise; every raise in mailsage_gql.smtp comes here.

    `text` is the server's reply text (for REPLY) or a short description of what happened;
    `note` is appended to the message only (e.g. the recipient), never used for classification.
    Security: callers must never put a password in `text`; it ends up in messages shown to users.
    """
    enhanced = enhanced_code(code, text) if code is not None else None
    message = describe(stage, server, code, text) + note
    kind = _kind(stage, failure, code, enhanced, text)
    if kind is SmtpUncertainError:
        message += "; the message may have been delivered and will not be resent"
    return kind(message, stage=stage, smtp_code=code, enhanced_code=enhanced)


def _kind(
    stage: Stage, failure: Failure, code: int | None, enhanced: str | None, text: str
) -> type[SmtpError]:
    if failure is not Failure.REPLY or code is None:
        if stage == "after_data" and failure in _UNCERTAIN_FAILURES:
            return SmtpUncertainError
        if failure is Failure.TIMEOUT:
            return SmtpTimeoutError
        if failure is Failure.NOT_OFFERED:
            if stage == "auth":
                return SmtpAuthError
            if stage in ("mail", "rcpt", "data"):
                return SmtpMessageRejectedError
        return SmtpConnectionError

    if not 400 <= code < 600:
        # A reply we did not expect (or could not parse): the session cannot be trusted.
        return SmtpUncertainError if stage == "after_data" else SmtpConnectionError
    if code in _AUTH_CODES:
        return SmtpAuthError
    if is_rate_limit(code, enhanced, text):
        return SmtpRateLimitError
    if stage in ("connect", "tls"):
        return SmtpConnectionError
    if code < 500:
        return SmtpTemporaryError
    if stage == "auth":
        return SmtpAuthError
    if stage == "rcpt":
        return SmtpRecipientRejectedError
    # 5xx on MAIL (sender refused), DATA or the final reply: this message is not accepted.
    return SmtpMessageRejectedError


def classify_refused(refused: Mapping[str, tuple[int, str]], *, server: str = "") -> SmtpError:
    """The error when every recipient was refused: the most retryable outcome wins.

    Rate limit, then temporary, then permanent rejection: retrying later can still deliver
    to the temporarily refused recipients.
    """
    errors = [
        classify("rcpt", code=code, text=text, server=server, note=f" (recipient {address})")
        for address, (code, text) in refused.items()
    ]
    for kind in (SmtpRateLimitError, SmtpAuthError, SmtpTemporaryError):
        for error in errors:
            if type(error) is kind:
                return error
    return errors[0]
