"""Host policy: which SMTP hosts we may connect to, resolved once (SSRF and rebinding guard)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from mailsage_gql.errors import ValidationError
from mailsage_gql.smtp.replies import Failure, classify

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_MAX_HOST_LENGTH = 253


def is_forbidden_address(ip: str | IPAddress) -> bool:
    """True when `ip` is not a public unicast address: loopback, private, link-local, CGNAT,
    multicast, unspecified, reserved, documentation, cloud metadata.

    IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the
    embedded address too. Anything that does not parse as an address is forbidden.
    """
    if isinstance(ip, str):
        try:
            address: IPAddress = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return True
    else:
        address = ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_forbidden_address(address.ipv4_mapped)
        if address in _NAT64:
            return is_forbidden_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and is_forbidden_address(address.sixtofour):
            return True
    return (
        address in _METADATA
        or not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address in _CGNAT
    )


def _check_syntax(host: str) -> str:
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]  # an IPv6 literal written as in a URL
    if not name or len(name) > _MAX_HOST_LENGTH:
        raise ValidationError("SMTP host must be 1 to 253 characters", field="host")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch in "/@" for ch in name):
        raise ValidationError(
            "SMTP host contains characters not allowed in a host name", field="host"
        )
    return name


async def check_host(host: str, port: int, *, allow_private: bool) -> str:
    """Validate `host`, resolve it once and return the IP address to connect to.

    Security: this is the SSRF guard. Every address the name resolves to is checked (so
    decimal, octal and hex IPv4 spellings and names pointing at internal addresses are
    caught after resolution), and the caller must connect to the returned address rather
    than resolving the name again, or a DNS rebinding answer could slip past the check.
    `allow_private` turns the guard off (embedded development, tests).

    :raises ValidationError: (field="host") the host is malformed or resolves to a
        forbidden address.
    :raises SmtpConnectionError: (stage="connect") the name does not resolve.
    """
    name = _check_syntax(host)
    if not 0 < port < 65536:
        raise ValidationError("SMTP port must be between 1 and 65535", field="port")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise classify(
            "connect",
            failure=Failure.UNREACHABLE,
            text=f"cannot resolve host name: {exc}",
            server=name,
        ) from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise classify(
            "connect", failure=Failure.UNREACHABLE, text="host name has no address", server=name
        )
    if not allow_private:
        for address in addresses:
            if is_forbidden_address(address):
                raise ValidationError(
                    f"SMTP host {name} resolves to {address}, a private or reserved address;"
                    " only public mail servers are allowed",
                    field="host",
                )
    return addresses[0]
