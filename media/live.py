"""Live streaming: the composite's own H.264 packets, muxed to HLS and pushed to RTMP services.

Browsers play HLS as H.264 (or HEVC) with AAC, and RTMP/FLV carries H.264 + AAC. The
room already encodes its composite in H.264 for its receivers (``encoder.CODECS``), so a
``LiveStream`` follows the room's high H.264 feed like a receiver does and muxes those
very packets: no video decode or encode. Only the audio is transcoded (the shared Opus
mix to AAC, ~1 % of a core), once per room however many outputs. While it runs, the feed
makes a keyframe at least every ``HLS_SEGMENT_SECONDS`` (a segment, and an RTMP viewer
joining, can only start on one). Muxing runs in the stream's own thread: the HLS muxer
(≈2 s segments, a live playlist) there, each RTMP destination in a thread of its own so
a slow or failing service holds up nothing else. A destination that fails is retried
with back-off and reported; the others and the room go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from podium.media.aac import AacFrames, add_aac_stream
from podium.media.encoder import VIDEO_TIME_BASE, h264_template
from podium.media.fanout import Feed
from podium.media.recorder import FeedTap
from podium.media.timeline import StreamClock

__all__ = ["HLS_SEGMENT_SECONDS", "LiveStream", "OutputState"]

log = logging.getLogger(__name__)

HLS_SEGMENT_SECONDS = 2
#: Segments the live playlist lists (and keeps on disk).
HLS_LIST_SIZE = 6
_MS = Fraction(1, 1000)
_SAMPLES = Fraction(1, 48_000)
#: Input the muxing thread may fall behind by (≈ 2 s of both streams).
_INPUT_BACKLOG = 150
#: Encoded packets an RTMP destination may fall behind by before it starts over at a keyframe.
_OUTPUT_BACKLOG = 300
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0)
_STOP = object()

#: ``(output, state, message)``: state is ``active`` | ``retrying`` | ``failed`` | ``stopped``.
OutputState = Callable[[str, str, str], None]


def _copy(packet: av.Packet[Any]) -> av.Packet[Any]:
    """Muxing takes a packet's data; each output gets its own copy."""
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
    copy.is_keyframe = packet.is_keyframe
    return copy


class _Codecs:
    """The AAC encoder (a stream of a container that writes nothing) and the video's template."""

    def __init__(self) -> None:
        self.container = av.open(os.devnull, "w", format="null")
        audio = add_aac_stream(self.container)
        audio.codec_context.open()
        # Copies the opened encoder's parameters (extradata: the AudioSpecificConfig) into the
        # stream, which output streams made from it as a template start from.
        self.container.start_encoding()
        self.audio = audio
        #: Set from the first keyframe; muxers open once it is.
        self.video: Any = None
        self.ready = threading.Event()
        self.opus = av.CodecContext.create("opus", "r")
        self.aac = AacFrames()

    def learn_video(self, keyframe: bytes) -> None:
        self.video = h264_template(keyframe)
        self.ready.set()

    def audio_packets(self, data: bytes, seconds: float) -> list[av.Packet[Any]]:
        out: list[av.Packet[Any]] = []
        for decoded in self.opus.decode(av.Packet(data)):
            assert isinstance(decoded, av.AudioFrame)
            for frame in self.aac.frames(decoded, round(seconds * 48_000)):
                out.extend(self.audio.codec_context.encode(frame))
        return out


class _Muxer:
    """One output container fed with the encoders' packets (templates give it their extradata)."""

    def __init__(self, codecs: _Codecs, target: str, format: str, **open_args: Any) -> None:
        self.container = av.open(target, "w", format=format, **open_args)
        self.video = self.container.add_stream_from_template(codecs.video)
        self.audio = self.container.add_stream_from_template(codecs.audio)
        self.keyframe_seen = False

    def write(self, kind: str, packet: av.Packet[Any]) -> None:
        if kind == "video" and packet.is_keyframe:
            self.keyframe_seen = True
        if not self.keyframe_seen:
            return  # every output starts at a keyframe, audio included, so players start in sync
        packet.stream = self.video if kind == "video" else self.audio
        self.container.mux(packet)

    def close(self) -> None:
        with contextlib.suppress(OSError, av.FFmpegError):
            self.container.close()


