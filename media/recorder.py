"""Recording: the composite's own H.264 packets and the mix's Opus packets, muxed into MP4 as they come.

A ``Recorder`` follows the room's high H.264 feed and the shared audio mix the way a
receiver does (so the tier keeps encoding while only the recording watches it) and
writes their packets into a fragmented MP4: muxing only, no second encode. While it
runs the feed makes a keyframe every two seconds, so the finished file seeks well.

Durability: the MP4 muxer starts with an empty ``moov`` and writes a self-contained
fragment (``moof`` + ``mdat``) every second, flushed at once, so if the media node dies
the file on disk plays up to its last complete fragment (about a second before the
end). The recording job later remuxes it into a plain MP4 with the index in front
(fast start). A write error (disk full, permissions) stops the recording and is
reported through ``on_failed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from podium.media.encoder import h264_template
from podium.media.fanout import Feed, Outgoing, PacketTrack
from podium.media.timeline import StreamClock

__all__ = ["FRAGMENT_MS", "FeedTap", "Recorder"]

log = logging.getLogger(__name__)

#: MP4 fragment length in ms: about the most a crash loses.
FRAGMENT_MS = 1000
_MS = 1000
_TIME_BASE = Fraction(1, _MS)


class FeedTap(PacketTrack):
    """An output following a feed like a receiver, handed each packet at once (from a keyframe on)."""

    def __init__(self, kind: str, on_packet: Callable[[av.Packet[Any]], None]) -> None:
        super().__init__(kind)
        self.on_packet = on_packet

    def push(self, packet: Outgoing) -> None:
        if self.awaiting_keyframe:
            if not packet.packet.is_keyframe:
                return
            self.awaiting_keyframe = False
        self.on_packet(packet.packet)


def copy_packet(packet: av.Packet[Any], pts: int, time_base: Any) -> av.Packet[Any]:
    """A private copy to mux: the original is shared with every RTP sender, which reads its pts."""
    copy = av.Packet(bytes(packet))
    copy.pts = copy.dts = pts
    copy.time_base = time_base
    copy.is_keyframe = packet.is_keyframe
    return copy


class Recorder:
    """Writes one room's composite (H.264) and mix (Opus) to ``path`` (fragmented MP4) until ``stop()``."""

    def __init__(self, path: Path, video: Feed, audio: Feed, on_failed: Callable[[str], None]) -> None:
        self.path = path
        self.video_feed = video
        self.audio_feed = audio
        self.on_failed = on_failed
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
        """Create the file and follow the feeds; the file starts at the next keyframe."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("wb"):
            pass  # an unwritable path fails here, before anyone is told it is recording
        self._video_tap.follow(self.video_feed)
        self._audio_tap.follow(self.audio_feed)

    def _open(self, keyframe: av.Packet[Any]) -> None:
        """The container, once the first keyframe gives the video's parameters (SPS/PPS)."""
        container = av.open(
            str(self.path),
            "w",
            format="mp4",
            options={
                "movflags": "frag_keyframe+empty_moov+default_base_moof",
                "frag_duration": str(FRAGMENT_MS * 1000),
                "flush_packets": "1",
            },
        )
        video = container.add_stream_from_template(h264_template(bytes(keyframe)))
        audio = container.add_stream("libopus", rate=48_000)
        audio.layout = "mono"
        self._container, self._video_stream, self._audio_stream = container, video, audio

    @property
    def bytes_written(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def _on_video(self, packet: av.Packet[Any]) -> None:
        if self._video_clock is None:
            try:
                self._open(packet)
            except (OSError, ValueError, av.FFmpegError) as exc:
                self._fail(f"could not write the recording: {exc}")
                return
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
        self.detach()
        self._close(quiet=True)
        self.on_failed(message)

    def detach(self) -> None:
        """Stop following the feeds (on the event loop, which publishes to them)."""
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
        """Finish the file (``detach`` first); raises on a write error."""
        self.detach()
        try:
            self._close(quiet=False)
        except (OSError, av.FFmpegError) as exc:
            self.error = f"could not finish the recording: {exc}"
            raise
