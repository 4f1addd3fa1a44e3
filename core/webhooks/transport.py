"""One delivery attempt over HTTP: to the checked address, no redirects, a deadline, a bounded read.

The receiver is the tenant's (or whoever its URL points at): it may redirect, trickle its
answer for ever or send gigabytes. None of that may hold a worker or fill its memory.
"""

from __future__ import annotations

import asyncio
import ssl

import httpx

from podium.core.webhooks.addresses import Pinned

__all__ = ["EXCERPT_CHARS", "delivery_client", "post"]

#: How much of the receiver's answer the delivery log keeps.
EXCERPT_CHARS = 500
# Enough bytes for EXCERPT_CHARS characters of UTF-8; the rest of the answer is never read.
_EXCERPT_BYTES = EXCERPT_CHARS * 4


def delivery_client(timeout: float, verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The HTTP client deliveries go through (``verify``: for tests with their own CA)."""
    return httpx.AsyncClient(
        timeout=timeout,
        verify=verify,
        # A 3xx is a failed attempt, never a hop to another host (which nobody checked).
        follow_redirects=False,
        # httpx pools connections by the URL's host, which for a Pinned URL is the address: a
        # connection kept from one host name's delivery would carry another name's, under the
        # first one's TLS name and certificate. So every delivery opens its own.
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def post(
    client: httpx.AsyncClient, target: Pinned, body: bytes, headers: dict[str, str], deadline: float
) -> tuple[int, str]:
    """POST ``body`` to ``target``; its status code and the start of its answer.

    ``deadline`` bounds the whole attempt (httpx's timeout bounds each read, so a receiver
    sending a byte every few seconds would otherwise hold it for ever): ``TimeoutError``."""
    # Compressed answers are not asked for: a small gzip can inflate to gigabytes.
    headers = {**headers, "accept-encoding": "identity", **target.headers}
    async with asyncio.timeout(deadline):
        request = client.build_request(
            "POST", target.url, content=body, headers=headers, extensions=target.extensions
        )
        response = await client.send(request, stream=True)
        try:
            start = bytearray()
            async for chunk in response.aiter_raw():
                start += chunk
                if len(start) >= _EXCERPT_BYTES:
                    break
        finally:
            await response.aclose()
    text = bytes(start[:_EXCERPT_BYTES]).decode(response.encoding or "utf-8", errors="replace")
    return response.status_code, text[:EXCERPT_CHARS]