class _RtmpPush:
    """One RTMP destination in its own thread: connects, pushes, reconnects with back-off."""

    def __init__(self, name: str, url: str, codecs: _Codecs, report: OutputState) -> None:
        self.name = name
        self.url = url
        self.codecs = codecs
        self.report = report
        self.packets: queue.Queue[Any] = queue.Queue(maxsize=_OUTPUT_BACKLOG)
        self.failures = 0
        self.cpu_seconds = 0.0
        self.thread = threading.Thread(target=self._run, name=f"rtmp-{name}", daemon=True)
        self._stopping = threading.Event()

    def start(self) -> None:
        self.thread.start()

    def send(self, kind: str, packet: av.Packet[Any]) -> None:
        try:
            self.packets.put_nowait((kind, packet))
        except queue.Full:
            # Behind by seconds (a slow link): start over from the next keyframe rather than lag.
            with contextlib.suppress(queue.Empty):
                while True:
                    self.packets.get_nowait()
            self.packets.put_nowait(("restart", None))

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self.packets.put_nowait((_STOP, None))

    def _run(self) -> None:
        while not self.codecs.ready.wait(1.0):  # the muxer's header needs the first keyframe
            if self._stopping.is_set():
                return
        while not self._stopping.is_set():
            try:
                muxer = _Muxer(self.codecs, self.url, "flv", timeout=(10.0, 10.0))
            except (OSError, av.FFmpegError) as exc:
                self._retry(f"could not connect: {exc}")
                continue
            self.report(self.name, "active", "")
            try:
                self._pump(muxer)
            except (OSError, av.FFmpegError) as exc:
                muxer.close()
                self._retry(f"the connection failed: {exc}")
                continue
            muxer.close()
            return

    def _pump(self, muxer: _Muxer) -> None:
        while True:
            kind, packet = self.packets.get()
            if kind is _STOP:
                return
            if kind == "restart":
                muxer.keyframe_seen = False
                continue
            muxer.write(kind, packet)
            self.failures = 0
            self.cpu_seconds = time.thread_time()

    def _retry(self, message: str) -> None:
        delay = RETRY_DELAYS[min(self.failures, len(RETRY_DELAYS) - 1)]
        self.failures += 1
        log.warning("rtmp output %s: %s; retrying in %.0fs", self.name, message, delay)
        self.report(self.name, "retrying", message)
        self._stopping.wait(delay)
        with contextlib.suppress(queue.Empty):
            while True:  # what queued while we were away is stale
                kind, _ = self.packets.get_nowait()
                if kind is _STOP:
                    self._stopping.set()


