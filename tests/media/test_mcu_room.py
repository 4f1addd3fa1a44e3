"""Large rooms through the MCU: composite video with everyone, a mix with everyone but yourself.

Participants are real aiortc peers (tests/support/synthetic.py): each sends its own colour
and, if loud, its own tone, and the test reads the composite and the mix they get back.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.support.analysis import PALETTE, TONES_HZ, colours_present, tones_present
from tests.support.client import TenantClient
from tests.support.metrics import wait_metric
from tests.support.server import Node
from tests.support.synthetic import AUDIO_RATE, SyntheticParticipant

NAMES = list(PALETTE)


async def _join(
    acme: TenantClient, room: str, index: int, loud: bool, **options: Any
) -> SyntheticParticipant:
    # 360p: eight 720p decoders in one test process would starve this 2-core machine (the
    # size test below covers the 720p tier).
    options.setdefault("max_height", 360)
    return await SyntheticParticipant.join(
        acme, room, NAMES[index], PALETTE[NAMES[index]], TONES_HZ[index], loud=loud, latency_hz=0, **options
    )


async def _composite_shows(person: SyntheticParticipant, expected: set[str], within: float = 20.0) -> None:
    """Wait until ``person``'s latest composite frame shows every expected colour."""
    deadline = asyncio.get_running_loop().time() + within
    seen: set[str] = set()
    while asyncio.get_running_loop().time() < deadline:
        frame = person.latest_frame
        if frame is not None:
            seen = colours_present(frame, {name: PALETTE[name] for name in expected})
            if seen == expected:
                return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{person.identity} sees {sorted(seen)}, not {sorted(expected)}")


async def test_eight_people_switch_to_the_mcu_and_each_gets_everyone_but_themselves(
    acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room())["slug"]  # auto: peer-to-peer until the 7th person
    for index in range(8):
        people.append(await _join(acme, room, index, loud=index < 3))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    assert {p.media_mode for p in people} == {"mcu"}

    everyone = set(NAMES[:8])
    await asyncio.gather(*(_composite_shows(p, everyone) for p in people))
    for person in people:
        frame = person.latest_frame
        assert frame is not None and (frame.width, frame.height) == (640, 360)

    await asyncio.sleep(2)  # two seconds of mix in everyone's buffer
    loud = {NAMES[i]: TONES_HZ[i] for i in range(3)}
    await asyncio.gather(*(_hears(person, loud) for person in people))
    # The five silent people's audio (their packets say so) is not decoded: their 250 packets a
    # second (less a 200 ms hangover each) add up on the node's counter.
    await wait_metric(acme.base_url, "podium_media_node_audio_skipped_total", 5 * 50)


async def _hears(person: SyntheticParticipant, loud: dict[str, float], within: float = 8.0) -> None:
    """``person``'s mix holds every loud speaker but never themselves. Who is heard is read from the
    last 1.5 s, again while it falls short (a busy machine can stall a speaker's uplink a moment)."""
    expected = set(loud) - {person.identity}
    deadline = time.monotonic() + within
    while True:
        heard = tones_present(person.audio_samples(1.5), AUDIO_RATE, loud)
        assert person.identity not in heard, f"{person.identity} hears themselves"
        if heard == expected:
            return
        assert time.monotonic() < deadline, f"{person.identity} hears {sorted(heard)}, not {sorted(expected)}"
        await asyncio.sleep(0.5)


