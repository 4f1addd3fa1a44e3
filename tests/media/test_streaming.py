"""Live streaming an MCU room: HLS served by Podium (and played in Chromium), RTMP to a real nginx.

One H.264/AAC transcode feeds both; each RTMP destination runs on its own, so one that cannot
be reached is retried and reported while the others and the HLS stream go on.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest
from playwright.async_api import async_playwright

from podium.media.live import HLS_SEGMENT_SECONDS
from tests.media.test_mcu_room import _composite_shows, _join, _media_node_pid
from tests.support.analysis import PALETTE, colours_present
from tests.support.browser import launch_chromium
from tests.support.client import TenantClient
from tests.support.hls import live_playlist, resumed_segments, segments, wait_stream_state
from tests.support.rtmp import RtmpServer
from tests.support.server import Node, free_port
from tests.support.synthetic import SyntheticParticipant

NAMES = list(PALETTE)


@pytest.fixture
def rtmp() -> Iterator[RtmpServer]:
    server = RtmpServer()
    yield server
    server.stop()


def _read_rtmp(url: str, frames: int = 10) -> list[av.VideoFrame]:
    """Play ``url`` back from nginx and decode ``frames`` video frames (blocking; run in a thread)."""
    with av.open(url, timeout=(15, 15)) as container:
        decoded = []
        for frame in container.decode(video=0):
            decoded.append(frame)
            if len(decoded) >= frames:
                break
        return decoded


async def test_a_live_room_plays_over_hls_and_reaches_rtmp_services(
    acme: TenantClient, people: list[SyntheticParticipant], rtmp: RtmpServer
) -> None:
    room = str((await acme.room(media_mode="mcu"))["slug"])
    for index in range(2):
        people.append(await _join(acme, room, index, loud=True))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    await asyncio.gather(*(_composite_shows(p, set(NAMES[:2])) for p in people))

    # RTMP destinations must be on the tenant's allow-list.
    refused = await acme.http.post(f"/rooms/{room}/streams", json={"destination": rtmp.url("podium")})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "rtmp_host_not_allowed"
    bad = await acme.http.post(f"/rooms/{room}/streams", json={"destination": "http://127.0.0.1/live/x"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_rtmp_url"
    hosts = await acme.http.put("/streaming/hosts", json={"hosts": ["127.0.0.1"]})
    assert hosts.status_code == 200, hosts.text

    hls = await acme.http.post(f"/rooms/{room}/streams", json={})
    assert hls.status_code == 201, hls.text
    again = await acme.http.post(f"/rooms/{room}/streams", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "stream_running"
    pushed = await acme.http.post(f"/rooms/{room}/streams", json={"destination": rtmp.url("podium")})
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["destination"].endswith("/live/••••")  # the stream key is never shown
    # A destination nobody listens on: retried and reported; the rest goes on.
    dead = await acme.http.post(
        f"/rooms/{room}/streams", json={"destination": f"rtmp://127.0.0.1:{free_port()}/live/nobody"}
    )
    assert dead.status_code == 201, dead.text
    await wait_stream_state(acme, room, dead.json()["id"], "retrying")

    # RTMP: nginx plays back what Podium pushed, and it is the composite.
    frames = await asyncio.to_thread(_read_rtmp, rtmp.url("podium"))
    assert colours_present(frames[-1], {n: PALETTE[n] for n in NAMES[:2]}) == set(NAMES[:2])

    # HLS: a viewer token, a playlist that moves on, segments that decode.
    token = (await acme.http.post(f"/rooms/{room}/viewer-tokens", json={"identity": "fan"})).json()
    watch = hls.json()["watch_url"]
    async with httpx.AsyncClient(base_url=acme.base_url, timeout=10) as web:
        assert (await web.get(f"{watch}/index.m3u8")).status_code == 401
        joiner = await acme.token(room, "sneaky", "attendee")
        assert (await web.get(f"{watch}/index.m3u8", params={"token": joiner})).status_code == 403
        first = await live_playlist(web, watch, token["token"])
        await asyncio.sleep(4.5)
        later = await live_playlist(web, watch, token["token"])
        assert segments(later)[-1] != segments(first)[-1]
        # Segments of about HLS_SEGMENT_SECONDS (2), cut at keyframes forced that often. A starved
        # composite tick can stretch one (a 3-4 s segment seen beside a benchmark: target 4);
        # without forcing, a segment would last until a receiver asked for a keyframe.
        durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+)", later)]
        target = re.search(r"#EXT-X-TARGETDURATION:(\d+)", later)
        assert target is not None and int(target.group(1)) <= 2 * HLS_SEGMENT_SECONDS, later
        assert statistics.median(durations) <= HLS_SEGMENT_SECONDS + 0.5, durations
        segment = await web.get(f"{watch}/{segments(later)[-1].split('/')[-1]}")
        assert segment.status_code == 200
        path = Path(tempfile.mkdtemp()) / "segment.ts"
        path.write_bytes(segment.content)
        with av.open(str(path)) as container:
            assert [s.type for s in container.streams] == ["video", "audio"]
            assert len(list(container.decode(video=0))) >= 20

        # The watch page plays it (hls.js in Chromium) and counts its viewer.
        await _watch_plays(f"{acme.base_url}{token['watch_url'].split('?')[0]}?token={token['token']}")
        status = (await web.get(f"{watch}/status", params={"token": token["token"]})).json()
        assert status["state"] == "live" and status["viewers"] >= 1

    # Stopping one destination leaves the others running; then stop everything.
    stopped = await acme.http.post(f"/rooms/{room}/streams/{dead.json()['id']}/stop")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    running = {s["id"] for s in (await acme.http.get(f"/rooms/{room}/streams")).json()}
    assert running == {hls.json()["id"], pushed.json()["id"]}
    assert (await acme.http.post(f"/rooms/{room}/streams/stop")).status_code == 200
    nothing = await acme.http.post(f"/rooms/{room}/streams/stop")
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "stream_not_running"


async def _watch_plays(url: str) -> None:
    """Open the watch page; its video must play on (``currentTime`` advancing for several seconds)."""
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            page = await browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            await page.goto(url)
            times: list[float] = []
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                times.append(float(await page.evaluate("document.getElementById('video').currentTime")))
                if len(times) > 8 and times[-1] > 1 and times[-1] > times[-9] + 3:
                    break
                await asyncio.sleep(0.5)
            else:
                raise AssertionError(f"the watch page did not play: {times[-12:]} {console[-20:]}")
            assert await page.locator("#state").text_content() == "LIVE"
        finally:
            await browser.close()


async def test_a_live_stream_outlives_a_dead_media_node(
    node: Node, acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = str((await acme.room(media_mode="mcu"))["slug"])
    for index in range(2):
        people.append(await _join(acme, room, index, loud=True))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    hls = await acme.http.post(f"/rooms/{room}/streams", json={})
    assert hls.status_code == 201, hls.text
    token = (await acme.http.post(f"/rooms/{room}/viewer-tokens", json={"identity": "fan"})).json()["token"]
    watch = hls.json()["watch_url"]
    async with httpx.AsyncClient(base_url=acme.base_url, timeout=10) as web:
        before = segments(await live_playlist(web, watch, token))
        os.kill(_media_node_pid(node), signal.SIGKILL)

        # The node comes back empty; the stream starts again on it and the playlist goes on
        # after a discontinuity, numbered on from where it stopped (no segment overwritten).
        after = await resumed_segments(web, watch, token)
        assert min(after) > max(before), (before, after)
        await wait_stream_state(acme, room, hls.json()["id"], "live")

        # What it carries is the room again: everyone reconnected to the new node.
        await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
        deadline = time.monotonic() + 30
        while True:
            playlist = (await web.get(f"{watch}/index.m3u8", params={"token": token})).text
            segment = await web.get(f"{watch}/{segments(playlist)[-1].split('/')[-1]}")
            path = Path(tempfile.mkdtemp()) / "segment.ts"
            path.write_bytes(segment.content)
            with av.open(str(path)) as container:
                frames = list(container.decode(video=0))
            if frames and colours_present(frames[-1], {n: PALETTE[n] for n in NAMES[:2]}) == set(NAMES[:2]):
                break
            assert time.monotonic() < deadline, "the resumed stream never showed the room"
            await asyncio.sleep(1)
