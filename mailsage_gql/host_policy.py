"""Which hosts we may connect to (SMTP servers, webhook receivers, token URLs): the SSRF guard."""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mailsage_gql.errors import UnresolvableHostError, ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Resolves (name, port) to the addresses to connect to; raises OSError when it cannot.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


@dataclass(frozen=True)
class Target:
    """What a host is for: `label` names it in every refusal, `field` is the input it came in."""

    label: str
    field: str


SMTP_HOST = Target("SMTP host", field="host")
WEBHOOK_URL = Target("webhook URL host", field="url")


class AddressClass(enum.Enum):
    """Where an address leads, as far as the policy cares.

    PUBLIC: a public unicast address, always allowed.
    PRIVATE: loopback, private ranges, CGNAT, unique-local, multicast, unspecified, reserved,
        documentation: allowed only where private hosts are (embedded development, tests).
    NEVER: cloud metadata services and link-local addresses: refused whatever the settings.
    """

    PUBLIC = "public"
    PRIVATE = "private"
    NEVER = "never"

    def allowed(self, *, allow_private: bool) -> bool:
        return self is AddressClass.PUBLIC or (self is AddressClass.PRIVATE and allow_private)


#: Cloud instance metadata and platform services, reachable from inside a VM: AWS (IPv4 and
#: IPv6), GCP, Azure, DigitalOcean (169.254.169.254), AWS ECS task metadata, Alibaba Cloud,
#: Oracle Cloud, Azure's wire server.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.170.2",
        "100.100.100.200",
        "192.0.0.192",
        "168.63.129.16",
    )
)
_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
#: Well-known names of metadata services, refused before any lookup (resolution is still
#: checked before every connection).
_METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
#: IPv6 prefixes whose last 32 bits are an IPv4 address a gateway forwards to (NAT64): the
#: well-known one is that IPv4 address, the local-use one is also private itself.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_MAX_HOST_LENGTH = 253
# A hostname label: letters, digits, hyphens inside; 1-63 chars. IDNA names arrive as Unicode
# and are checked after encoding.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")