async def test_each_gets_the_composite_in_a_codec_and_size_it_can_use(
    acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    options: list[dict[str, Any]] = [
        {"max_height": None},
        {"max_height": None, "video_codecs": ("video/VP8",)},
        {"max_height": 480},
        {"max_height": None, "downlink_bps": 250_000},
    ]
    for index, extra in enumerate(options):
        people.append(await _join(acme, room, index, loud=False, **extra))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    # All see the whole room, each in a codec it decodes...
    await asyncio.gather(*(_composite_shows(p, set(NAMES[:4])) for p in people))
    assert [p.composite_codec for p in people] == ["video/H264", "video/VP8", "video/H264", "video/H264"]
    # ...at 720p over an unconstrained link (loopback), 360p for a player 480 px tall...
    sizes = [(f.width, f.height) for f in (p.latest_frame for p in people[:3]) if f is not None]
    assert sizes == [(1280, 720), (1280, 720), (640, 360)]
    # ...and 360p once a receiver's estimates say its link cannot carry 720p (they come a few
    # seconds in; after 10 s more it would try 720p again).
    slow = people[3]
    deadline = asyncio.get_running_loop().time() + 12
    while (frame := slow.latest_frame) is None or frame.height != 360:
        assert asyncio.get_running_loop().time() < deadline, f"still {frame and frame.height}p"
        await asyncio.sleep(0.25)


def _media_node_pid(node: Node) -> int:
    """The media node ``podium serve`` runs as its child."""
    children = Path(f"/proc/{node.process.pid}/task/{node.process.pid}/children").read_text().split()
    for pid in children:
        if b"media" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return int(pid)
    raise AssertionError(f"podium serve ({node.process.pid}) has no media node child: {children}")


async def test_a_dead_media_node_is_replaced_and_everyone_reconnects(
    node: Node, acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    for index in range(3):
        people.append(await _join(acme, room, index, loud=False))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    everyone = set(NAMES[:3])
    await asyncio.gather(*(_composite_shows(p, everyone) for p in people))

    before = {p.identity: p.mcu_connections for p in people}
    os.kill(_media_node_pid(node), signal.SIGKILL)
    started = asyncio.get_running_loop().time()
    # Everyone is told, offers again to the fresh node, and sees the whole room again.
    for person in people:
        await person.wait_mcu_connected(30)
    for person in people:
        deadline = asyncio.get_running_loop().time() + 30
        while person.mcu_connections <= before[person.identity]:
            assert asyncio.get_running_loop().time() < deadline, f"{person.identity} never reconnected"
            await asyncio.sleep(0.2)
    frames = {p.identity: p.frames_received for p in people}
    await asyncio.gather(*(_composite_shows(p, everyone, within=30) for p in people))
    for person in people:
        await person.wait_frames(frames[person.identity] + 15, timeout=15)
    recovered = asyncio.get_running_loop().time() - started
    assert recovered < 45, f"recovery took {recovered:.1f}s"


async def test_a_frozen_uplink_becomes_a_placeholder_and_the_room_goes_on(
    acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    for index in range(3):
        people.append(await _join(acme, room, index, loud=False))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    await asyncio.gather(*(_composite_shows(p, set(NAMES[:3])) for p in people))

    camera = people[0].video_out
    assert camera is not None
    camera.pause()  # the camera stops sending, as when a laptop's uplink dies
    watcher = people[1]
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        frame = watcher.latest_frame
        assert frame is not None
        if colours_present(frame, {n: PALETTE[n] for n in NAMES[:3]}) == set(NAMES[1:3]):
            break
        assert asyncio.get_running_loop().time() < deadline, "the frozen tile never became a placeholder"
        await asyncio.sleep(0.5)
    received = watcher.frames_received
    await watcher.wait_frames(received + 15, timeout=10)  # the composite keeps coming


async def test_a_shared_screen_is_the_large_tile_while_it_is_shared(
    acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    screen = {"screen": PALETTE["periwinkle"]}
    presenter = await _join(acme, room, 0, loud=False, screen=screen["screen"])
    people.append(presenter)
    people.append(await _join(acme, room, 1, loud=False))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    watcher = people[1]
    await _composite_shows(watcher, set(NAMES[:2]))
    # Offered but not shared: the screen's section carries frames, the composite shows none of them.
    await watcher.wait_shares(screen, {"screen": (0, 0)}, "an unshared screen is not shown", 1)

    await presenter.share_screen()
    await watcher.wait_shares(screen, {"screen": (0.3, 1)}, "the shared screen is the large tile")
    await _composite_shows(watcher, set(NAMES[:2]))  # both cameras still in the strip
    await presenter.share_screen(False)
    await watcher.wait_shares(screen, {"screen": (0, 0)}, "the screen left the composite")


async def test_the_newest_share_takes_over_and_the_previous_one_comes_back(
    acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    screens = {"first": PALETTE["periwinkle"], "second": PALETTE["purple"]}
    first = await _join(acme, room, 0, loud=False, screen=screens["first"])
    people.append(first)
    await first.wait_mcu_connected(30)  # connected before the second: the order matters here
    second = await _join(acme, room, 1, loud=False, screen=screens["second"])
    watcher = await _join(acme, room, 2, loud=False)
    people.extend((second, watcher))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    # The one who connected last shares first; then the other takes over (the newest share
    # wins, not the newest connection); when that ends, the earlier share is back.
    await second.share_screen()
    await watcher.wait_shares(screens, {"second": (0.3, 1), "first": (0, 0)}, "the second's screen")
    await first.share_screen()
    await watcher.wait_shares(screens, {"first": (0.3, 1), "second": (0, 0)}, "the first took over")
    await first.share_screen(False)
    await watcher.wait_shares(screens, {"second": (0.3, 1), "first": (0, 0)}, "the second's is back")
