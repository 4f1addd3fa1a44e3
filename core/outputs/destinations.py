"""RTMP destinations: ``rtmp(s)://host[:port]/app/key`` URLs on the tenant's allow-list, never internal.

A tenant lists the hosts it streams to (``a.rtmp.youtube.com``, ``*.contribute.live-video.net``);
a destination must be on that list, and its host must resolve to public addresses only, so
nobody can make the media node push to something inside the network (SSRF). Operators
may allow private addresses for development (``PODIUM_STREAMING_PRIVATE_ADDRESSES``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from podium.core.errors import PodiumError
from podium.core.network import is_public, resolve, split_target

__all__ = ["check_destination", "check_host_pattern", "host_allowed", "redact"]

_HOST_RE = re.compile(
    r"^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _invalid(message: str) -> PodiumError:
    return PodiumError("invalid_rtmp_url", message, status=422)


def check_host_pattern(pattern: str) -> str:
    """A lower-cased host name, or ``*.`` and a domain; ``invalid_streaming_host`` otherwise."""
    value = pattern.strip().lower().rstrip(".")
    if len(value) > 253 or not _HOST_RE.match(value):
        raise PodiumError(
            "invalid_streaming_host", f"{pattern!r} is not a host name or *.domain pattern", status=422
        )
    return value


def host_allowed(host: str, patterns: list[str]) -> bool:
    """Whether ``host`` is one of ``patterns`` or under one of its ``*.`` domains."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def _shape(url: str) -> tuple[str, int]:
    if len(url) > 2048:
        raise _invalid("an RTMP URL is at most 2048 characters")
    try:
        parts, host, port = split_target(url.strip(), {"rtmp": 1935, "rtmps": 443})
    except ValueError as exc:
        raise _invalid(f"not an RTMP destination: {exc}") from exc
    path = parts.path.strip("/")
    if "/" not in path or any(ch in url for ch in " \n\r\t"):
        raise _invalid("an RTMP URL names an application and a stream key: rtmp://host/app/key")
    return host, port


async def check_destination(url: str, allowed_hosts: list[str], allow_private: bool) -> None:
    """Raise ``PodiumError`` unless ``url`` is a well-formed RTMP URL to an allowed, public host."""
    host, port = _shape(url)
    if not host_allowed(host, allowed_hosts):
        raise PodiumError(
            "rtmp_host_not_allowed",
            f"{host!r} is not on this tenant's streaming allow-list (PUT /api/v1/streaming/hosts)",
            status=422,
        )
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise PodiumError("rtmp_host_unresolvable", f"cannot resolve {host!r}", status=422) from exc
    if allow_private:
        return
    for address in addresses:
        if not is_public(address):
            raise PodiumError(
                "rtmp_host_private",
                f"{host!r} resolves to {address}, which is not a public address",
                status=422,
            )


def redact(url: str) -> str:
    """The URL with its stream key hidden: ``rtmp://host/app/••••``."""
    parts = urlsplit(url)
    app = parts.path.strip("/").split("/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}/{app}/••••"
