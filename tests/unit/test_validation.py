"""Input rules: hosts, ports, addresses, texts and control characters."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailsage_gql.errors import ValidationError
from mailsage_gql.services.validation import (
    check_email,
    check_host,
    check_int,
    check_port,
    check_text,
    reject_control_characters,
)

LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
HOSTNAMES = st.lists(LABEL, min_size=1, max_size=5).map(".".join)
CONTROL = ["\r", "\n", "\x00", "\t", "\x1b", "\x7f", "\u2028", "\u2029", "\u200b", "\ufeff"]


@pytest.mark.parametrize(
    "host",
    ["smtp.gmail.com", "localhost", "mail-1.example.co.uk", "smtp.example.com.", "bücher.example"],
)
def test_check_host_accepts_hostnames(host: str) -> None:
    assert check_host(host) == host


@pytest.mark.parametrize(
    ("host", "expected"),
    [("192.0.2.1", "192.0.2.1"), ("2001:db8::1", "2001:db8::1"), ("[2001:db8::1]", "2001:db8::1")],
)
def test_check_host_accepts_ip_literals(host: str, expected: str) -> None:
    assert check_host(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        "",
        "smtp://smtp.example.com",
        "https://smtp.example.com",
        "smtp.example.com/path",
        "smtp.example.com:587",
        "user@smtp.example.com",
        "smtp example.com",
        " smtp.example.com",
        "smtp.example.com ",
        "-smtp.example.com",
        "smtp..example.com",
        "smtp_relay.example.com",
        "a" * 64 + ".example.com",
        ".",
    ],
)
def test_check_host_refuses_anything_but_a_host(host: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_host(host)

    assert refused.value.field == "host"


@pytest.mark.parametrize("value", [None, 25, ["smtp.example.com"]])
def test_check_host_refuses_non_strings(value: object) -> None:
    with pytest.raises(ValidationError):
        check_host(value)


@given(HOSTNAMES)
def test_check_host_accepts_every_well_formed_hostname(host: str) -> None:
    assert check_host(host) == host


@given(st.ip_addresses())
def test_check_host_accepts_every_ip_address(address: ipaddress.IPv4Address) -> None:
    assert ipaddress.ip_address(check_host(str(address))) == address


@given(HOSTNAMES, st.sampled_from(["http://", "smtp://", " ", "/", ":25", "?", "#", "@"]))
def test_check_host_refuses_a_hostname_with_url_parts(host: str, part: str) -> None:
    candidates = [part + host] if part.endswith("//") or part == "@" else [host + part]

    for candidate in candidates:
        with pytest.raises(ValidationError):
            check_host(candidate)


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
