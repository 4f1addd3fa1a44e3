"""Webhook URLs must reach the public internet: no loopback, private or link-local targets (SSRF)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from podium.core.errors import PodiumError
from podium.core.network import is_public, resolve, split_target

__all__ = ["Pinned", "check_url", "check_url_shape", "is_public"]


def check_url_shape(url: str) -> tuple[str, int]:
    """``(host, port)`` of an http(s) URL without credentials; ``invalid_webhook_url`` otherwise."""
    try:
        _, host, port = split_target(url, {"http": 80, "https": 443})
    except ValueError as exc:
        raise PodiumError("invalid_webhook_url", f"not a webhook URL: {exc}", status=422) from exc
    return host, port


async def check_url(url: str, allow_private: bool) -> str | None:
    """The public address to deliver ``url`` to; ``webhook_url_private`` if any is not public.

    Checked when an endpoint is saved and again before every delivery (DNS may change); the
    delivery then connects to the address checked here, so a name that resolves to a public
    address for the check and a private one a moment later (DNS rebinding) gains nothing.
    ``None`` with ``allow_private`` (development): the URL is used as it is."""
    host, port = check_url_shape(url)
    if allow_private:
        return None
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise PodiumError("webhook_url_unresolvable", f"cannot resolve {host!r}", status=422) from exc
    for address in addresses:
        if not is_public(address):
            raise PodiumError(
                "webhook_url_private",
                f"{host!r} resolves to {address}, which is not a public address; turn on the tenant's "
                "webhook development flag to deliver to local receivers",
                status=422,
            )
    return addresses[0]


class Pinned:
    """A request to ``url`` sent to one checked address: Host header and TLS name stay the URL's."""

    def __init__(self, url: str, address: str | None) -> None:
        """``address`` from ``check_url``; ``None`` leaves the URL as it is."""
        self.url = url
        self.headers: dict[str, str] = {}
        self.extensions: dict[str, str] = {}
        if address is None:
            return
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            ipaddress.ip_address(host)
            return  # already an address: nothing to resolve
        except ValueError:
            pass
        literal = f"[{address}]" if ":" in address else address
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        self.url = urlunsplit(parts._replace(netloc=netloc))
        self.headers = {"host": parts.netloc}
        # The certificate is checked against the URL's host name, not the address.
        self.extensions = {"sni_hostname": host}
