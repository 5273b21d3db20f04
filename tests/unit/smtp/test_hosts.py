"""Host policy: forbidden addresses and resolution once (no real internet names resolved)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailsage_gql.errors import SmtpConnectionError, ValidationError
from mailsage_gql.smtp import check_host, is_forbidden_address


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "fe80::1",
        "fe80::1%eth0",
        "fd00:ec2::254",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",
        "::",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "not an address",
    ],
)
def test_internal_and_reserved_addresses_are_forbidden(ip: str) -> None:
    assert is_forbidden_address(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(ip: str) -> None:
    assert not is_forbidden_address(ip)


PRIVATE_V4 = st.sampled_from(
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "100.64.0.0/10",
        "169.254.0.0/16",
    ]
).flatmap(
    lambda net: st.integers(
        min_value=int(ipaddress.ip_network(net).network_address),
        max_value=int(ipaddress.ip_network(net).broadcast_address),
    )
)


@given(PRIVATE_V4)
def test_an_internal_ipv4_address_is_forbidden_in_every_spelling(value: int) -> None:
    # given an internal IPv4 address
    v4 = ipaddress.IPv4Address(value)

    # then it is forbidden as itself and as IPv4-mapped IPv6
    assert is_forbidden_address(str(v4))
    assert is_forbidden_address(f"::ffff:{v4}")


@pytest.mark.parametrize(
    "host", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "localhost", "[::1]"]
)
async def test_a_host_resolving_to_loopback_is_refused(host: str) -> None:
    # given a host that resolves (locally) to a loopback address
    # when it is checked without allow_private
    with pytest.raises(ValidationError) as caught:
        await check_host(host, 25, allow_private=False)

    # then it is refused on the host field
    assert caught.value.field == "host"


async def test_a_private_host_is_allowed_when_configured() -> None:
    assert await check_host("2130706433", 25, allow_private=True) == "127.0.0.1"


async def test_a_public_literal_resolves_to_itself() -> None:
    assert await check_host("8.8.8.8", 25, allow_private=False) == "8.8.8.8"


async def test_a_name_with_any_internal_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a name resolving to a public and an internal address (a rebinding favourite)
    async def fake_getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 25)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 25)),
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_getaddrinfo)

    # when it is checked, then it is refused
    with pytest.raises(ValidationError, match=r"10\.1\.2\.3"):
        await check_host("mail.example.test", 25, allow_private=False)


async def test_a_name_that_does_not_resolve_is_a_connect_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fake_getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_getaddrinfo)

    with pytest.raises(SmtpConnectionError) as caught:
        await check_host("nowhere.example.test", 25, allow_private=False)

    assert caught.value.stage == "connect"
    assert "nowhere.example.test" in str(caught.value)


@pytest.mark.parametrize(
    "host", ["", " ", "mail example.com", "mail\r\n.example.com", "user@mx", "a" * 254]
)
async def test_a_malformed_host_is_a_validation_error(host: str) -> None:
    with pytest.raises(ValidationError) as caught:
        await check_host(host, 25, allow_private=True)

    assert caught.value.field == "host"


@pytest.mark.parametrize("port", [0, 65536, -1])
async def test_a_port_out_of_range_is_a_validation_error(port: int) -> None:
    with pytest.raises(ValidationError) as caught:
        await check_host("127.0.0.1", port, allow_private=True)

    assert caught.value.field == "port"
