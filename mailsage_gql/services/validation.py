"""Input rules shared by every face: hosts, ports, addresses, names and control characters."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email

from mailsage_gql.errors import ValidationError

# A hostname label: letters, digits, hyphens inside; 1-63 chars. IDNA names arrive as Unicode
# and are checked after encoding.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def reject_control_characters(value: str, *, field: str) -> str:
    """Refuse CR, LF, NUL and every other control or format character (never strip silently).

    Security: CR/LF in anything that reaches an SMTP command or a header is an injection.
    """
    for ch in value:
        if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"}:
            raise ValidationError(
                f"{field} must not contain control characters (found U+{ord(ch):04X})",
                field=field,
            )
    return value


def check_text(
    value: Any, *, field: str, min_length: int = 0, max_length: int, multiline: bool = False
) -> str:
    """A string of bounded length; control characters refused unless `multiline` (bodies)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", field=field)
    if multiline:
        if "\x00" in value:
            raise ValidationError(f"{field} must not contain NUL characters", field=field)
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                # A lone surrogate (a JSON "\ud800" escape) cannot be stored or sent.
                raise ValidationError(
                    f"{field} must be valid Unicode (found a lone surrogate)", field=field
                ) from None
    else:
        reject_control_characters(value, field=field)
    if len(value) < min_length:
        raise ValidationError(
            f"{field} must not be empty"
            if min_length == 1
            else f"{field} must be at least {min_length} characters",
            field=field,
        )
    if len(value) > max_length:
        raise ValidationError(f"{field} must be at most {max_length} characters", field=field)
    return value


def check_int(value: Any, *, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer", field=field)
    if not minimum <= value <= maximum:
        raise ValidationError(f"{field} must be between {minimum} and {maximum}", field=field)
    return value


def check_bool(value: Any, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false", field=field)
    return value


def check_host(value: Any, *, field: str = "host") -> str:
    """A hostname or an IP literal: no scheme, port, path, spaces or user info."""
    host = check_text(value, field=field, min_length=1, max_length=253).strip()
    if host != value:
        raise ValidationError(f"{field} must not have leading or trailing spaces", field=field)
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(literal)
        return literal
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    labels = ascii_host.rstrip(".").split(".")
    if not ascii_host or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(
            f"{field} must be a hostname or IP address, like smtp.example.com "
            "(no scheme, port, path or spaces)",
            field=field,
        )
    return host


def check_port(value: Any, *, field: str = "port") -> int:
    return check_int(value, field=field, minimum=1, maximum=65535)


def check_email(value: Any, *, field: str) -> str:
    """A deliverable-looking address (RFC 5321/6531 syntax), normalised; no DNS lookup."""
    address = check_text(value, field=field, min_length=1, max_length=320)
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(f"{field} is not a valid email address: {exc}", field=field) from None


def check_email_list(value: Any, *, field: str, minimum: int, maximum: int) -> list[str]:
    if not isinstance(value, list):
        raise ValidationError(f"{field} must be a list of email addresses", field=field)
    if not minimum <= len(value) <= maximum:
        raise ValidationError(
            f"{field} must have between {minimum} and {maximum} addresses", field=field
        )
    return [check_email(item, field=field) for item in value]
