"""Input rules shared by every face: ports, addresses, names and control characters."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from mailsage_gql.errors import ValidationError


def reject_control_characters(value: str, *, field: str) -> str:
    """Refuse CR, LF, NUL and every other control or format character (never strip silently).

    Security: CR/LF in anything that reaches an SMTP command or a header is an injection.
    """
    if value.isprintable():
        # Every refused category is one str.isprintable() calls unprintable ("Other" or
        # "Separator" but the ASCII space): the common case needs no per-character lookup.
        return value
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


def check_port(value: Any, *, field: str = "port") -> int:
    return check_int(value, field=field, minimum=1, maximum=65535)


# The common address: a dot-atom local part and a domain of ASCII letters, digits, dots and
# hyphens. Only such addresses take the fast path below; everything else goes to
# email_validator as a whole.
_PLAIN_ADDRESS = re.compile(
    r"([\w!#$%&'*+\-/=?^`{|}~]+(?:\.[\w!#$%&'*+\-/=?^`{|}~]+)*)@([a-zA-Z0-9.-]+)", re.ASCII
)
# email_validator lowercases these local parts (RFC 2142): left to it.
_CASE_INSENSITIVE_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
_EMAIL_MAX_LENGTH = 254  # RFC 3696 errata 1690, as email_validator counts it


@functools.lru_cache(maxsize=4096)
def _plain_domain(domain: str) -> tuple[str, str] | None:
    """email_validator's (normalized, ASCII) form of a domain, or None when it refuses it.

    A domain is judged on its own (validate_email_domain_name): a batch of mail to the same
    few domains validates each once.
    """
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def plain_email(address: str) -> str | None:
    """The normalized form of a plain ASCII address, exactly as email_validator gives it, or
    None for anything this fast path does not decide (the caller then asks email_validator).

    Never accepts what email_validator refuses: tests/unit/test_validation.py checks both
    against each other on generated addresses.
    """
    match = _PLAIN_ADDRESS.fullmatch(address)
    if match is None:
        return None
    local, domain = match.groups()
    if local.lower() in _CASE_INSENSITIVE_MAILBOXES:
        return None
    forms = _plain_domain(domain)
    if forms is None:
        return None
    normalized, ascii_domain = forms
    longest = max(len(domain), len(normalized.encode()), len(ascii_domain))
    if len(local) + 1 + longest > _EMAIL_MAX_LENGTH:
        return None
    return f"{local}@{normalized}"


def check_email(value: Any, *, field: str) -> str:
    """A deliverable-looking address (RFC 5321/6531 syntax), normalised; no DNS lookup."""
    address = check_text(value, field=field, min_length=1, max_length=320)
    plain = plain_email(address)
    if plain is not None:
        return plain
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
