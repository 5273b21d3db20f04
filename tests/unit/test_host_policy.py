"""Host policy: address classes in every spelling, host syntax, URLs, resolution once."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailsage_gql import host_policy
from mailsage_gql.errors import UnresolvableHostError, ValidationError
from mailsage_gql.host_policy import (
    SMTP_HOST,
    WEBHOOK_URL,
    AddressClass,
    Target,
    check_host,
    check_literal,
    check_url,
    classify_address,
    literal_address,
    resolve,
)

NEVER, PRIVATE, PUBLIC = AddressClass.NEVER, AddressClass.PRIVATE, AddressClass.PUBLIC
METADATA = [
    "169.254.169.254",
    "fd00:ec2::254",
    "100.100.100.200",
    "169.254.170.2",
    "192.0.0.192",
    "168.63.129.16",
]
PRIVATE_V4_NETS = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "100.64.0.0/10",
    "0.0.0.0/8",
]
OAUTH_TOKEN_URL = Target("OAuth token URL host", field="tokenUrl")


def addresses_in(net: str) -> st.SearchStrategy[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    network = ipaddress.ip_network(net)
    return st.integers(
        min_value=int(network.network_address), max_value=int(network.broadcast_address)
    ).map(ipaddress.ip_address)


def ipv6_forms(v4: ipaddress.IPv4Address) -> list[str]:
    """The IPv6 spellings that carry `v4`: mapped, compatible, NAT64 (both), 6to4, Teredo."""
    value = int(v4)
    return [
        f"::ffff:{v4}",
        str(ipaddress.IPv6Address(value)),  # IPv4-compatible, ::a.b.c.d
        str(ipaddress.IPv6Address((0x0064FF9B << 96) | value)),
        str(ipaddress.IPv6Address((0x0064FF9B0001 << 80) | value)),
        str(ipaddress.IPv6Address((0x2002 << 112) | (value << 80) | 1)),
        str(ipaddress.IPv6Address((0x20010000 << 96) | (int(v4) << 64) | 1)),  # Teredo server
    ]


def ipv4_spellings(v4: ipaddress.IPv4Address) -> list[str]:
    """Spellings the system resolver reads as `v4`: decimal, hex, octal, dotted hex."""
    value = int(v4)
    return [
        str(value),
        hex(value),
        ".".join(f"0{int(o):o}" for o in str(v4).split(".")),
        ".".join(hex(int(o)) for o in str(v4).split(".")),
    ]


# -- classification (pure) ---------------------------------------------------------------


@pytest.mark.parametrize("ip", METADATA)
def test_metadata_addresses_are_never_allowed(ip: str) -> None:
    assert classify_address(ip) is NEVER
    assert not NEVER.allowed(allow_private=True)


@given(st.sampled_from(METADATA).map(ipaddress.ip_address))
def test_a_metadata_address_is_never_allowed_in_any_ipv6_or_ipv4_spelling(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    if isinstance(address, ipaddress.IPv4Address):
        forms = [*ipv6_forms(address), *ipv4_spellings(address)]
    else:
        forms = [str(address), f"[{address}]", f"{address}%eth0"]
    for form in forms:
        literal = literal_address(form)
        assert literal is not None, form
        assert classify_address(literal) is NEVER, form


@given(addresses_in("169.254.0.0/16"))
def test_ipv4_link_local_is_never_allowed_in_any_spelling(v4: ipaddress.IPv4Address) -> None:
    assert classify_address(v4) is NEVER
    for form in ipv6_forms(v4):
        assert classify_address(form) is NEVER, form
    for form in ipv4_spellings(v4):
        assert literal_address(form) == v4, form


@given(addresses_in("fe80::/10"), st.sampled_from(["", "%eth0", "%1"]))
def test_ipv6_link_local_is_never_allowed(v6: ipaddress.IPv6Address, zone: str) -> None:
    assert classify_address(f"{v6}{zone}") is NEVER


@given(st.sampled_from(PRIVATE_V4_NETS).flatmap(addresses_in))
def test_private_ipv4_is_private_in_every_spelling(v4: ipaddress.IPv4Address) -> None:
    expected = NEVER if str(v4) in METADATA else PRIVATE
    assert classify_address(v4) is expected
    for form in ipv6_forms(v4):
        assert classify_address(form) is expected, form
    for form in ipv4_spellings(v4):
        assert literal_address(form) == v4, form


@given(st.ip_addresses(v=4))
def test_every_ipv6_form_of_an_ipv4_address_is_at_least_as_strict(
    v4: ipaddress.IPv4Address,
) -> None:
    order = [PUBLIC, PRIVATE, NEVER]
    for form in ipv6_forms(v4):
        assert order.index(classify_address(form)) >= order.index(classify_address(v4)), form


@given(st.ip_addresses())
def test_only_public_addresses_are_allowed_without_the_switch(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    kind = classify_address(address)

    assert kind.allowed(allow_private=False) == (kind is PUBLIC)
    assert kind.allowed(allow_private=True) == (kind is not NEVER)
    if kind is PUBLIC:
        assert address.is_global and not address.is_loopback and not address.is_link_local


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "fc00::1",
        "fec0::1",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",
        "::",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
    ],
)
def test_internal_and_reserved_addresses_are_private(ip: str) -> None:
    assert classify_address(ip) is PRIVATE


@pytest.mark.parametrize(
    "ip", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_public_addresses_are_public(ip: str) -> None:
    assert classify_address(ip) is PUBLIC


def test_what_is_not_an_address_is_never_allowed() -> None:
    assert classify_address("not an address") is NEVER


# -- host syntax ---------------------------------------------------------------------------

LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
HOSTNAMES = st.lists(LABEL, min_size=1, max_size=5).map(".".join)


@pytest.mark.parametrize(
    "host",
    ["smtp.gmail.com", "localhost", "mail-1.example.co.uk", "smtp.example.com.", "bücher.example"],
)
def test_check_host_accepts_hostnames(host: str) -> None:
    assert check_host(host, target=SMTP_HOST) == host


@pytest.mark.parametrize(
    ("host", "expected"),
    [("192.0.2.1", "192.0.2.1"), ("2001:db8::1", "2001:db8::1"), ("[2001:db8::1]", "2001:db8::1")],
)
def test_check_host_accepts_ip_literals(host: str, expected: str) -> None:
    assert check_host(host, target=SMTP_HOST) == expected


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
        "a" * 254,
        "mail\r\n.example.com",
        ".",
    ],
)
def test_check_host_refuses_anything_but_a_host(host: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_host(host, target=SMTP_HOST)

    assert refused.value.field == "host"
    assert refused.value.message.startswith("SMTP host ")


@pytest.mark.parametrize("value", [None, 25, ["smtp.example.com"]])
def test_check_host_refuses_non_strings(value: object) -> None:
    with pytest.raises(ValidationError):
        check_host(value, target=SMTP_HOST)


@given(HOSTNAMES)
def test_check_host_accepts_every_well_formed_hostname(host: str) -> None:
    assert check_host(host, target=SMTP_HOST) == host


@given(st.ip_addresses())
def test_check_host_accepts_every_ip_address(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert ipaddress.ip_address(check_host(str(address), target=SMTP_HOST)) == address


@given(HOSTNAMES, st.sampled_from(["http://", "smtp://", " ", "/", ":25", "?", "#", "@"]))
def test_check_host_refuses_a_hostname_with_url_parts(host: str, part: str) -> None:
    candidate = part + host if part.endswith("//") or part == "@" else host + part

    with pytest.raises(ValidationError):
        check_host(candidate, target=SMTP_HOST)


# -- literal check (validation time, no lookup) ------------------------------------------


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "2852039166",
        "0xa9.0xfe.0xa9.0xfe",
        "::ffff:169.254.169.254",
        "fe80::1",
        "100.100.100.200",
        "metadata.google.internal",
        "METADATA.GOOGLE.INTERNAL.",
    ],
)
def test_check_literal_refuses_metadata_whatever_the_switch(host: str, allow_private: bool) -> None:
    with pytest.raises(ValidationError, match="never allowed") as refused:
        check_literal(host, target=SMTP_HOST, allow_private=allow_private)

    assert refused.value.field == "host"
    assert refused.value.message.startswith(f"SMTP host {host} ")


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "10.1.2.3", "localhost", "a.localhost"]
)
def test_check_literal_allows_private_hosts_only_with_the_switch(host: str) -> None:
    assert check_literal(host, target=SMTP_HOST, allow_private=True) == host
    with pytest.raises(ValidationError, match="private or reserved"):
        check_literal(host, target=SMTP_HOST, allow_private=False)


def test_check_literal_leaves_names_to_resolution() -> None:
    assert check_literal("smtp.example.com", target=SMTP_HOST, allow_private=False)


# -- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_metadata_url_is_refused_naming_the_webhook_host_and_not_the_query(
    allow_private: bool,
) -> None:
    url = "http://169.254.169.254/latest/meta-data?token=tok_VERY_SECRET"

    with pytest.raises(ValidationError) as refused:
        check_url(url, target=WEBHOOK_URL, allow_private=allow_private)

    assert refused.value.field == "url"
    assert refused.value.message.startswith("webhook URL host 169.254.169.254 is a cloud")
    assert "VERY_SECRET" not in refused.value.message
    assert "meta-data" not in refused.value.message


def test_credentials_in_a_url_are_refused_and_not_echoed() -> None:
    with pytest.raises(ValidationError) as refused:
        check_url("https://user:pw_SECRET@example.com/", target=WEBHOOK_URL, allow_private=True)

    assert "pw_SECRET" not in refused.value.message


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "not a url", "http:///nohost", "http://example.com:0/"]
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_url(url, target=WEBHOOK_URL, allow_private=True)

    assert refused.value.field == "url"


def test_a_target_may_require_https_and_names_itself() -> None:
    with pytest.raises(ValidationError, match="https://"):
        check_url(
            "http://auth.example.com/token",
            target=OAUTH_TOKEN_URL,
            allow_private=False,
            schemes=("https",),
        )
    with pytest.raises(ValidationError, match=r"^OAuth token URL host 10\.0\.0\.1 ") as refused:
        check_url(
            "https://10.0.0.1/token",
            target=OAUTH_TOKEN_URL,
            allow_private=False,
            schemes=("https",),
        )
    assert refused.value.field == "tokenUrl"
    assert check_url("https://auth.example.com/t", target=OAUTH_TOKEN_URL, allow_private=False)


# -- resolution (connect time) ------------------------------------------------------------


def answering(*addresses: str) -> host_policy.Resolver:
    """A resolver giving `addresses` for any name (no DNS server is reachable here)."""

    async def resolver(name: str, port: int) -> Sequence[str]:
        return addresses

    return resolver


async def failing(name: str, port: int) -> Sequence[str]:
    raise OSError(-2, "Name or service not known")


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("address", [*METADATA, "169.254.1.1", "fe80::1%eth0", "::ffff:a9fe:a9fe"])
async def test_a_name_resolving_to_a_metadata_address_is_refused_whatever_the_switch(
    address: str, allow_private: bool
) -> None:
    with pytest.raises(ValidationError) as refused:
        await resolve(
            "mx.example.test",
            25,
            target=SMTP_HOST,
            allow_private=allow_private,
            resolver=answering(address),
        )

    assert refused.value.field == "host"
    assert refused.value.message == (
        f"SMTP host mx.example.test resolves to {address}, a cloud metadata or link-local"
        " address, which is never allowed"
    )


async def test_a_name_with_any_internal_address_is_refused() -> None:
    # given a name resolving to a public and an internal address (a rebinding favourite)
    resolver = answering("8.8.8.8", "10.1.2.3")

    # when it is checked, then it is refused, naming the webhook URL host
    with pytest.raises(ValidationError, match=r"^webhook URL host hook\.example\.test .*10\.1\."):
        await resolve(
            "hook.example.test", 443, target=WEBHOOK_URL, allow_private=False, resolver=resolver
        )


async def test_a_name_resolving_to_loopback_is_allowed_with_the_switch() -> None:
    address = await resolve(
        "mx.example.test",
        25,
        target=SMTP_HOST,
        allow_private=True,
        resolver=answering("127.0.0.1", "::1"),
    )

    assert address == "127.0.0.1"


async def test_a_metadata_name_is_refused_before_any_lookup() -> None:
    with pytest.raises(ValidationError, match="never allowed"):
        await resolve(
            "metadata.google.internal", 80, target=WEBHOOK_URL, allow_private=True, resolver=failing
        )


async def test_a_name_that_does_not_resolve_is_an_unresolvable_host() -> None:
    with pytest.raises(UnresolvableHostError) as caught:
        await resolve(
            "nowhere.example.test", 25, target=SMTP_HOST, allow_private=True, resolver=failing
        )

    assert isinstance(caught.value, OSError)
    assert caught.value.host == "nowhere.example.test"
    assert caught.value.message.startswith("SMTP host nowhere.example.test does not resolve")


async def test_a_name_without_addresses_is_an_unresolvable_host() -> None:
    with pytest.raises(UnresolvableHostError, match="has no address"):
        await resolve(
            "a.example.test", 25, target=SMTP_HOST, allow_private=True, resolver=answering()
        )


@pytest.mark.parametrize(
    "host", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "localhost", "[::1]"]
)
async def test_the_system_resolver_reads_loopback_spellings_refused_without_the_switch(
    host: str,
) -> None:
    with pytest.raises(ValidationError, match="private or reserved") as caught:
        await resolve(host, 25, target=SMTP_HOST, allow_private=False)

    assert caught.value.field == "host"


@pytest.mark.parametrize("host", ["2852039166", "0xa9fea9fe", "169.254.43518", "::ffff:a9fe:a9fe"])
async def test_the_system_resolver_reads_metadata_spellings_refused_with_the_switch(
    host: str,
) -> None:
    with pytest.raises(ValidationError, match=r"169\.254\.169\.254, a cloud metadata"):
        await resolve(host, 25, target=SMTP_HOST, allow_private=True)


async def test_a_private_host_resolves_once_when_allowed() -> None:
    assert await resolve("2130706433", 25, target=SMTP_HOST, allow_private=True) == "127.0.0.1"


async def test_a_public_literal_resolves_to_itself() -> None:
    assert await resolve("8.8.8.8", 25, target=SMTP_HOST, allow_private=False) == "8.8.8.8"


@pytest.mark.parametrize(
    "host", ["", " ", "mail example.com", "mail\r\n.example.com", "user@mx", "a" * 254]
)
async def test_a_malformed_host_is_refused_before_any_lookup(host: str) -> None:
    with pytest.raises(ValidationError) as caught:
        await resolve(host, 25, target=SMTP_HOST, allow_private=True, resolver=failing)

    assert caught.value.field == "host"


@pytest.mark.parametrize("port", [0, 65536, -1])
async def test_a_port_out_of_range_is_refused(port: int) -> None:
    with pytest.raises(ValidationError) as caught:
        await resolve("127.0.0.1", port, target=SMTP_HOST, allow_private=True)

    assert caught.value.field == "port"
