"""Webhook URLs must reach the public internet: no loopback, private or link-local targets (SSRF)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from podium.core.errors import PodiumError

__all__ = ["check_url", "check_url_shape", "is_public"]


def is_public(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast IP (IPv4-mapped IPv6 judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url_shape(url: str) -> tuple[str, int]:
    """``(host, port)`` of an http(s) URL without credentials; ``invalid_webhook_url`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PodiumError("invalid_webhook_url", "a webhook URL is an http:// or https:// URL", status=422)
    if parts.username or parts.password:
        raise PodiumError("invalid_webhook_url", "a webhook URL cannot carry credentials", status=422)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise PodiumError("invalid_webhook_url", "the webhook URL's port is not valid", status=422) from exc
    return parts.hostname, port


async def check_url(url: str, allow_private: bool) -> None:
    """Refuse URLs whose host resolves to a non-public address, unless ``allow_private``.

    Checked when an endpoint is saved and again before every delivery (DNS may change)."""
    host, port = check_url_shape(url)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise PodiumError("webhook_url_unresolvable", f"cannot resolve {host!r}", status=422) from exc
    for info in infos:
        address = str(info[4][0])
        if not is_public(address):
            raise PodiumError(
                "webhook_url_private",
                f"{host!r} resolves to {address}, which is not a public address; turn on the tenant's "
                "webhook development flag to deliver to local receivers",
                status=422,
            )
