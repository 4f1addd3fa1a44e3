"""Bad networks, MCU rooms: a slow downlink gets the low tier, outages heal, audio outlives video.

Real parts throughout: the node of ``podium serve``, aiortc participants (tests/support/synthetic.py),
a real TURN server (coturn), and an impairing relay in front of it per participant
(tests/support/network.py). A participant "behind" a link is forced to relay everything through
TURN over that link; every test checks the link's counters, so none can pass on a direct path.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
import numpy as np
import pytest
from aiortc import RTCPeerConnection

from tests.support.analysis import PALETTE, TONES_HZ, read_timestamp_ms
from tests.support.client import TenantClient
from tests.support.network import PROFILES, Impairment, Netem, NetemLink, Profile
from tests.support.synthetic import SyntheticParticipant
from tests.support.tracks import ColourVideoTrack, now_ms
from tests.support.turn import TurnServer, turn_server

ALICE, BOB = "maroon", "cyan"
#: A tone counts as heard in a 20 ms frame above this amplitude (of 32767; a loud speaker is ~5800
#: in the mix, a silent frame under 20).
HEARD = 1000.0


@pytest.fixture(scope="module")
def turn() -> Iterator[TurnServer]:
    with turn_server() as server:
        yield server


@pytest.fixture
async def net() -> AsyncIterator[Netem]:
    async with Netem.start() as relay:
        yield relay


# ---- a camera with detail ---------------------------------------------------------------------------------


class GrainyVideoTrack(ColourVideoTrack):
    """The colour camera with fresh film grain on every frame, the detail of a real camera: with it
    on half the composite, the 720p tier runs at ~1.1 Mbit/s and the 360p one at ~380 kbit/s
    (with flat colours, 720p takes ~320 kbit/s and fits a 500 kbit/s link)."""

    def render(self, ms: int) -> av.VideoFrame:
        frame = super().render(ms)
        planes = frame.to_ndarray()
        grain = np.random.default_rng(ms).integers(-8, 9, (self.height, self.width), dtype=np.int16)
        cols, rows = (c * self.cell for c in (20, 9))  # the timestamp block and a margin stay clean
        grain[:rows, :cols] = 0
        planes[: self.height] = np.clip(planes[: self.height] + grain, 16, 235).astype(np.uint8)
        return av.VideoFrame.from_ndarray(planes, format="yuv420p")


class GrainyParticipant(SyntheticParticipant):
    """A synthetic participant whose camera is a ``GrainyVideoTrack``."""

    def _add_senders(self, pc: RTCPeerConnection) -> None:
        super()._add_senders(pc)
        assert self.video_out is not None
        sender = next(s for s in pc.getSenders() if s.track is self.video_out)
        self.video_out.stop()
        self.video_out = GrainyVideoTrack(self.colour, *self.camera)
        sender.replaceTrack(self.video_out)


# ---- what a participant gets, frame by frame --------------------------------------------------------------


@dataclass
class FrameLog:
    """Each composite frame a participant decodes: arrival (monotonic s), width, height."""

    frames: list[tuple[float, int, int]] = field(default_factory=list)

    @classmethod
    def of(cls, person: SyntheticParticipant) -> FrameLog:
        log = cls()
        recorder = person.video_in
        on_frame = recorder._on_frame

        def logged(frame: object) -> None:
            on_frame(frame)
            assert isinstance(frame, av.VideoFrame)
            log.frames.append((time.monotonic(), frame.width, frame.height))

        recorder._on_frame = logged  # type: ignore[method-assign]
        return log

    def between(self, start: float, end: float) -> list[tuple[float, int, int]]:
        return [f for f in self.frames if start <= f[0] < end]

    def longest_gap(self, start: float, end: float) -> float:
        """The longest wait for a frame (s) between ``start`` and ``end`` (edges included)."""
        times = [start, *(f[0] for f in self.between(start, end)), end]
        return max(b - a for a, b in itertools.pairwise(times))


@dataclass
class ToneLog:
    """Each 20 ms audio frame a participant decodes: arrival, RTP time (s), one tone's amplitude."""

    hz: float
    frames: list[tuple[float, float, float]] = field(default_factory=list)

    @classmethod
    def of(cls, person: SyntheticParticipant, hz: float) -> ToneLog:
        log = cls(hz)
        recorder = person.audio_in
        on_frame = recorder._on_frame

        def logged(frame: object) -> None:
            on_frame(frame)
            assert isinstance(frame, av.AudioFrame)
            data = frame.to_ndarray().astype(np.float64)
            mono = data.reshape(-1, len(frame.layout.channels)).mean(axis=1)
            t = np.arange(mono.size) / frame.sample_rate
            level = 2 * abs(np.dot(mono, np.exp(-2j * np.pi * hz * t))) / mono.size
            log.frames.append((time.monotonic(), float(frame.pts or 0) / frame.sample_rate, float(level)))

        recorder._on_frame = logged  # type: ignore[method-assign]
        return log

    def longest_silence(self, start: float, end: float) -> float:
        """The longest stretch of the stream (s, by RTP time) without the tone, among the frames
        that arrived between ``start`` and ``end``: silent frames and missing ones alike."""
        frames = [f for f in self.frames if start <= f[0] < end]
        assert len(frames) > 10, f"only {len(frames)} audio frames arrived in {end - start:.1f}s"
        heard = [rtp for _, rtp, level in frames if level >= HEARD]
        edges = [frames[0][1] - 0.02, *heard, frames[-1][1] + 0.02]
        return max(b - a - 0.02 for a, b in itertools.pairwise(edges))

    def first_heard(self, after: float) -> float | None:
        """When the tone first arrived after ``after`` (monotonic), if it did."""
        return next((at for at, _, level in self.frames if at >= after and level >= HEARD), None)


