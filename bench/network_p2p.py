"""The peer-to-peer cells of ``bench/network.py``: N aiortc peers in a full mesh, peer 0 impaired.

Every peer relays all its media through TURN over a link of its own
(``tests.support.network``); once media flows, peer 0's link gets the profile,
the others stay ``good``. Each pair has one peer connection at each end, signalled here in the
process; each connection sends its own camera (``ColourVideoTrack``, 640x360 at
15 fps, a timestamp drawn in) and tone, as a browser mesh encodes per
connection. Receivers use the project's jitter buffers, the ones the media node
uses on its uplinks (``release_frames_when_marked`` from ``podium.media.jitter``
for video, ``buffer_audio`` from ``podium.media.audio_jitter`` for audio).
Measured: what peer 0 receives (its downlink) and what the others receive from
peer 0 (its uplink); streams between two unimpaired peers are only counted,
never decoded, to spare the CPU.

These are aiortc's congestion control, jitter buffers and decoders, not a
browser's: read them as what Podium's Python stack does, not as what Chrome does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
)
from aiortc.mediastreams import MediaStreamTrack

from bench.network_measure import AudioLog, Probes, VideoLog
from podium.media.audio_jitter import buffer_audio
from podium.media.jitter import release_frames_when_marked
from tests.support.analysis import PALETTE, TONES_HZ
from tests.support.network import PROFILES, Netem
from tests.support.synthetic import count_frames_only
from tests.support.tracks import ColourVideoTrack, ToneAudioTrack
from tests.support.turn import TurnServer

__all__ = ["Mesh", "Stream", "mesh"]

_COLOURS = list(PALETTE.values())
_cells = itertools.count(1)
GOOD = PROFILES["good"]


@dataclass
class Stream:
    """One direction of one pair: what ``receiver`` gets from ``sender``."""

    sender: int
    receiver: int
    video: VideoLog
    audio: AudioLog = field(default_factory=AudioLog)


@dataclass
class Mesh:
    """A running mesh: the measured streams, and peer 0's link to impair."""

    link: str
    streams: list[Stream]
    connections: list[RTCPeerConnection]

    @property
    def downlink(self) -> list[Stream]:
        """What peer 0 receives."""
        return [s for s in self.streams if s.receiver == 0]

    @property
    def uplink(self) -> list[Stream]:
        """What the others receive from peer 0."""
        return [s for s in self.streams if s.sender == 0]

    async def wait_flowing(self, within_s: float) -> None:
        """Wait until every measured stream has decoded video and audio."""
        deadline = time.monotonic() + within_s
        while any(not (s.video.frames and s.audio.frames) for s in self.streams):
            if time.monotonic() > deadline:
                silent = [f"{s.sender}->{s.receiver}" for s in self.streams if not s.video.frames]
                raise RuntimeError(f"no media within {within_s}s on {silent}")
            await asyncio.sleep(0.2)


#: Where the streams nobody measures count their frames.
_IGNORED = AudioLog()


def _connection(ice: dict[str, Any]) -> RTCPeerConnection:
    server = RTCIceServer(urls=ice["urls"], username=ice["username"], credential=ice["credential"])
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[server], iceTransportPolicy=RTCIceTransportPolicy.RELAY)
    )


def _send(pc: RTCPeerConnection, peer: int) -> None:
    pc.addTrack(ToneAudioTrack(TONES_HZ[peer]))
    pc.addTrack(ColourVideoTrack(_COLOURS[peer], 640, 360, fps=15.0))


def _receive(pc: RTCPeerConnection, stream: Stream | None) -> Callable[[], None]:
    """Hook ``pc``'s receivers (call the result after its remote description, before media can
    flow): record ``stream``, else only count."""

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if stream is not None:
            (stream.video if track.kind == "video" else stream.audio).start(track)

    def hook() -> None:
        for transceiver in pc.getTransceivers():
            receiver = transceiver.receiver
            if stream is None:
                count_frames_only(receiver, _IGNORED)
            elif transceiver.kind == "video":
                release_frames_when_marked(receiver)
            else:
                buffer_audio(receiver)

    return hook


async def _pair(
    a: int, b: int, ice: list[dict[str, Any]], measured: Callable[[int, int], Stream | None]
) -> list[RTCPeerConnection]:
    """Connect peer ``a`` to peer ``b`` (a offers), each sending to the other."""
    pa, pb = _connection(ice[a]), _connection(ice[b])
    _send(pa, a)
    _send(pb, b)
    hook_a, hook_b = _receive(pa, measured(b, a)), _receive(pb, measured(a, b))
    await pa.setLocalDescription(await pa.createOffer())
    await pb.setRemoteDescription(pa.localDescription)
    hook_b()
    await pb.setLocalDescription(await pb.createAnswer())
    await pa.setRemoteDescription(pb.localDescription)
    hook_a()
    return [pa, pb]


@contextlib.asynccontextmanager
async def mesh(
    peers: int,
    turn: TurnServer,
    net: Netem,
    probes: Probes,
    latency_hz: float,
) -> AsyncIterator[Mesh]:
    """``peers`` peers in a full mesh, each through a ``good`` link of its own; the caller
    impairs peer 0's (``Mesh.link``) once media flows, so connecting is not what is measured."""
    cell = next(_cells)
    names = [f"p2p{cell}-{peer}" for peer in range(peers)]
    ice = []
    for name in names:
        link = await net.link(name, GOOD, ("127.0.0.1", turn.port))
        ice.append(turn.ice_server(name, port=link.port))
    streams: list[Stream] = []

    def measured(sender: int, receiver: int) -> Stream | None:
        if 0 not in (sender, receiver):
            return None
        stream = Stream(sender, receiver, video=VideoLog(probes, latency_hz))
        streams.append(stream)
        return stream

    connections: list[RTCPeerConnection] = []
    try:
        for a, b in itertools.combinations(range(peers), 2):
            connections += await _pair(a, b, ice, measured)
        yield Mesh(names[0], streams, connections)
        for stream in streams:
            await stream.video.drain()
    finally:
        for stream in streams:
            await stream.video.stop()
            await stream.audio.stop()
        for pc in connections:
            with contextlib.suppress(Exception):
                await pc.close()
