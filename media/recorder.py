"""Recording: the composite's own VP8 packets and the mix's Opus packets, muxed into WebM as they come.

A ``Recorder`` follows the room's high video tier and the shared audio mix the way a
receiver does (so the tier keeps encoding while only the recording watches it) and
writes their packets into a WebM file: muxing only, no second encode. WebM, because
VP8 and Opus are its native codecs and every browser plays it; MP4 with VP8 is not
something players agree on, and re-encoding to H.264 would cost what the MCU saves.

Durability: the Matroska muxer writes one cluster per second (``cluster_time_limit``)
and flushes after every packet, so if the media node dies the file on disk plays up
to its last complete cluster (about one second before the end). A write error (disk
full, permissions) stops the recording and is reported through ``on_failed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from podium.media.fanout import Feed, PacketTrack
from podium.media.timeline import StreamClock

__all__ = ["FeedTap", "Recorder"]

log = logging.getLogger(__name__)

#: Matroska cluster length in ms: the most a crash loses.
CLUSTER_MS = 1000
_MS = 1000
_TIME_BASE = Fraction(1, _MS)


class FeedTap(PacketTrack):
    """An output following a feed like a receiver, handed each packet at once (from a keyframe on)."""

    def __init__(self, kind: str, on_packet: Callable[[av.Packet[Any]], None]) -> None:
        super().__init__(kind)
        self.on_packet = on_packet

    def push(self, packet: av.Packet[Any]) -> None:
        if self.awaiting_keyframe:
            if not packet.is_keyframe:
                return
            self.awaiting_keyframe = False
        self.on_packet(packet)


def copy_packet(packet: av.Packet[Any], pts: int, time_base: Any) -> av.Packet[Any]:
    """A private copy to mux: the original is shared with every RTP sender, which reads its pts."""
    copy = av.Packet(bytes(packet))
    copy.pts = copy.dts = pts
    copy.time_base = time_base
    copy.is_keyframe = packet.is_keyframe
    return copy


class Recorder:
    """Writes one room's composite and mix to ``path`` (WebM) until ``stop()``."""

    def __init__(
        self,
        path: Path,
        video: Feed,
        audio: Feed,
        width: int,
        height: int,
        on_failed: Callable[[str], None],
    ) -> None:
        self.path = path
        self.video_feed = video
        self.audio_feed = audio
        self.on_failed = on_failed
        self.width = width
        self.height = height
        self.error: str | None = None
        self.started_at: float | None = None
        self.seconds = 0.0
        self._container: Any = None
        self._video_stream: Any = None
        self._audio_stream: Any = None
        self._video_clock: StreamClock | None = None
        self._audio_clock: StreamClock | None = None
        self._video_tap = FeedTap("video", self._on_video)
        self._audio_tap = FeedTap("audio", self._on_audio)

    def start(self) -> None:
        """Open the file and follow the feeds; the file starts at the next keyframe."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(
            str(self.path),
            "w",
            format="webm",
            options={"cluster_time_limit": str(CLUSTER_MS), "flush_packets": "1"},
        )
        video = container.add_stream("libvpx", rate=15)
        video.width, video.height, video.pix_fmt = self.width, self.height, "yuv420p"
        audio = container.add_stream("libopus", rate=48_000)
        audio.layout = "mono"
        self._container, self._video_stream, self._audio_stream = container, video, audio
        self._video_tap.follow(self.video_feed)
        self._audio_tap.follow(self.audio_feed)

    @property
    def bytes_written(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def _on_video(self, packet: av.Packet[Any]) -> None:
        if self._video_clock is None:
            # The file's time zero is its first keyframe; audio from before it is dropped.
            self.started_at = time.monotonic()
            self._video_clock = StreamClock(self.started_at, packet.time_base)
            self._audio_clock = StreamClock(self.started_at, Fraction(1, 48_000))
        self._write(self._video_stream, self._video_clock, packet)

    def _on_audio(self, packet: av.Packet[Any]) -> None:
        if self._audio_clock is not None:
            self._write(self._audio_stream, self._audio_clock, packet)

    def _write(self, stream: Any, clock: StreamClock, packet: av.Packet[Any]) -> None:
        if self._container is None or packet.pts is None:
            return
        seconds = clock.place(packet.pts)
        copy = copy_packet(packet, round(seconds * _MS), _TIME_BASE)
        copy.stream = stream
        try:
            self._container.mux(copy)
        except (OSError, av.FFmpegError) as exc:
            self._fail(f"could not write the recording: {exc}")
            return
        self.seconds = max(self.seconds, seconds)

    def _fail(self, message: str) -> None:
        log.error("recording %s failed: %s", self.path, message)
        self.error = message
        self._detach()
        self._close(quiet=True)
        self.on_failed(message)

    def _detach(self) -> None:
        self._video_tap.stop()
        self._audio_tap.stop()

    def _close(self, quiet: bool) -> None:
        container, self._container = self._container, None
        if container is None:
            return
        try:
            container.close()
        except (OSError, av.FFmpegError) as exc:
            if not quiet:
                raise
            log.warning("closing %s: %s", self.path, exc)

    def stop(self) -> None:
        """Stop following the feeds and finish the file (cues, duration); raises on a write error."""
        self._detach()
        try:
            self._close(quiet=False)
        except (OSError, av.FFmpegError) as exc:
            self.error = f"could not finish the recording: {exc}"
            raise
