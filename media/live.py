"""Live streaming: the composite once as H.264 + AAC, muxed to HLS and pushed to RTMP services.

Browsers play HLS only as H.264 (or HEVC) with AAC, and RTMP/FLV carries H.264 + AAC, so
live outputs need the composite in other codecs than the VP8/Opus the MCU sends. A
``LiveEncoder`` encodes **once per room**, however many outputs: it takes the composite
canvas itself from the room (``RoomSession.canvas_taps``: no VP8 decode, and no VP8 tier
kept encoding for it) and the shared mix like a receiver, and encodes H.264 (x264
``ultrafast``/``zerolatency``, a keyframe every 2 s) and AAC in its own thread, then hands
the packets to every output: the HLS muxer (≈2 s segments, a live
playlist) in that thread, each RTMP destination in a thread of its own so a slow or
failing service holds up nothing else. A destination that fails is retried with
back-off and reported; the others and the room go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.codec.context import Flags
from av.video.frame import PictureType

from podium.media.encoder import VIDEO_TIME_BASE
from podium.media.fanout import Feed
from podium.media.recorder import FeedTap
from podium.media.timeline import StreamClock
from podium.media.yuv import plane_array

__all__ = ["HLS_SEGMENT_SECONDS", "LiveEncoder", "OutputState"]

log = logging.getLogger(__name__)

FPS = 15
HLS_SEGMENT_SECONDS = 2
#: Segments the live playlist lists (and keeps on disk).
HLS_LIST_SIZE = 6
VIDEO_BITRATE = 1_500_000
AUDIO_BITRATE = 96_000
_MS = Fraction(1, 1000)
_SAMPLES = Fraction(1, 48_000)
#: Input the encoder thread may fall behind by (≈ 2 s of both streams).
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


class _Encoders:
    """The H.264 and AAC encoders, as streams of a container that writes nothing (templates for muxers)."""

    def __init__(self, width: int, height: int) -> None:
        self.container = av.open(os.devnull, "w", format="null")
        video = self.container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        ctx = video.codec_context
        ctx.time_base = _MS
        # Keyframes come by the clock (every segment), not by frame count: the composite's frame
        # rate dips on a busy machine, and a segment can only end on a keyframe.
        ctx.gop_size = FPS * HLS_SEGMENT_SECONDS * 10
        ctx.bit_rate = VIDEO_BITRATE
        ctx.thread_count = 1
        # FLV and MP4-style muxers want SPS/PPS as extradata; MPEG-TS wants them in-band too.
        ctx.flags |= Flags.global_header
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "forced-idr": "1",
            "x264-params": f"repeat-headers=1:scenecut=0"
            f":vbv-maxrate={VIDEO_BITRATE // 1000}:vbv-bufsize={VIDEO_BITRATE // 1000}",
        }
        audio = self.container.add_stream("aac", rate=48_000)
        audio.layout = "mono"
        audio.codec_context.bit_rate = AUDIO_BITRATE
        audio.codec_context.flags |= Flags.global_header
        ctx.open()
        audio.codec_context.open()
        # Copies the opened encoders' parameters (extradata: SPS/PPS, AudioSpecificConfig) into
        # the streams, which is what output streams made from them as templates start from.
        self.container.start_encoding()
        self.video, self.audio = video, audio
        self.width, self.height = width, height
        self.opus = av.CodecContext.create("opus", "r")
        self.resampler = av.AudioResampler(format="fltp", layout="mono", rate=48_000, frame_size=1024)
        self.audio_pts: int | None = None
        self.next_keyframe = 0.0

    def video_packets(self, canvas: av.VideoFrame, seconds: float) -> list[av.Packet[Any]]:
        # The canvas is shared with the room's tier encoders: encode a copy of our own, since
        # pts and picture type are set per encode.
        frame = canvas.reformat(width=self.width, height=self.height, format="yuv420p")
        if frame is canvas:
            frame = _own_copy(canvas)
        frame.pts, frame.time_base = round(seconds * 1000), _MS
        keyframe = seconds >= self.next_keyframe
        if keyframe:
            self.next_keyframe = (seconds // HLS_SEGMENT_SECONDS + 1) * HLS_SEGMENT_SECONDS
        frame.pict_type = PictureType.I if keyframe else PictureType.NONE
        return list(self.video.codec_context.encode(frame))

    def audio_packets(self, data: bytes, seconds: float) -> list[av.Packet[Any]]:
        out: list[av.Packet[Any]] = []
        at = round(seconds * 48_000)
        if self.audio_pts is None or at - self.audio_pts > 4_800:
            self.audio_pts = at  # the first packet, or a gap of over 100 ms: leave the gap
        for decoded in self.opus.decode(av.Packet(data)):
            assert isinstance(decoded, av.AudioFrame)
            decoded.pts = None
            for frame in self.resampler.resample(decoded):
                frame.pts, frame.time_base = self.audio_pts, _SAMPLES
                self.audio_pts += frame.samples
                out.extend(self.audio.codec_context.encode(frame))
        return out


def _own_copy(frame: av.VideoFrame) -> av.VideoFrame:
    copy = av.VideoFrame(frame.width, frame.height, "yuv420p")
    for index in range(3):
        plane_array(copy, index)[...] = plane_array(frame, index)
    return copy


class _Muxer:
    """One output container fed with the encoders' packets (templates give it their extradata)."""

    def __init__(self, encoders: _Encoders, target: str, format: str, **open_args: Any) -> None:
        self.container = av.open(target, "w", format=format, **open_args)
        self.video = self.container.add_stream_from_template(encoders.video)
        self.audio = self.container.add_stream_from_template(encoders.audio)
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

    def __init__(self, name: str, url: str, encoders: _Encoders, report: OutputState) -> None:
        self.name = name
        self.url = url
        self.encoders = encoders
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
        while not self._stopping.is_set():
            try:
                muxer = _Muxer(self.encoders, self.url, "flv", timeout=(10.0, 10.0))
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


