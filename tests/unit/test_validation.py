"""Input rules: ports, addresses, texts, control characters (hosts: test_host_policy.py)."""

from __future__ import annotations

import unicodedata

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from mailsage_gql.errors import ValidationError
from mailsage_gql.services.validation import (
    check_email,
    check_int,
    check_port,
    check_text,
    plain_email,
    reject_control_characters,
)

CONTROL = ["\r", "\n", "\x00", "\t", "\x1b", "\x7f", "\u2028", "\u2029", "\u200b", "\ufeff"]


@pytest.mark.parametrize("port", [0, -1, 65536, True, "25", 25.0])
def test_check_port_refuses_out_of_range_or_non_integers(port: object) -> None:
    with pytest.raises(ValidationError):
        check_port(port)


@pytest.mark.parametrize("port", [1, 25, 465, 587, 65535])
def test_check_port_accepts_valid_ports(port: int) -> None:
    assert check_port(port) == port


@pytest.mark.parametrize(
    "address", ["noreply@example.com", "first.last+tag@sub.example.org", "ünï@exämple.com"]
)
def test_check_email_accepts_addresses(address: str) -> None:
    assert "@" in check_email(address, field="from_email")


@pytest.mark.parametrize(
    "address",
    [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@@example.com",
        "a b@example.com",
        "a@exa mple.com",
        "a@example.com\r\nBcc: x@evil.test",
    ],
)
def test_check_email_refuses_invalid_addresses(address: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_email(address, field="from_email")

    assert refused.value.field == "from_email"


@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_control_and_format_characters_are_refused(char: str) -> None:
    with pytest.raises(ValidationError, match=f"U\\+{ord(char):04X}"):
        reject_control_characters(f"a{char}b", field="name")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))))
def test_text_without_control_characters_passes_unchanged(text: str) -> None:
    assert reject_control_characters(text, field="name") == text


def test_multiline_text_allows_newlines_but_not_nul() -> None:
    assert check_text("a\r\nb", field="text", max_length=10, multiline=True) == "a\r\nb"
    with pytest.raises(ValidationError):
        check_text("a\x00b", field="text", max_length=10, multiline=True)


@pytest.mark.parametrize("value", ["a", "a" * 5])
def test_check_text_accepts_lengths_within_bounds(value: str) -> None:
    assert check_text(value, field="name", min_length=1, max_length=5) == value


@pytest.mark.parametrize("value", ["", "a" * 6])
def test_check_text_refuses_lengths_outside_bounds(value: str) -> None:
    with pytest.raises(ValidationError):
        check_text(value, field="name", min_length=1, max_length=5)


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_check_int_refuses_non_integers(value: object) -> None:
    with pytest.raises(ValidationError):
        check_int(value, field="daily_limit", minimum=1, maximum=10)


def strict_email(address: str) -> str | None:
    """What email_validator alone says: the normalized address, or None when it refuses."""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


# Addresses built to sit on the fast path's edges: local parts of every atext character and
# dots (leading, trailing, doubled), RFC 2142 mailbox names in any case, domains with
# uppercase, digits, hyphens at label ends, IDNA labels, special-use and numeric TLDs,
# one-label domains, and lengths around 64 / 254.
ATEXT = "abcXYZ019_!#$%&'*+-/=?^`{|}~."
LOCAL_PARTS = st.one_of(
    st.text(alphabet=ATEXT, min_size=0, max_size=12),
    st.sampled_from(["Postmaster", "ABUSE", "info", "www", "Sales", "a" * 64, "a" * 65]),
    st.text(alphabet=ATEXT + 'é" @<>()[]\\,;:', min_size=1, max_size=8),
)
DOMAIN_LABELS = st.one_of(
    st.from_regex(r"\A[a-zA-Z0-9-]{1,12}\Z"),
    st.sampled_from(
        [
            "xn--bcher-kva",
            "xn--",
            "xn--zz",
            "localhost",
            "test",
            "invalid",
            "onion",
            "arpa",
            "local",
            "example",
            "COM",
            "123",
            "a" * 63,
            "a" * 64,
        ]
    ),
)
DOMAINS = st.one_of(
    st.lists(DOMAIN_LABELS, min_size=1, max_size=6).map(".".join),
    st.lists(DOMAIN_LABELS, min_size=2, max_size=5).map(lambda ls: ".".join(ls) + "."),
    st.integers(min_value=180, max_value=260).map(lambda n: ("a" * 60 + ".") * (n // 61) + "com"),
    st.text(alphabet="abc.-@[]é", min_size=0, max_size=10),
)
ADDRESSES = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL_PARTS, DOMAINS)


@given(ADDRESSES)
@settings(max_examples=3000)
def test_fast_email_path_accepts_only_what_email_validator_accepts_and_normalizes_alike(
    address: str,
) -> None:
    fast = plain_email(address)

    if fast is not None:
        assert fast == strict_email(address)


@given(ADDRESSES)
@settings(max_examples=1000)
def test_check_email_gives_the_same_result_or_error_as_email_validator_alone(
    address: str,
) -> None:
    expected = strict_email(address)
    try:
        got: str | None = check_email(address, field="to")
    except ValidationError:
        got = None

    assert got == expected


@pytest.mark.parametrize(
    "address",
    ["ann@example.org", "a.b+tag@sub.example.co.uk", "x_y@EXAMPLE.ORG", "o'neil@example.com"],
)
def test_plain_addresses_take_the_fast_path(address: str) -> None:
    assert plain_email(address) is not None
    assert plain_email(address) == strict_email(address)


@given(st.text(alphabet=st.characters(blacklist_categories=())))
def test_control_characters_are_refused_exactly_when_one_of_the_refused_categories_is_present(
    text: str,
) -> None:
    refused = any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in text)
    try:
        reject_control_characters(text, field="subject")
        passed = True
    except ValidationError:
        passed = False

    assert passed is not refused
