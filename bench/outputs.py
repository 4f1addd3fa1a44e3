"""What recording and live streaming cost the media node, per room, in CPU.

Drives the real output classes (``media/recorder.py``, ``media/live.py``) with the real
encoded streams of an MCU room: a 720p composite of ``--tiles`` moving tiles encoded by
the room's ``TierEncoder`` at 15 fps, and the shared Opus mix every 20 ms, published
through ``Feed``s exactly as ``RoomSession`` does. It measures, for ``--seconds`` each:

- the room's own composite encode and mix (the baseline the outputs ride on),
- ``record``: the CPU the recorder spends muxing (on the event loop),
- ``live``: the CPU of the one H.264/AAC encode of the room's canvas and its HLS and RTMP
  muxing (its thread and the RTMP thread), with the RTMP push going to ``--rtmp`` (e.g. a
  local nginx) if given;
- ``live_decode``: the same for the earlier design, which decoded the 720p VP8 tier back to
  pictures first; both run ``--repeat`` times, alternately, and medians are reported.

The end-to-end figure (the media node's whole CPU with and without outputs, 20 aiortc
participants) comes from ``bench/mcu.py --variants mcu record live``; this one isolates the
outputs so the ratio can be read on a machine too busy for the end-to-end run.

    python bench/outputs.py --seconds 20
    python bench/outputs.py --seconds 20 --rtmp rtmp://127.0.0.1:1935/live/bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.realtime import machine, versions
from podium.media.compositor import Compositor, TileInput
from podium.media.encoder import TIERS, TierEncoder
from podium.media.fanout import Feed
from podium.media.live import LiveEncoder, _Encoders
from podium.media.mixer import FRAME_SAMPLES, OpusStream
from podium.media.recorder import FeedTap, Recorder
from podium.media.timeline import StreamClock

FPS = 15


def _tiles(count: int, tick: int) -> list[TileInput]:
    import av

    tiles = []
    for index in range(count):
        shade = (tick * 3 + index * 25) % 200 + 30
        frame = av.VideoFrame.from_ndarray(
            np.full((180, 320, 3), (shade, 255 - shade, (index * 40) % 255), np.uint8), format="rgb24"
        ).reformat(format="yuv420p")
        tiles.append(TileInput(participant_id=f"p{index}", name=f"P{index}", frame=frame))
    return tiles


class Room:
    """The encoded streams of one MCU room: the high tier and the shared mix, into feeds."""

    def __init__(self, tiles: int) -> None:
        spec = TIERS[0]
        self.compositor = Compositor()
        self.encoder = TierEncoder.from_spec(spec, FPS)
        self.opus = OpusStream()
        self.video = Feed("video-high")
        self.audio = Feed("audio-mix")
        self.tiles = tiles
        self.room_cpu = 0.0
        #: As ``RoomSession.canvas_taps``: each composite canvas and its pts.
        self.canvas_taps: list[Callable[[Any, int], None]] = []

    async def run(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Tiles change every tick in a real room; pre-rendering a few keeps this bench's own cost out.
        frames = [_tiles(self.tiles, tick) for tick in range(8)]
        audio_pts = 0
        tone = (np.sin(np.arange(FRAME_SAMPLES) / 48_000 * 2 * np.pi * 440) * 6000).astype(np.int16)
        next_video = next_audio = started
        tick = 0
        while loop.time() - started < seconds:
            now = loop.time()
            if now >= next_audio:
                before = time.thread_time()
                packets = self.opus.encode(tone, audio_pts)
                self.room_cpu += time.thread_time() - before
                self.audio.publish(packets)
                audio_pts += FRAME_SAMPLES
                next_audio += FRAME_SAMPLES / 48_000
            if now >= next_video:
                before = time.thread_time()
                canvas = self.compositor.compose(frames[tick % len(frames)])
                pts = int((now - started) * 90_000)
                packets = self.encoder.encode(canvas, pts, keyframe=tick == 0)
                self.room_cpu += time.thread_time() - before
                self.video.publish(packets)
                for tap in self.canvas_taps:
                    tap(canvas, pts)
                tick += 1
                next_video += 1 / FPS
            await asyncio.sleep(max(0.0, min(next_audio, next_video) - loop.time()))


class DecodingLiveEncoder(LiveEncoder):
    """The earlier design, for comparison: follow the high tier like a receiver and decode its
    VP8 back to pictures in the encoder thread before the H.264 encode."""

    def __init__(self, video: Feed, *args: Any) -> None:
        super().__init__(*args)
        self.vp8 = av.CodecContext.create("vp8", "r")
        self._video_tap = FeedTap("video", self._on_packet)
        self._video_tap.follow(video)

    def _on_packet(self, packet: Any) -> None:
        if self._clocks is None:
            origin = time.monotonic()
            self._clocks = (StreamClock(origin, packet.time_base), StreamClock(origin, Fraction(1, 48_000)))
        self._enqueue("video", bytes(packet), self._clocks[0].place(packet.pts))

    def _encode(self, encoders: _Encoders, kind: str, data: Any, seconds: float) -> list[Any]:
        if kind != "video":
            return super()._encode(encoders, kind, data, seconds)
        out: list[Any] = []
        for frame in self.vp8.decode(av.Packet(data)):
            out.extend(super()._encode(encoders, kind, frame, seconds))
        return out

    def stop(self) -> None:
        self._video_tap.stop()
        super().stop()


class TimedRecorder(Recorder):
    """A recorder that adds up the CPU its packet handling takes (it runs on the event loop)."""

    cpu = 0.0

    def _write(self, stream: Any, clock: Any, packet: Any) -> None:
        before = time.thread_time()
        super()._write(stream, clock, packet)
        TimedRecorder.cpu += time.thread_time() - before


async def measure(args: argparse.Namespace) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="podium-outputs-bench-"))
    results: dict[str, float] = {}
    runs: dict[str, list[float]] = {}

    # The room alone (the outputs follow its feeds; nothing else does here).
    room = Room(args.tiles)
    await room.run(args.seconds)
    results["room_cores"] = room.room_cpu / args.seconds

    room = Room(args.tiles)
    recorder = TimedRecorder(folder / "bench.webm", room.video, room.audio, 1280, 720, lambda m: None)
    recorder.start()
    await room.run(args.seconds)
    recorder.stop()
    results["record_cores"] = TimedRecorder.cpu / args.seconds
    results["record_mb_per_min"] = recorder.path.stat().st_size / 1e6 * 60 / args.seconds

    # The live encoder as the media node runs it (the room's canvas), then the earlier design
    # (decode the high tier's VP8 back to pictures), alternately, so both see the same machine.
    for _ in range(args.repeat):
        for name in ("live", "live_decode"):
            room = Room(args.tiles)
            live: LiveEncoder
            if name == "live":
                live = LiveEncoder(room.audio, 1280, 720, lambda *a: None)
                room.canvas_taps.append(live.on_canvas)
            else:
                live = DecodingLiveEncoder(room.video, room.audio, 1280, 720, lambda *a: None)
            live.start()
            live.add_hls("hls", folder / f"hls-{name}")
            if args.rtmp:
                live.add_rtmp("rtmp", args.rtmp)
            await room.run(args.seconds)
            pushes = sum(push.cpu_seconds for push in live.rtmp.values())
            runs.setdefault(f"{name}_cores", []).append(
                (live.stats["thread_seconds"] + pushes) / args.seconds
            )
            runs.setdefault(f"{name}_rtmp_cores", []).append(pushes / args.seconds)
            runs.setdefault(f"{name}_encode_ms_per_frame", []).append(
                live.stats["encode_seconds"] * 1000 / max(1, live.stats["video_frames"])
            )
            await asyncio.to_thread(live.stop)
    results.update({key: statistics.median(values) for key, values in runs.items()})
    results["threads_left"] = threading.active_count()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--tiles", type=int, default=9, help="visible tiles on the composite (last-N is 9)")
    parser.add_argument("--rtmp", help="also push the live stream here (rtmp://…)")
    parser.add_argument("--repeat", type=int, default=3, help="live runs of each design (medians)")
    parser.add_argument(
        "--room-cores",
        type=float,
        default=0.32,
        help="the whole media node's cores for the room without outputs (bench/mcu.py, N=20: 0.32)",
    )
    args = parser.parse_args()
    results = asyncio.run(measure(args))
    print(f"machine: {machine()}\nsoftware: {versions()}")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}, indent=2))
    for name in ("record", "live", "live_decode"):
        cores = results[f"{name}_cores"]
        of_pipeline = cores / results["room_cores"]
        of_room = cores / args.room_cores
        print(
            f"{name}: {cores:.4f} cores = {of_pipeline:.1%} of the room's composite+encode+mix, "
            f"{of_room:.1%} of a 20-person MCU room's media node ({args.room_cores} cores)"
        )
    rooms = 2 * 0.8 / (args.room_cores + results["record_cores"])
    print(f"recorded 20-person MCU rooms per 2-core machine (80% of it usable): {rooms:.1f}")
    ratio = results["live_cores"] / results["live_decode_cores"]
    print(f"live from the canvas / live decoding VP8 (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
