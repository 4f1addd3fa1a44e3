"""Compositor and tier-encoder benchmark: CPU per composite frame, and per second of an MCU room.

Every participant sends 640x360 video (a textured, moving picture) and every
composite gets a new frame from every tile: the worst case, since the compositor
redraws only tiles whose frame changed. For 9 and 16 tiles it reports, per
frame, the CPU time of this process (all its threads, so swscale's or libvpx's
helpers count, and other programs on a shared machine do not) as median and p95,
and the wall-clock median:

- ``compose``: ``Compositor.compose`` (reused scalers, preallocated canvas);
- ``naive``: the same picture drawn without reuse: ``frame.reformat`` per tile
  per frame (a new scaler each time), ``to_ndarray`` per tile, a freshly
  allocated canvas, ``VideoFrame.from_ndarray``;
- ``compose, idle``: nothing changed since the last composite (muted or frozen
  cameras): only the canvas snapshot;
- ``encode high`` / ``encode low``: ``TierEncoder.encode`` per tier in H.264 (x264, the
  codec the node prefers) and in VP8 (libvpx), the low tier including the scale of the
  720p canvas down, with each encode's PSNR against its input; and the high tier in VP8
  again at cpu-used 8, where libvpx picks its own speed, against the fixed speed (-8).

and the total CPU milliseconds one room costs per second at ``--fps``.

    python bench/compositor.py                 # 200 frames, 15 fps
    python bench/compositor.py --frames 500

Run it with the project's virtualenv (``.venv/bin/python``), where ``podium`` is installed.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import av
import numpy as np

from podium.media.compositor import Compositor, TileInput
from podium.media.encoder import CODECS, TIERS, TierEncoder
from podium.media.labels import TileArt, blend_label
from podium.media.layout import LayoutRequest, grid

#: A positive cpu-used (libvpx picks its speed from a share of the frame time), for comparison.
AUTO_CPU_USED = 8
#: Distinct pictures per participant, cycled so each composite gets new frame objects.
POOL = 6


@dataclass
class Timing:
    """Per-frame CPU (median, p95, mean) and wall-clock (median) milliseconds."""

    cpu_median: float
    cpu_p95: float
    cpu_mean: float
    wall_median: float


def measure(step: Callable[[int], object], frames: int) -> Timing:
    """Run ``step(i)`` for ``frames`` frames after a short warm-up and time each call."""
    for i in range(5):
        step(i)
    cpu: list[float] = []
    wall: list[float] = []
    for i in range(frames):
        c0, w0 = time.process_time(), time.perf_counter()
        step(i)
        cpu.append((time.process_time() - c0) * 1e3)
        wall.append((time.perf_counter() - w0) * 1e3)
    cpu_sorted = sorted(cpu)
    return Timing(
        cpu_median=statistics.median(cpu),
        cpu_p95=cpu_sorted[int(len(cpu) * 0.95)],
        cpu_mean=statistics.fmean(cpu),
        wall_median=statistics.median(wall),
    )


def camera_pool(index: int) -> list[av.VideoFrame]:
    """``POOL`` frames of one participant: a tinted gradient with grain, panning sideways."""
    rng = np.random.default_rng(index)
    ys, xs = np.mgrid[0:360, 0:640]
    tint = rng.integers(40, 220, 3)
    base = np.stack(
        [(xs * 255 // 640 + tint[0]) % 256, (ys * 255 // 360 + tint[1]) % 256, (xs + ys + tint[2]) % 256], -1
    )
    base = np.clip(base + rng.integers(-10, 10, base.shape), 0, 255).astype(np.uint8)
    return [
        av.VideoFrame.from_ndarray(np.roll(base, shift * 6, axis=1), format="rgb24").reformat(
            format="yuv420p"
        )
        for shift in range(POOL)
    ]


def tiles_at(pools: Sequence[list[av.VideoFrame]], i: int) -> list[TileInput]:
    return [
        TileInput(f"p{n}", f"Participant {n}", pool[(i + n) % POOL], speaking=n == (i // 30) % len(pools))
        for n, pool in enumerate(pools)
    ]


class NaiveCompositor:
    """The same picture as ``Compositor`` without reuse: the alternative the design rules out."""

    def __init__(self, width: int = 1280, height: int = 720) -> None:
        self.width, self.height = width, height
        # The same pre-rendered labels, so only scaling and buffers differ.
        self.art = TileArt()

    def compose(self, tiles: Sequence[TileInput]) -> av.VideoFrame:
        """Draw every tile from scratch into a new canvas."""
        w, h = self.width, self.height
        canvas = np.full((h * 3 // 2, w), 128, dtype=np.uint8)
        canvas[:h] = 16
        # A packed I420 array: the chroma planes are (h/2, w/2) blocks stored one after the other.
        y, u, v = (
            canvas[:h],
            canvas[h : h + h // 4].reshape(h // 2, w // 2),
            canvas[h + h // 4 :].reshape(h // 2, w // 2),
        )
        rects = grid(LayoutRequest([t.participant_id for t in tiles], None, w, h))
        for rect, tile in zip(rects, tiles, strict=True):
            assert tile.frame is not None
            scaled = tile.frame.reformat(rect.w, rect.h, "yuv420p", interpolation="AREA", threads=1)
            pixels = scaled.to_ndarray()
            chroma = pixels[rect.h :].reshape(2, rect.h // 2, rect.w // 2)
            y[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = pixels[: rect.h]
            cy, cx = rect.y // 2, rect.x // 2
            u[cy : cy + rect.h // 2, cx : cx + rect.w // 2] = chroma[0]
            v[cy : cy + rect.h // 2, cx : cx + rect.w // 2] = chroma[1]
            label = self.art.label(tile.name, rect.w, rect.h)
            if label is not None:
                blend_label(y, u, v, rect, label)
        return av.VideoFrame.from_ndarray(canvas, format="yuv420p")


def quality(encoder: TierEncoder, canvases: Sequence[av.VideoFrame], fps: int) -> float:
    """Mean luma PSNR (dB) of a fresh run of ``encoder``'s settings over ``canvases``, decoded back."""
    spec = next(spec for spec in TIERS if spec.name == encoder.name)
    fresh = TierEncoder.from_spec(spec, fps, codec=encoder.codec_name)
    decoder = av.CodecContext.create("h264" if encoder.codec_name == "h264" else "libvpx", "r")
    scores = []
    for i, canvas in enumerate([*canvases, *canvases]):
        source = canvas.reformat(encoder.width, encoder.height, "yuv420p", interpolation="AREA")
        for packet in fresh.encode(canvas, pts=i * 90_000 // fps, keyframe=i == 0):
            for decoded in decoder.decode(packet):
                assert isinstance(decoded, av.VideoFrame)
                a = source.to_ndarray()[: encoder.height].astype(np.float64)
                b = decoded.to_ndarray()[: encoder.height].astype(np.float64)
                scores.append(10 * np.log10(255**2 / max(1e-9, float(np.mean((a - b) ** 2)))))
    return float(np.mean(scores[len(canvases) :]))  # after the first pass: rate control settled


def row(label: str, timing: Timing) -> str:
    return (
        f"  {label:<25} cpu median {timing.cpu_median:6.2f} ms   p95 {timing.cpu_p95:6.2f} ms"
        f"   wall median {timing.wall_median:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200, help="frames measured per case")
    parser.add_argument("--fps", type=int, default=15, help="composite frame rate for the per-second total")
    args = parser.parse_args()
    frames: int = args.frames
    fps: int = args.fps
    print(f"compositor bench: {frames} frames per case, 640x360 inputs, 1280x720 canvas, {fps} fps")
    print(f"  {platform.processor() or platform.machine()}, PyAV {av.__version__}\n")
    all_pools = [camera_pool(n) for n in range(16)]
    for count in (9, 16):
        bench_room(all_pools[:count], frames, fps)


def bench_room(pools: Sequence[list[av.VideoFrame]], frames: int, fps: int) -> None:
    """Measure and print one room size."""
    compositor = Compositor()
    naive = NaiveCompositor()
    composed = measure(lambda i: compositor.compose(tiles_at(pools, i)), frames)
    naive_t = measure(lambda i: naive.compose(tiles_at(pools, i)), frames)
    still = tiles_at(pools, 0)
    idle = measure(lambda i: compositor.compose(still), frames)
    canvases = [compositor.compose(tiles_at(pools, i)) for i in range(POOL * 5)]

    def encoding(encoder: TierEncoder) -> tuple[Timing, float]:
        timing = measure(lambda i: encoder.encode(canvases[i % len(canvases)], pts=i * 90_000 // fps), frames)
        return timing, quality(encoder, canvases, fps)

    print(f"{len(pools)} tiles")
    print(row("compose", composed))
    print(row("naive (no reuse)", naive_t) + f"   x{naive_t.cpu_mean / composed.cpu_mean:.2f} compose")
    print(row("compose, idle", idle))
    per_codec: dict[str, float] = {}
    for codec in CODECS:
        encoded = [encoding(TierEncoder.from_spec(spec, fps=fps, codec=codec)) for spec in TIERS]
        for spec, (timing, psnr) in zip(TIERS, encoded, strict=True):
            print(row(f"encode {spec.name} {codec}", timing) + f"   PSNR {psnr:.1f} dB")
        per_codec[codec] = sum(timing.cpu_mean for timing, _ in encoded)
    # libvpx's own speed pick (positive cpu-used), for comparison with the fixed speed we use.
    auto, _ = encoding(TierEncoder.from_spec(TIERS[0], fps=fps, cpu_used=AUTO_CPU_USED))
    print(row(f"encode high vp8, cpu-used {AUTO_CPU_USED}", auto))
    print(f"  both tiers, H.264 / VP8 CPU: {per_codec['h264'] / per_codec['vp8']:.2f}")
    encode_ms = per_codec[CODECS[0]]
    print(
        f"  CPU per composite second at {fps} fps, {CODECS[0]}:"
        f" {(composed.cpu_mean + encode_ms) * fps:.0f} ms"
        f" (compose {composed.cpu_mean * fps:.0f} + encode {encode_ms * fps:.0f});"
        f" with the naive compose: {(naive_t.cpu_mean + encode_ms) * fps:.0f} ms\n"
    )


if __name__ == "__main__":
    main()
