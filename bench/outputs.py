"""What recording and live streaming cost the media node, per room, in CPU.

Drives the real output classes (``media/recorder.py``, ``media/live.py``) with the real
encoded streams of an MCU room: a 720p composite of ``--tiles`` moving tiles encoded by
the room's ``TierEncoder`` in H.264 at 15 fps (as the node does for its receivers), and
the shared Opus mix every 20 ms, published through ``Feed``s exactly as ``RoomSession``
does. It measures, for ``--seconds`` each:

- the room's own composite, high-tier encode and mix (the baseline the outputs ride on),
  in H.264 and, for comparison, in VP8 (the codec the tiers used before);
- ``record``: the CPU the recorder spends muxing MP4 (on the event loop);
- ``live``: the live stream muxing the room's own H.264 packets to HLS and RTMP, with its
  one Opus-to-AAC transcode (its thread and the RTMP thread), the RTMP push going to
  ``--rtmp`` (e.g. a local nginx) if given;
- ``live_transcode``: the same outputs in the earlier design, where live encoded the
  canvas a second time (an H.264 encode of its own, counted here); both run ``--repeat``
  times, alternately, and medians are reported.

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
import queue
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.realtime import machine, versions
from podium.media.compositor import Compositor, TileInput
from podium.media.encoder import TIERS, TierEncoder
from podium.media.fanout import Feed
from podium.media.live import LiveStream
from podium.media.mixer import FRAME_SAMPLES, OpusStream
from podium.media.recorder import Recorder

FPS = 15


def _tiles(count: int, tick: int) -> list[TileInput]:

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

    def __init__(self, tiles: int, codec: Literal["h264", "vp8"] = "h264") -> None:
        spec = TIERS[0]
        self.compositor = Compositor()
        self.encoder = TierEncoder.from_spec(spec, FPS, codec=codec)
        self.opus = OpusStream()
        self.video = Feed(f"video-high-{codec}", codec)
        self.audio = Feed("audio-mix", "opus")
        self.tiles = tiles
        self.room_cpu = 0.0
        #: Bench-only: each composite canvas and its pts, for the earlier live design.
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
                # As RoomSession: a keyframe when asked, here only by the outputs' clock.
                keyframe = self.video.take_keyframe_request(0.5) or tick == 0
                packets = self.encoder.encode(canvas, pts, keyframe=keyframe)
                self.room_cpu += time.thread_time() - before
                self.video.publish(packets)
                for tap in self.canvas_taps:
                    tap(canvas, pts)
                tick += 1
                next_video += 1 / FPS
            await asyncio.sleep(max(0.0, min(next_audio, next_video) - loop.time()))


class TranscodingLive(LiveStream):
    """The earlier design, for comparison: live encodes the room's canvas a second time (its own
    H.264 encoder, in its own thread) instead of muxing the room's packets."""

    def __init__(self, room: Room) -> None:
        super().__init__(Feed("video-live", "h264"), room.audio, lambda *a: None)
        self.video_feed.keyframe_every["live"] = 2.0
        self.encoder = TierEncoder("live", 1280, 720, 1_500_000, FPS, codec="h264")
        self.encode_cpu = 0.0
        self._canvases: queue.Queue[Any] = queue.Queue(maxsize=30)
        self._encoding = threading.Thread(target=self._encode_canvases, daemon=True)
        self._encoding.start()
        room.canvas_taps.append(lambda canvas, pts: self._canvases.put_nowait((canvas, pts)))

    def _encode_canvases(self) -> None:
        while (item := self._canvases.get()) is not None:
            canvas, pts = item
            keyframe = self.video_feed.take_keyframe_request(0.5)
            packets = self.encoder.encode(canvas, pts, keyframe=keyframe)
            self.encode_cpu = time.thread_time()
            self._loop.call_soon_threadsafe(self.video_feed.publish, packets)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        super().start()

    def stop(self) -> None:
        self._canvases.put(None)
        self._encoding.join(timeout=5)
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

    # The room alone (the outputs follow its feeds; nothing else does here), in both codecs.
    for codec in ("h264", "vp8"):
        room = Room(args.tiles, codec)
        await room.run(args.seconds)
        results[f"room_cores_{codec}"] = room.room_cpu / args.seconds
    results["room_cores"] = results["room_cores_h264"]

    room = Room(args.tiles)
    recorder = TimedRecorder(folder / "bench.mp4", room.video, room.audio, lambda m: None)
    recorder.start()
    await room.run(args.seconds)
    recorder.detach()
    recorder.stop()
    results["record_cores"] = TimedRecorder.cpu / args.seconds
    results["record_mb_per_min"] = recorder.path.stat().st_size / 1e6 * 60 / args.seconds

    # Live as the media node runs it (muxing the room's packets), then the earlier design
    # (a second encode of the canvas), alternately, so both see the same machine.
    for _ in range(args.repeat):
        for name in ("live", "live_transcode"):
            room = Room(args.tiles)
            live: LiveStream
            if name == "live":
                live = LiveStream(room.video, room.audio, lambda *a: None)
                room.video.keyframe_every["live"] = 2.0
            else:
                live = TranscodingLive(room)
            live.start()
            live.add_hls("hls", folder / f"hls-{name}")
            if args.rtmp:
                live.add_rtmp("rtmp", args.rtmp)
            await room.run(args.seconds)
            pushes = sum(push.cpu_seconds for push in live.rtmp.values())
            encode = live.encode_cpu if isinstance(live, TranscodingLive) else 0.0
            runs.setdefault(f"{name}_cores", []).append(
                (live.stats["thread_seconds"] + pushes + encode) / args.seconds
            )
            runs.setdefault(f"{name}_rtmp_cores", []).append(pushes / args.seconds)
            runs.setdefault(f"{name}_audio_cores", []).append(live.stats["encode_seconds"] / args.seconds)
            live.detach()
            await asyncio.to_thread(live.stop)
            segments = sorted((folder / f"hls-{name}").glob("*.ts"))
            runs.setdefault(f"{name}_hls_segments", []).append(len(segments))
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
    for name in ("record", "live", "live_transcode"):
        cores = results[f"{name}_cores"]
        of_pipeline = cores / results["room_cores"]
        of_room = cores / args.room_cores
        print(
            f"{name}: {cores:.4f} cores = {of_pipeline:.1%} of the room's composite+encode+mix, "
            f"{of_room:.1%} of a 20-person MCU room's media node ({args.room_cores} cores)"
        )
    rooms = 2 * 0.8 / (args.room_cores + results["record_cores"])
    print(f"recorded 20-person MCU rooms per 2-core machine (80% of it usable): {rooms:.1f}")
    ratio = results["live_cores"] / results["live_transcode_cores"]
    print(f"live muxing the room's packets / live encoding again (medians): {ratio:.2f}")
    tiers = results["room_cores_h264"] / results["room_cores_vp8"]
    print(f"the room's composite + high tier + mix in H.264 / in VP8: {tiers:.2f}")


if __name__ == "__main__":
    main()