class LiveStream:
    """One room's composite and mix as H.264/AAC, shared by its HLS output and RTMP destinations."""

    def __init__(self, video: Feed, audio: Feed, report: OutputState) -> None:
        self.video_feed = video
        self.audio_feed = audio
        self.report = report
        self.hls: tuple[str, _Muxer | None, Path] | None = None
        self.rtmp: dict[str, _RtmpPush] = {}
        self.codecs: _Codecs | None = None
        #: ``encode_seconds``: the audio transcode's CPU; ``thread_seconds``: the muxing thread's
        #: whole CPU (HLS muxing included); each RTMP push keeps its own ``cpu_seconds``.
        self.stats = {"video_packets": 0, "encode_seconds": 0.0, "thread_seconds": 0.0}
        self._input: queue.Queue[Any] = queue.Queue(maxsize=_INPUT_BACKLOG)
        self._video_tap = FeedTap("video", self._on_video)
        self._audio_tap = FeedTap("audio", self._on_audio)
        self._clocks: tuple[StreamClock, StreamClock] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def outputs(self) -> set[str]:
        with self._lock:
            return set(self.rtmp) | ({self.hls[0]} if self.hls else set())

    def start(self) -> None:
        self.codecs = _Codecs()
        self._thread = threading.Thread(target=self._run, name="live-stream", daemon=True)
        self._thread.start()
        self._video_tap.follow(self.video_feed)
        self._audio_tap.follow(self.audio_feed)

    def add_hls(self, name: str, directory: Path) -> None:
        """Write a live playlist ``index.m3u8`` and its segments into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self.hls = (name, None, directory)
        self.report(name, "active", "")

    def add_rtmp(self, name: str, url: str) -> None:
        assert self.codecs is not None
        push = _RtmpPush(name, url, self.codecs, self.report)
        with self._lock:
            self.rtmp[name] = push
        push.start()

    def remove(self, name: str) -> bool:
        """Stop one output; ``False`` if there is none by that name."""
        with self._lock:
            push = self.rtmp.pop(name, None)
            hls = self.hls if self.hls and self.hls[0] == name else None
            if hls:
                self.hls = None
        if push is not None:
            push.stop()
        if hls is not None and hls[1] is not None:
            self._input.put(("close", hls[1], 0.0))
        if push is None and hls is None:
            return False
        self.report(name, "stopped", "")
        return True

    def detach(self) -> None:
        """Stop following the room's feeds (on the event loop, which publishes to them)."""
        self._video_tap.stop()
        self._audio_tap.stop()

    def stop(self) -> None:
        """Stop every output and the muxing thread (``detach`` first)."""
        for name in list(self.outputs):
            self.remove(name)
        self._input.put((_STOP, b"", 0.0))
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ---- event loop side: the taps ---------------------------------------------------------------------

    def _on_video(self, packet: av.Packet[Any]) -> None:
        if packet.pts is None:
            return
        if self._clocks is None:
            # Time zero is the first keyframe (the tap starts there); audio before it is dropped.
            origin = time.monotonic()
            self._clocks = (StreamClock(origin, VIDEO_TIME_BASE), StreamClock(origin, _SAMPLES))
        self._enqueue("video", _Video(bytes(packet), packet.is_keyframe), self._clocks[0].place(packet.pts))

    def _on_audio(self, packet: av.Packet[Any]) -> None:
        if self._clocks is not None and packet.pts is not None:
            self._enqueue("audio", bytes(packet), self._clocks[1].place(packet.pts))

    def _enqueue(self, kind: str, data: Any, seconds: float) -> None:
        try:
            self._input.put_nowait((kind, data, seconds))
        except queue.Full:
            # The thread fell seconds behind (an overloaded machine): start again from now.
            log.warning("live stream behind; dropping its backlog")
            with contextlib.suppress(queue.Empty):
                while True:
                    self._input.get_nowait()
            self._input.put_nowait(("restart", None, 0.0))

    # ---- muxing thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        codecs = self.codecs
        assert codecs is not None
        waiting_keyframe = False
        while True:
            kind, data, seconds = self._input.get()
            if kind is _STOP:
                break
            if kind == "close":
                data.close()
                continue
            if kind == "restart":
                waiting_keyframe = True  # a dropped backlog broke the chain of video frames
                continue
            if kind == "video":
                if waiting_keyframe and not data.keyframe:
                    continue
                waiting_keyframe = False
                try:
                    packets = [self._video_packet(codecs, data, seconds)]
                except (ValueError, av.FFmpegError) as exc:  # a first keyframe without SPS/PPS
                    log.warning("live video: %s", exc)
                    waiting_keyframe = True
                    continue
            else:
                started = time.thread_time()
                try:
                    packets = codecs.audio_packets(data, seconds)
                except av.FFmpegError as exc:
                    log.warning("live audio transcode: %s", exc)
                    continue
                self.stats["encode_seconds"] += time.thread_time() - started
            if codecs.video is not None:
                for packet in packets:
                    self._deliver(kind, packet)
            self.stats["thread_seconds"] = time.thread_time()
        with self._lock:
            hls = self.hls
        if hls is not None and hls[1] is not None:
            hls[1].close()

    def _video_packet(self, codecs: _Codecs, video: _Video, seconds: float) -> av.Packet[Any]:
        if codecs.video is None:
            codecs.learn_video(video.data)  # the tap starts at a keyframe
        self.stats["video_packets"] += 1
        packet = av.Packet(video.data)
        packet.pts = packet.dts = round(seconds * 1000)
        packet.time_base = _MS
        packet.is_keyframe = video.keyframe
        return packet

    def _deliver(self, kind: str, packet: av.Packet[Any]) -> None:
        with self._lock:
            hls = self.hls
            pushes = list(self.rtmp.values())
        for push in pushes:
            push.send(kind, _copy(packet))
        if hls is None:
            return
        name, muxer, directory = hls
        try:
            if muxer is None:
                muxer = self._open_hls(directory)
                with self._lock:
                    if self.hls is not None and self.hls[0] == name:
                        self.hls = (name, muxer, directory)
            muxer.write(kind, packet)
        except (OSError, av.FFmpegError) as exc:
            log.error("hls output %s failed: %s", name, exc)
            with self._lock:
                self.hls = None
            if muxer is not None:
                muxer.close()
            self.report(name, "failed", f"could not write the HLS stream: {exc}")

    def _open_hls(self, directory: Path) -> _Muxer:
        assert self.codecs is not None
        playlist = directory / "index.m3u8"
        # temp_file: a segment appears under its name only once complete. append_list: a stream
        # resumed on a new media node continues its playlist (numbering on, a discontinuity tag).
        flags = "delete_segments+independent_segments+temp_file"
        if playlist.exists():
            flags += "+append_list"
        return _Muxer(
            self.codecs,
            str(playlist),
            "hls",
            options={
                "hls_time": str(HLS_SEGMENT_SECONDS),
                "hls_list_size": str(HLS_LIST_SIZE),
                "hls_flags": flags,
                "hls_segment_filename": str(directory / "segment-%06d.ts"),
            },
        )


@dataclass(frozen=True, slots=True)
class _Video:
    """One H.264 access unit (Annex B) on its way to the muxing thread."""

    data: bytes
    keyframe: bool