_REASON = {
    AddressClass.PRIVATE: "a private or reserved address; only public addresses are allowed",
    AddressClass.NEVER: "a cloud metadata or link-local address, which is never allowed",
}


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: compatible, local-use NAT64, 6to4, Teredo."""
    found: list[ipaddress.IPv4Address] = []
    value = int(address)
    if value >> 32 == 0 or address in _NAT64_LOCAL:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _classify_one(address: IPAddress) -> AddressClass:
    if address in _METADATA or any(address in net for net in _LINK_LOCAL):
        return AddressClass.NEVER
    if (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address in _CGNAT
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    ):
        return AddressClass.PRIVATE
    return AddressClass.PUBLIC


def classify_address(ip: str | IPAddress) -> AddressClass:
    """The class of `ip`. An IPv4-mapped or NAT64 address is judged as the IPv4 address it
    stands for (::ffff:169.254.169.254 is NEVER); other IPv6 addresses carrying an IPv4 one
    (compatible, 6to4, Teredo) by both, the stricter wins. What is not an address is NEVER.

    Pure: no I/O.
    """
    if isinstance(ip, str):
        try:
            address: IPAddress = ipaddress.ip_address(ip)
        except ValueError:
            return AddressClass.NEVER
    else:
        address = ip
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # without a %zone
        if address.ipv4_mapped is not None:
            return _classify_one(address.ipv4_mapped)
        if address in _NAT64:
            return _classify_one(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        classes = [_classify_one(address), *map(_classify_one, _embedded_ipv4(address))]
        for strictest in (AddressClass.NEVER, AddressClass.PRIVATE):
            if strictest in classes:
                return strictest
        return AddressClass.PUBLIC
    return _classify_one(address)


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, if it spells one: IPv4 in any form the resolver accepts
    (dotted, decimal, octal, hex, short), IPv6 with or without brackets or a %zone."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _name_class(host: str) -> AddressClass | None:
    """The class a name has before any lookup: localhost is PRIVATE, metadata names NEVER."""
    name = host.rstrip(".").lower()
    if name in _METADATA_NAMES:
        return AddressClass.NEVER
    if name == "localhost" or name.endswith(".localhost"):
        return AddressClass.PRIVATE
    return None


def check_host(value: Any, *, target: Target) -> str:
    """A hostname or an IP literal (brackets removed): no scheme, port, path, spaces, user
    info or control characters. Syntax only; see `check_literal` and `resolve`.

    :raises ValidationError: (field=target.field).
    """
    field = target.field
    if not isinstance(value, str):
        raise ValidationError(f"{target.label} must be a string", field=field)
    if not value or len(value) > _MAX_HOST_LENGTH:
        raise ValidationError(f"{target.label} must be 1 to 253 characters", field=field)
    if not value.isprintable():
        raise ValidationError(f"{target.label} must not contain control characters", field=field)
    if value.strip() != value:
        raise ValidationError(
            f"{target.label} must not have leading or trailing spaces", field=field
        )
    literal = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(literal)
        return literal
    except ValueError:
        pass
    try:
        ascii_host = value.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    labels = ascii_host.rstrip(".").split(".")
    if not ascii_host or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(
            f"{target.label} must be a hostname or IP address, like mail.example.com "
            "(no scheme, port, path or spaces)",
            field=field,
        )
    return value


def check_literal(host: str, *, target: Target, allow_private: bool) -> str:
    """Refuse, without any lookup, a host that spells a refused address (any IPv4 spelling,
    IPv4 inside IPv6) or names localhost or a metadata service; returns `host`.

    Security: an early refusal at validation only; names are resolved and checked again
    before every connection (`resolve`), which is the guard.

    :raises ValidationError: (field=target.field).
    """
    address = literal_address(host)
    kind = classify_address(address) if address is not None else _name_class(host)
    if kind is not None and not kind.allowed(allow_private=allow_private):
        raise ValidationError(f"{target.label} {host} is {_REASON[kind]}", field=target.field)
    return host


def check_url(
    url: str,
    *,
    target: Target,
    allow_private: bool,
    schemes: Sequence[str] = ("http", "https"),
) -> str:
    """A URL of one of `schemes` with a host, without credentials, whose host passes
    `check_literal`; returns it unchanged. Its length is the caller's rule.

    Security: messages name the URL's host only, never the URL (its path or query may carry
    a token) nor its credentials.

    :raises ValidationError: (field=target.field).
    """
    field = target.field
    if not url.isprintable():
        # urlsplit drops tabs and newlines: the host it saw would not be the URL's.
        raise ValidationError(f"{field} must not contain control characters", field=field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(f"{field} is not a valid URL", field=field) from None
    if parts.scheme not in schemes or not parts.hostname:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ValidationError(f"{field} must be an {wanted} URL with a host", field=field)
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"{field} must not contain credentials", field=field)
    if port == 0:
        raise ValidationError(f"{field} has an invalid port", field=field)
    check_literal(parts.hostname, target=target, allow_private=allow_private)
    return url


async def system_resolver(name: str, port: int) -> list[str]:
    """The operating system's resolver (getaddrinfo), stream sockets only."""
    infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _resolvable(host: str, target: Target) -> str:
    """What may be handed to a resolver at all: a bounded name without spaces, controls,
    slashes or @ (IPv6 literals lose their brackets)."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not name or len(name) > _MAX_HOST_LENGTH:
        raise ValidationError(f"{target.label} must be 1 to 253 characters", field=target.field)
    if any(ch.isspace() or not ch.isprintable() or ch in "/@" for ch in name):
        raise ValidationError(
            f"{target.label} contains characters not allowed in a host name", field=target.field
        )
    return name


async def resolve(
    host: str,
    port: int,
    *,
    target: Target,
    allow_private: bool,
    resolver: Resolver = system_resolver,
) -> str:
    """Resolve `host` once, check every address it resolves to, and return the one to
    connect to.

    Security: this is the SSRF guard. Every address is checked (so any IPv4 spelling and
    names pointing at internal addresses are caught after resolution), metadata and
    link-local addresses whatever `allow_private` says, and the caller must connect to the
    returned address rather than resolve the name again, or a DNS rebinding answer could
    slip past the check.

    :raises ValidationError: (field=target.field, or "port") the host is malformed, or
        resolves to a refused address.
    :raises UnresolvableHostError: the name does not resolve.
    """
    name = _resolvable(host, target)
    if not 0 < port < 65536:
        raise ValidationError("port must be between 1 and 65535", field="port")
    kind = _name_class(name)
    if kind is AddressClass.NEVER:
        raise ValidationError(f"{target.label} {name} is {_REASON[kind]}", field=target.field)
    try:
        addresses = list(await resolver(name, port))
    except (OSError, UnicodeError) as exc:
        raise UnresolvableHostError(
            f"{target.label} {name} does not resolve: {exc}", host=name
        ) from None
    if not addresses:
        raise UnresolvableHostError(f"{target.label} {name} has no address", host=name)
    for address in addresses:
        kind = classify_address(address)
        if not kind.allowed(allow_private=allow_private):
            raise ValidationError(
                f"{target.label} {name} resolves to {address}, {_REASON[kind]}",
                field=target.field,
            )
    return addresses[0]
