"""Where an allowed outbound destination may actually lead.

``allowed_outbound_hosts`` is matched against the host *as written*. A rule
with an IP literal names that address explicitly. A rule with a host name
does not: the name could resolve to a loopback, private or link-local
address (DNS rebinding, a typo'd internal name), which would let a guest
reach services on the server's own network. So a host name is resolved here,
every address it resolves to must be public unless the component sets
``allow_private_networks = true``, and the connection then goes to the
checked address (pinned), so a second lookup cannot change the answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from ..errors import CapabilityError, ErrorCode

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def literal(host: str) -> Address | None:
    """The address if ``host`` is an IP literal (``[::1]`` brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_private(addr: Address) -> bool:
    """Loopback, private, link-local, unspecified, multicast or reserved: not the public internet."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not addr.is_global or addr.is_multicast


async def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for an allowed ``host``; raises CapabilityError.

    IP literals are returned as they are (the manifest named them). Names are
    resolved and refused if any address they resolve to is private (unless
    ``allow_private``)."""
    if literal(host) is not None:
        return host.strip("[]")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise CapabilityError(ErrorCode.IO, f"cannot resolve {host}: {exc.strerror or exc}") from None
    addrs = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addrs:
        raise CapabilityError(ErrorCode.IO, f"{host} has no addresses")
    if not allow_private:
        private = [a for a in addrs if is_private(a)]
        if private:
            raise CapabilityError(
                ErrorCode.DENIED, f"{host} resolves to the non-public address {private[0]}; list the address itself in "
                "allowed_outbound_hosts or set allow_private_networks = true")
    return str(addrs[0])