class LiveEncoder:
    """One room's composite as H.264/AAC, shared by its HLS output and RTMP destinations."""

    def __init__(self, audio: Feed, width: int, height: int, report: OutputState) -> None:
        self.audio_feed = audio
        self.width, self.height = width, height
        self.report = report
        self.hls: tuple[str, _Muxer | None, Path] | None = None
        self.rtmp: dict[str, _RtmpPush] = {}
        self.encoders: _Encoders | None = None
        #: ``encode_seconds``: decode+encode CPU; ``thread_seconds``: the encoder thread's whole CPU
        #: (HLS muxing included); each RTMP push keeps its own ``cpu_seconds``.
        self.stats = {"video_frames": 0, "encode_seconds": 0.0, "thread_seconds": 0.0}
        self._input: queue.Queue[Any] = queue.Queue(maxsize=_INPUT_BACKLOG)
        self._audio_tap = FeedTap("audio", self._on_audio)
        self._clocks: tuple[StreamClock, StreamClock] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def outputs(self) -> set[str]:
        with self._lock:
            return set(self.rtmp) | ({self.hls[0]} if self.hls else set())

    def start(self) -> None:
        self.encoders = _Encoders(self.width, self.height)
        self._thread = threading.Thread(target=self._run, name="live-encoder", daemon=True)
        self._thread.start()
        self._audio_tap.follow(self.audio_feed)

    def add_hls(self, name: str, directory: Path) -> None:
        """Write a live playlist ``index.m3u8`` and its segments into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self.hls = (name, None, directory)
        self.report(name, "active", "")

    def add_rtmp(self, name: str, url: str) -> None:
        assert self.encoders is not None
        push = _RtmpPush(name, url, self.encoders, self.report)
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

    def stop(self) -> None:
        """Stop every output and the encoder thread (take ``on_canvas`` off the room first)."""
        self._audio_tap.stop()
        for name in list(self.outputs):
            self.remove(name)
        self._input.put((_STOP, b"", 0.0))
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ---- event loop side: the taps ---------------------------------------------------------------------

    def on_canvas(self, canvas: av.VideoFrame, pts: int) -> None:
        """A composite the room just drew, ``pts`` on its 90 kHz clock (the event loop calls this)."""
        if self._clocks is None:
            origin = time.monotonic()
            self._clocks = (StreamClock(origin, VIDEO_TIME_BASE), StreamClock(origin, _SAMPLES))
        self._enqueue("video", canvas, self._clocks[0].place(pts))

    def _on_audio(self, packet: av.Packet[Any]) -> None:
        if self._clocks is not None and packet.pts is not None:
            self._enqueue("audio", bytes(packet), self._clocks[1].place(packet.pts))

    def _enqueue(self, kind: str, data: Any, seconds: float) -> None:
        try:
            self._input.put_nowait((kind, data, seconds))
        except queue.Full:
            # The encoder fell seconds behind (an overloaded machine): start again from now.
            log.warning("live encoder behind; dropping its backlog")
            with contextlib.suppress(queue.Empty):
                while True:
                    self._input.get_nowait()

    # ---- encoder thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        encoders = self.encoders
        assert encoders is not None
        while True:
            kind, data, seconds = self._input.get()
            if kind is _STOP:
                break
            if kind == "close":
                data.close()
                continue
            started = time.thread_time()
            try:
                packets = self._encode(encoders, kind, data, seconds)
            except av.FFmpegError as exc:
                log.warning("live transcode: %s", exc)
                continue
            self.stats["encode_seconds"] += time.thread_time() - started
            for packet in packets:
                self._deliver("video" if kind == "video" else "audio", packet)
            self.stats["thread_seconds"] = time.thread_time()
        with self._lock:
            hls = self.hls
        if hls is not None and hls[1] is not None:
            hls[1].close()

    def _encode(self, encoders: _Encoders, kind: str, data: Any, seconds: float) -> list[av.Packet[Any]]:
        if kind == "video":
            self.stats["video_frames"] += 1
            return encoders.video_packets(data, seconds)
        return encoders.audio_packets(data, seconds)

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
        assert self.encoders is not None
        return _Muxer(
            self.encoders,
            str(directory / "index.m3u8"),
            "hls",
            options={
                "hls_time": str(HLS_SEGMENT_SECONDS),
                "hls_list_size": str(HLS_LIST_SIZE),
                # temp_file: a segment appears under its name only once complete.
                "hls_flags": "delete_segments+independent_segments+temp_file",
                "hls_segment_filename": str(directory / "segment-%06d.ts"),
            },
        )
