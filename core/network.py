"""Outbound connections Podium makes for tenants (webhooks, RTMP): public addresses only (SSRF)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

__all__ = ["is_public", "resolve", "split_target"]

# IPv6 ranges that carry an IPv4 address in their last 32 bits and reach it through a translator
# or tunnel: judged by that IPv4 address, so 64:ff9b::7f00:1 is as private as 127.0.0.1.
_EMBEDDING_IPV4 = [
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, well-known prefix (RFC 6052)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT, RFC 2765)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated, RFC 4291)
]
# Local-use NAT64 (RFC 8215): the IPv4 address may sit anywhere after the prefix; never public.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002::/16, 6to4
        return ip.sixtofour
    if any(ip in net for net in _EMBEDDING_IPV4):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast IP (IPv6 that embeds IPv4 judged as IPv4)."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        ip = _embedded_ipv4(ip) or ip
    return ip.is_global and not ip.is_multicast


def split_target(url: str, default_ports: dict[str, int]) -> tuple[SplitResult, str, int]:
    """The parts, host and port of a URL whose scheme is a key of ``default_ports`` (its default
    port the value), with no credentials and a host a resolver accepts; ``ValueError`` saying why
    otherwise."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # both raise on a bad [IPv6] or port
    except ValueError as exc:
        raise ValueError(f"the URL is malformed ({exc})") from exc
    if parts.scheme not in default_ports:
        raise ValueError("the URL's scheme must be " + " or ".join(f"{s}://" for s in default_ports))
    if not host:
        raise ValueError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL cannot carry a user name or password")
    try:
        # What getaddrinfo does to a name; a label over 63 characters or an empty one fails here.
        host.encode("idna")
    except UnicodeError as exc:
        raise ValueError(f"{host!r} is not a valid host name") from exc
    if port == 0:
        raise ValueError("the URL's port is not valid")
    return parts, host, default_ports[parts.scheme] if port is None else port


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to now (``OSError`` when it does not resolve)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except ValueError as exc:  # a NUL byte, or a name the IDNA codec refuses
        raise OSError(f"{host!r} is not a host name") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
