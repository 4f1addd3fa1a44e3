"""Encode once, send to many: a ``Feed`` is one encoded stream, ``PacketTrack``s carry it to senders.

aiortc's ``RTCRtpSender`` packs pre-encoded ``av.Packet[Any]``s from its track without
encoding, so every receiver of a video tier (or of the shared audio mix) gets
the very same packets. A track that joins a video feed, or switches tier,
drops packets until the next keyframe (it asks the feed for one) so the
receiver's decoder never sees a delta frame without its reference.

Each packet is also split into RTP payloads once per feed (``Outgoing.packed``),
for the node's own send loop (``podium.media.sender``) to share between receivers.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any, Literal

import av
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, convert_timebase

__all__ = ["Codec", "Feed", "FrameTrack", "Outgoing", "PacketTrack"]

#: What a feed carries: a composite tier in either video codec, or a mix.
Codec = Literal["h264", "vp8", "opus"]
#: RTP payloads and the RTP timestamp (from 0) of one encoded packet.
Packed = tuple[list[bytes], int]

#: Packets a slow sender may fall behind before the oldest are dropped (≈ 0.5 s of video).
_BACKLOG = 24
#: Seconds over which a feed's rate is measured.
_RATE_WINDOW_S = 2.0
#: Opus's RTP clock.
_OPUS_CLOCK = Fraction(1, 48_000)


def _pack_opus(packet: av.Packet[Any]) -> Packed:
    assert packet.pts is not None
    assert packet.time_base is not None
    return [bytes(packet)], convert_timebase(packet.pts, packet.time_base, _OPUS_CLOCK)


def packer(codec: Codec) -> Callable[[av.Packet[Any]], Packed]:
    """RTP packetisation for ``codec`` (aiortc's own; a VP8 packer numbers the pictures it packs)."""
    if codec == "opus":
        return _pack_opus
    return (H264Encoder() if codec == "h264" else Vp8Encoder()).pack


class Outgoing:
    """One packet of a feed, as every follower gets it: split into RTP payloads at most once."""

    __slots__ = ("_pack", "_packed", "packet")

    def __init__(self, packet: av.Packet[Any], pack: Callable[[av.Packet[Any]], Packed]) -> None:
        self.packet = packet
        self._pack = pack
        self._packed: Packed | None = None

    def packed(self) -> Packed:
        # Senders take a feed's packets in order, so a VP8 feed's picture ids stay in order too.
        if self._packed is None:
            self._packed = self._pack(self.packet)
        return self._packed


class PacketTrack(MediaStreamTrack):
    """A track whose ``recv()`` returns the encoded packets of the feed it follows."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.feed: Feed | None = None
        self._packets: collections.deque[Outgoing] = collections.deque(maxlen=_BACKLOG)
        self._ready = asyncio.Event()
        self.awaiting_keyframe = kind == "video"

    def follow(self, feed: Feed | None) -> None:
        """Switch to ``feed`` (``None``: send nothing)."""
        if feed is self.feed:
            return
        if self.feed is not None:
            self.feed.tracks.discard(self)
            if self.kind == "audio":
                # A mix queued from the old feed may carry this listener's own voice.
                self._packets.clear()
        self.feed = feed
        if feed is not None:
            feed.tracks.add(self)
            if self.kind == "video":
                self.awaiting_keyframe = True
                feed.want_keyframe()

    def push(self, packet: Outgoing) -> None:
        if self.awaiting_keyframe:
            if not packet.packet.is_keyframe:
                return
            self.awaiting_keyframe = False
        if len(self._packets) == self._packets.maxlen and self.kind == "video":
            # Dropping a video packet breaks the chain: wait for a fresh keyframe instead.
            self._packets.clear()
            self.awaiting_keyframe = True
            if self.feed is not None:
                self.feed.want_keyframe()
            return
        self._packets.append(packet)
        self._ready.set()

    async def next_outgoing(self) -> Outgoing:
        while not self._packets:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._packets.popleft()

    async def recv(self) -> av.Packet[Any]:
        """For aiortc's own send loop (packing again per receiver)."""
        return (await self.next_outgoing()).packet

    def stop(self) -> None:
        self.follow(None)
        super().stop()
        self._ready.set()


class FrameTrack(MediaStreamTrack):
    """Raw frames for aiortc to encode (only the naive benchmark baseline uses this)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._frames: asyncio.Queue[av.VideoFrame | av.AudioFrame] = asyncio.Queue(maxsize=4)

    def push(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        if self._frames.full():
            self._frames.get_nowait()
        self._frames.put_nowait(frame)

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        return await self._frames.get()


class Feed:
    """One encoded stream (a video tier, an audio mix) and the tracks following it."""

    def __init__(self, name: str, codec: Codec, on_keyframe_wanted: Callable[[], None] | None = None) -> None:
        self.name = name
        self.codec = codec
        self._pack = packer(codec)
        self.tracks: set[PacketTrack] = set()
        self._on_keyframe_wanted = on_keyframe_wanted
        self.keyframe_requested_at = 0.0
        self.keyframe_pending = False
        #: Outputs that need a keyframe at least every so many seconds (HLS segments, seekable
        #: recordings), by output name; receivers alone get keyframes only when they ask.
        self.keyframe_every: dict[str, float] = {}
        self.keyframe_at = 0.0
        # (time, bytes) of recent packets, for the rate a receiver's estimate is held against.
        self._sent: collections.deque[tuple[float, int]] = collections.deque()

    def want_keyframe(self) -> None:
        """A receiver needs a keyframe (new, switched, or lost packets: PLI/FIR)."""
        self.keyframe_pending = True
        if self._on_keyframe_wanted is not None:
            self._on_keyframe_wanted()

    def take_keyframe_request(self, min_interval: float) -> bool:
        """Coalesce requests: at most one forced keyframe per ``min_interval`` seconds; and one
        whenever an output's ``keyframe_every`` has passed since the last."""
        now = time.monotonic()
        due = bool(self.keyframe_every) and now - self.keyframe_at >= min(self.keyframe_every.values())
        if not due and (not self.keyframe_pending or now - self.keyframe_requested_at < min_interval):
            return False
        self.keyframe_pending = False
        self.keyframe_requested_at = now
        return True

    def rate_bps(self) -> float | None:
        """Bits per second published over the last couple of seconds (None until it has run one)."""
        span = time.monotonic() - self._sent[0][0] if self._sent else 0.0
        if span < _RATE_WINDOW_S / 2:
            return None
        return 8 * sum(size for at, size in self._sent if at > self._sent[0][0]) / span

    def publish(self, packets: list[av.Packet[Any]]) -> None:
        now = time.monotonic()
        if any(packet.is_keyframe for packet in packets):
            self.keyframe_at = now
        self._sent.append((now, sum(packet.size for packet in packets)))
        while now - self._sent[0][0] > _RATE_WINDOW_S:
            self._sent.popleft()
        outgoing = [Outgoing(packet, self._pack) for packet in packets]
        for track in list(self.tracks):
            for packet in outgoing:
                track.push(packet)
