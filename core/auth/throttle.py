"""Fixed-window rate limits on what attackers repeat: failed logins, room creation.

One counter per (bucket, key, minute). With Redis every node counts into the same key, so
spreading attempts over nodes gains an attacker nothing; without Redis (one embedded node)
the counters live in memory. A Redis outage lets requests through rather than locking
every tenant out: the limit protects, it is not what keeps a room running.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.connection import ASGIConnection

from podium.core.errors import PodiumError

__all__ = ["AUTH_FAILURES", "Throttle", "client_address", "rate_limited"]

log = logging.getLogger(__name__)
WINDOW = 60.0
#: The bucket of failed API-secret and join-token checks, per client address.
AUTH_FAILURES = "auth"


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Who is calling: the peer address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return connection.client.host if connection.client else "unknown"


def rate_limited(retry_after: float, what: str) -> PodiumError:
    """The refusal for a caller over a limit (HTTP 429, ``Retry-After`` in whole seconds)."""
    seconds = max(1, round(retry_after))
    return PodiumError(
        "rate_limited", f"too many {what}; try again in {seconds} s", 429, {"Retry-After": str(seconds)}
    )


class Throttle:
    """Counts events per key in one-minute windows; answers how long a key must wait."""

    def __init__(self, redis: Any = None, prefix: str = "podium") -> None:
        self.redis = redis
        self.prefix = prefix
        self._counts: dict[tuple[str, str, int], int] = {}

    def _window(self) -> tuple[int, float]:
        now = time.time()
        index = int(now // WINDOW)
        return index, (index + 1) * WINDOW - now

    def _key(self, bucket: str, key: str, index: int) -> str:
        return f"{self.prefix}:throttle:{bucket}:{key}:{index}"

    async def wait(self, bucket: str, key: str, limit: int) -> float | None:
        """Seconds ``key`` must wait because ``limit`` events happened this window, else ``None``."""
        if limit <= 0:
            return None
        index, left = self._window()
        if self.redis is None:
            count = self._counts.get((bucket, key, index), 0)
        else:
            try:
                count = int(await self.redis.get(self._key(bucket, key, index)) or 0)
            except Exception as exc:  # Redis away: let the request through (see the module doc)
                log.warning("rate limit %s not checked: %s", bucket, exc)
                return None
        return left if count >= limit else None

    async def hit(self, bucket: str, key: str, limit: int) -> float | None:
        """Count one event; the seconds to wait if that took ``key`` over ``limit``, else ``None``."""
        if limit <= 0:
            return None
        index, left = self._window()
        if self.redis is None:
            slot = (bucket, key, index)
            count = self._counts[slot] = self._counts.get(slot, 0) + 1
            if len(self._counts) > 10_000:  # forget finished windows
                self._counts = {k: v for k, v in self._counts.items() if k[2] >= index}
        else:
            name = self._key(bucket, key, index)
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.incr(name)
                    pipe.expire(name, int(WINDOW) + 5)
                    count = int((await pipe.execute())[0])
            except Exception as exc:
                log.warning("rate limit %s not counted: %s", bucket, exc)
                return None
        return left if count > limit else None

    async def guard_auth(self, address: str, limit: int) -> None:
        """Refuse ``address`` (``rate_limited``) while it is over its failed-authentication limit."""
        wait = await self.wait(AUTH_FAILURES, address, limit)
        if wait is not None:
            raise rate_limited(wait, "failed authentications from your address")

    async def auth_failed(self, address: str, limit: int) -> None:
        """Count one failed authentication from ``address``."""
        await self.hit(AUTH_FAILURES, address, limit)
