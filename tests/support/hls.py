"""Reading a room's live HLS stream the way a viewer does: the playlist, its segments, its state."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support.client import TenantClient

__all__ = ["live_playlist", "resumed_segments", "segments", "wait_stream_state"]

DISCONTINUITY = "#EXT-X-DISCONTINUITY"


def segments(playlist: str) -> list[str]:
    """The segment URIs a playlist lists, oldest first."""
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def live_playlist(web: httpx.AsyncClient, watch: str, token: str, within: float = 20) -> str:
    """The stream's playlist once it lists at least two segments."""
    deadline = time.monotonic() + within
    while True:
        reply = await web.get(f"{watch}/index.m3u8", params={"token": token, "v": "test"})
        if reply.status_code == 200 and len(segments(reply.text)) >= 2:
            return reply.text
        assert time.monotonic() < deadline, f"no playlist: {reply.status_code} {reply.text[:200]}"
        await asyncio.sleep(0.5)


async def resumed_segments(
    web: httpx.AsyncClient, watch: str, token: str, at_least: int = 2, within: float = 45
) -> list[str]:
    """Once the stream started again (on a new media node), the segments after its discontinuity."""
    deadline = time.monotonic() + within
    while True:
        playlist = (await web.get(f"{watch}/index.m3u8", params={"token": token})).text
        after = segments(playlist.split(DISCONTINUITY, 1)[1]) if DISCONTINUITY in playlist else []
        if len(after) >= at_least:
            return after
        assert time.monotonic() < deadline, f"the stream did not resume:\n{playlist}"
        await asyncio.sleep(0.5)


async def wait_stream_state(
    tenant: TenantClient, room: str, stream_id: str, state: str, within: float = 30
) -> None:
    """Wait until the room's stream ``stream_id`` is in ``state`` (as the REST API lists it)."""
    deadline = time.monotonic() + within
    streams: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        streams = (await tenant.http.get(f"/rooms/{room}/streams")).json()
        if any(s["id"] == stream_id and s["state"] == state for s in streams):
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{stream_id} never became {state}: {streams}")