def tile_region(frame: av.VideoFrame, colour: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    """The box (x, y, width, height) of the composite that is ``colour`` (that camera's tile), if any."""
    rgb = frame.to_ndarray(format="rgb24").astype(np.int32)
    ys, xs = np.nonzero(((rgb - np.array(colour)) ** 2).sum(axis=2) < 40 * 40)
    if xs.size < 1000:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


async def _uplink_repair(base: str) -> str:
    """The node's uplink repair counters of every MCU room, for a failure to say what happened."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{base}/metrics")).text
    wanted = ("plis_total", "nacks_total", "frames_dropped_total", "keyframes_forced_total")
    return "; ".join(
        line.split("{")[0].removeprefix("podium_media_room_") + " " + line.rsplit(" ", 1)[1]
        for line in text.splitlines()
        if line.startswith("podium_media_room_") and any(w in line for w in wanted) and "downlink" not in line
    )


async def _sampled(
    person: SyntheticParticipant, region: tuple[int, int, int, int], seconds: float
) -> list[tuple[float, int | None]]:
    """``(when, timestamp on the tile in region)`` of ``person``'s latest composite, 10 times a second."""
    samples: list[tuple[float, int | None]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame = person.latest_frame
        if frame is not None:
            samples.append((time.monotonic(), read_timestamp_ms(frame, region)))
        await asyncio.sleep(0.1)
    return samples


def opus_payload_type(sdp: str) -> int:
    """The payload type of Opus in an SDP's audio section."""
    audio = sdp.split("m=audio", 1)[1].split("\nm=", 1)[0]
    found = re.search(r"a=rtpmap:(\d+) opus/", audio, re.IGNORECASE)
    assert found is not None, "no Opus in the audio section"
    return int(found.group(1))


async def _join(
    acme: TenantClient, room: str, name: str, hz: float, loud: bool, **options: Any
) -> SyntheticParticipant:
    return await SyntheticParticipant.join(acme, room, name, PALETTE[name], hz, loud=loud, **options)


async def _behind(
    net: Netem, turn: TurnServer, acme: TenantClient, room: str, name: str, profile: Profile, **options: Any
) -> tuple[SyntheticParticipant, NetemLink]:
    """``name`` joins ``room`` relaying everything through TURN over a link impaired as ``profile``."""
    link = await net.link(name, profile, upstream=("127.0.0.1", turn.port))
    person = await _join(
        acme, room, name, options.pop("hz", TONES_HZ[0]), relay=turn.ice_server(name, link.port), **options
    )
    return person, link


# ---- tiers per receiver -----------------------------------------------------------------------------------


async def test_a_receiver_on_a_slow_downlink_drops_to_360p_while_a_direct_one_keeps_720p(
    acme: TenantClient, net: Netem, turn: TurnServer, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    # The slow receiver's camera is small and flat; the direct one's has detail that fills half the
    # composite, so the 720p tier runs at its full 1.2 Mbit/s.
    slow, link = await _behind(
        net, turn, acme, room, ALICE, PROFILES["cap500k"], loud=False, width=320, height=180
    )
    people.append(slow)
    fast = await GrainyParticipant.join(acme, room, BOB, PALETTE[BOB], TONES_HZ[1], loud=False, latency_hz=0)
    people.append(fast)
    slow_log, fast_log = FrameLog.of(slow), FrameLog.of(fast)
    await asyncio.gather(slow.wait_mcu_connected(30), fast.wait_mcu_connected(30))
    start = time.monotonic()

    # The 720p tier (1.2 Mbit/s) does not fit 500 kbit/s: the capped link drops much of it, the
    # slow receiver's reports say so and the node moves it to 360p (350 kbit/s), without a new
    # connection. (Its first 720p keyframe may never get through: it may start on 360p.)
    deadline = start + 10
    while not any(h == 360 for _, _, h in slow_log.frames):
        last = slow_log.frames[-1][1:] if slow_log.frames else "no frame"
        assert time.monotonic() < deadline, f"still {last} 10s into 500 kbit/s"
        await asyncio.sleep(0.2)
    switched = next(at for at, _, h in slow_log.frames if h == 360)
    await asyncio.sleep(7)
    end = time.monotonic()

    # Once on 360p it plays. The move itself may stall it a moment (the capped link's queue still
    # holds 720p packets, and a busy machine adds to it: 0.2-2.8 s seen), never past 3 s; after
    # that it gets every frame: no freeze a person would notice (a second or more) in the last 4 s,
    # at full rate (as the direct receiver, decoding in this same process, keeps up with: a
    # starved test process decodes fewer, 9.2 fps seen beside a benchmark).
    # Until the move the 720p frames it gets are missing packets the link dropped: they never
    # decode (1.3-1.8 s on an idle machine, 3-4.5 s on a busy one; 5-7 s when only its falling
    # estimate moved it).
    frozen = slow_log.longest_gap(switched, end)
    assert frozen < 3.0, f"the slow receiver froze {frozen:.1f}s on 360p"
    settled = end - 4
    assert slow_log.longest_gap(settled, end) < 1.0, "the slow receiver still freezes on 360p"
    after = slow_log.between(settled, end)
    direct = len(fast_log.between(settled, end)) / (end - settled)
    slow_rate = len(after) / (end - settled)
    assert slow_rate >= min(12, 0.8 * direct), f"{slow_rate:.1f} fps on 360p ({direct:.1f} at 720p, direct)"
    assert {(w, h) for _, w, h in after} == {(640, 360)}
    # The direct receiver was never dragged down: 720p at full rate throughout.
    assert fast_log.frames, "the direct receiver decoded no composite"
    begun = fast_log.frames[0][0]
    mine = fast_log.between(begun, end)
    rate = len(mine) / (end - begun)
    assert {(w, h) for _, w, h in mine} == {(1280, 720)}, "the direct receiver left 720p"
    assert rate >= 12, f"the direct receiver got {rate:.1f} fps"
    assert fast_log.longest_gap(begun, end) < 1.0

    # The composite really crossed the capped link, and the cap really bit.
    down = (await net.stats(link.name)).down
    assert down.bytes_sent > 200_000 and down.queue_dropped > 0, down
    print(
        f"slow receiver: 360p {switched - start:.1f}s after connecting, frozen "
        f"{slow_log.longest_gap(start, switched):.1f}s before; direct receiver "
        f"{rate:.1f} fps at 720p"
    )


# ---- outages ----------------------------------------------------------------------------------------------


async def _steady(
    bob: SyntheticParticipant, tones: ToneLog, colour: tuple[int, int, int]
) -> tuple[int, int, int, int]:
    """Wait until ``bob`` sees a fresh picture of ``colour``'s camera and hears its tone; its tile."""
    deadline = time.monotonic() + 20
    while True:
        frame = bob.latest_frame
        if frame is not None and frame.height == 360 and tones.first_heard(time.monotonic() - 0.5):
            region = tile_region(frame, colour)
            drawn = read_timestamp_ms(frame, region) if region else None
            if region and drawn is not None and now_ms() - drawn < 1000:
                return region
        assert time.monotonic() < deadline, "no steady picture and sound before the outage"
        await asyncio.sleep(0.2)


async def test_audio_goes_on_through_a_video_outage_and_the_video_comes_back(
    acme: TenantClient, net: Netem, turn: TurnServer, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    # Alice only counts what she gets (no decoding): what is measured is Bob's, and this process's
    # own stalls would be gaps in Alice's voice before it ever left.
    alice, link = await _behind(
        net, turn, acme, room, ALICE, PROFILES["good"], loud=True, max_height=360, decode=False
    )
    people.append(alice)
    people.append(
        bob := await _join(acme, room, BOB, TONES_HZ[1], loud=False, max_height=360, width=320, height=180)
    )
    tones = ToneLog.of(bob, TONES_HZ[0])
    await asyncio.gather(alice.wait_mcu_connected(30), bob.wait_mcu_connected(30))
    # Alice's link now drops her video (and everything else) in an outage, but never her audio.
    assert alice.pc is not None and alice.pc.localDescription is not None
    spare = Impairment(spare_payload_types=(opus_payload_type(alice.pc.localDescription.sdp),))
    await net.set(link.name, Profile(name="video-outage", up=spare, down=spare))
    region = await _steady(bob, tones, PALETTE[ALICE])
    await asyncio.sleep(2.5)  # what the mix sounds like on this machine without an outage

    before = await net.stats(link.name)
    await net.outage(link.name, 2.0)
    cut, cut_ms = time.monotonic(), now_ms()
    samples = await _sampled(bob, region, 6.0)
    after = await net.stats(link.name)

    # Bob heard Alice through her video outage: audio that stalled with the video would be silent
    # for the whole 2 s. (A clean-clone run once saw one 440 ms dropout in it, against none before:
    # not explained yet, so the bound is 0.6 s over the usual, not the 0.1 s a listener notices.)
    usual = tones.longest_silence(cut - 2.5, cut)
    silence = tones.longest_silence(cut, cut + 2.5)
    assert silence <= usual + 0.6, (
        f"Alice's voice dropped out for {silence * 1000:.0f} ms during her video outage "
        f"({usual * 1000:.0f} ms at most before it)"
    )
    # Her picture froze (the outage did cut it) and was live again within 3 s of the end.
    assert any(
        ms is not None and at - cut > 1.0 and (at - cut) * 1000 - (ms - cut_ms) > 1000 for at, ms in samples
    ), "Alice's tile never froze: the outage did not cut her video"
    back = next((at for at, ms in samples if ms is not None and ms >= cut_ms + 2000), None)
    assert back is not None, f"Alice's picture did not come back (last read: {samples[-3:]})"
    assert back - (cut + 2.0) <= 3.0, f"Alice's picture came back {back - cut - 2.0:.1f}s after the outage"
    # The outage dropped her video both ways and spared her audio (it crossed the link meanwhile).
    assert after.up.outage_dropped > before.up.outage_dropped
    # (At least a second's worth in the 6 s: a starved event loop sends her tone at half rate.)
    assert after.up.sent - before.up.sent > 50, "Alice's audio did not keep crossing her link"
    print(
        f"video back {back - cut - 2.0:.2f}s after a 2s video outage; "
        f"longest audio gap {silence * 1000:.0f} ms ({usual * 1000:.0f} ms before)"
    )


async def test_after_a_two_second_outage_picture_and_sound_come_back_both_ways(
    acme: TenantClient, net: Netem, turn: TurnServer, people: list[SyntheticParticipant]
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    alice, link = await _behind(net, turn, acme, room, ALICE, PROFILES["burst"], loud=True, max_height=360)
    people.append(alice)
    people.append(
        bob := await _join(acme, room, BOB, TONES_HZ[1], loud=True, max_height=360, width=320, height=180)
    )
    bob_hears = ToneLog.of(bob, TONES_HZ[0])
    alice_hears = ToneLog.of(alice, TONES_HZ[1])
    alice_sees = FrameLog.of(alice)
    await asyncio.gather(alice.wait_mcu_connected(30), bob.wait_mcu_connected(30))
    region = await _steady(bob, bob_hears, PALETTE[ALICE])

    await net.outage(link.name)  # the profile's: 2 s, both ways, everything
    cut, cut_ms = time.monotonic(), now_ms()
    end = cut + PROFILES["burst"].outage_s
    samples = await _sampled(bob, region, 8.0)
    stats = await net.stats(link.name)
    # (Fewer on a busy machine, whose participants send less: 19 and 14 seen.)
    assert stats.up.outage_dropped > 10 and stats.down.outage_dropped > 10, stats

    # Alice's camera and voice reach Bob again...
    back = next((at for at, ms in samples if ms is not None and ms >= cut_ms + 2000), None)
    repair = await _uplink_repair(acme.base_url)
    assert back is not None, f"Alice's picture did not come back (last read: {samples[-3:]}; {repair})"
    assert back - end <= 3.0, f"Alice's picture came back {back - end:.1f}s after the outage ({repair})"
    heard = bob_hears.first_heard(end)
    assert heard is not None and heard - end <= 1.0, "Bob did not hear Alice within 1 s of the outage's end"
    # ...and the room reaches Alice again: the composite at full rate, the mix with Bob's voice.
    resumed = alice_sees.between(end, end + 4)
    assert resumed and resumed[0][0] - end <= 3.0, "Alice's composite did not come back within 3 s"
    assert alice_sees.longest_gap(resumed[0][0], end + 4) < 1.0, "Alice's composite stalled again"
    back_heard = alice_hears.first_heard(end)
    assert back_heard is not None and back_heard - end <= 1.0, "Alice did not hear Bob within 1 s"
    print(
        f"after a 2s outage: Bob sees Alice {back - end:.2f}s, hears her {heard - end:.2f}s; "
        f"Alice sees the room {resumed[0][0] - end:.2f}s, hears Bob {back_heard - end:.2f}s"
    )
