"""ICE servers for peer connections: configured STUN/TURN, and per-participant TURN credentials.

TURN servers with a shared secret (coturn's ``use-auth-secret``, the "TURN REST API")
accept ``username = "<expiry>:<identity>"`` and ``credential = base64(HMAC-SHA1(secret,
username))``; minting them per participant keeps the secret on the server and lets
credentials expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import msgspec

from podium.core.realtime.protocol import IceServer

__all__ = ["ice_servers_for", "parse_ice_servers"]


def parse_ice_servers(raw: str) -> list[IceServer]:
    """``PODIUM_ICE_SERVERS`` (a JSON list of ``RTCIceServer``) as structs; raises ``SettingsError``."""
    from podium.core.settings import SettingsError

    if not raw.strip():
        return []
    try:
        servers = msgspec.json.decode(raw, type=list[IceServer])
    except msgspec.MsgspecError as exc:
        raise SettingsError(f"PODIUM_ICE_SERVERS is not a JSON list of ICE servers: {exc}") from exc
    for server in servers:
        bad = [u for u in server.urls if not u.startswith(("stun:", "stuns:", "turn:", "turns:"))]
        if bad or not server.urls:
            raise SettingsError(f"PODIUM_ICE_SERVERS: ICE server URLs must be stun:/turn: URLs, got {bad}")
    return servers


def turn_credentials(secret: str, identity: str, ttl: int, now: float | None = None) -> tuple[str, str]:
    """A time-limited TURN username and password for ``identity`` (TURN REST API style)."""
    expiry = int(now if now is not None else time.time()) + ttl
    username = f"{expiry}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(
    configured: list[IceServer], turn_urls: str, turn_secret: str, identity: str, ttl: int
) -> list[IceServer]:
    """The ICE servers one participant gets in ``welcome``."""
    servers = list(configured)
    urls = [u.strip() for u in turn_urls.split(",") if u.strip()]
    if urls and turn_secret:
        username, credential = turn_credentials(turn_secret, identity, ttl)
        servers.append(IceServer(urls=urls, username=username, credential=credential))
    return servers
