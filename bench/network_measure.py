"""What a receiver sees on a bad network (``bench/network.py``): freezes, concealed audio, latency, recovery.

The recorders log every frame as it comes out of the decoder (arrival time,
height, the audio's RTP time), and read the drawn timestamps
(``tests.support.analysis``) a few times a second for one-way latency. The
figures are computed afterwards over the measured window:

- a **freeze** is a gap of at least ``FREEZE_S`` between two decoded video frames
  (the window's edges count as frames, so a stream that stops is frozen to the end);
- **concealed audio** is the share of the window's playout that a simple adaptive
  playout buffer (``concealed_share``) fills with no frame: lost, late, stretched;
- **recovery** after an outage: seconds from its end to the first frame drawn after
  it began (a stale frame completed late by a retransmission does not count), and to
  the first audio frame.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import itertools
import math
import multiprocessing
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack
from numpy.typing import NDArray

from bench.mcu_load import percentile
from tests.support.analysis import locate_timestamps, rgb_to_yuv
from tests.support.synthetic import AUDIO_RATE, AudioRecorder, VideoRecorder
from tests.support.tracks import now_ms

__all__ = [
    "FREEZE_S",
    "HIGH_TIER",
    "PLAYOUT_SLACK_S",
    "AudioLog",
    "Figures",
    "Probes",
    "VideoLog",
    "concealed_share",
    "figures",
    "freezes",
]

#: No new frame for this long is a freeze (issue 15; WebRTC's own freeze metric uses 3 frame
#: intervals or 150 ms more than the average, whichever is longer: at 15 fps about 500 ms too).
FREEZE_S = 0.5
#: A playout buffer: a frame later than this behind the best path (below) is concealed.
PLAYOUT_SLACK_S = 0.1
#: ...of the best path seen over this many seconds.
PLAYOUT_MEMORY_S = 2.0
#: A playout delay larger than needed shrinks this much per second (audio played a little fast).
_SHRINK = 0.05
_FRAME_S = 0.02
#: Media time and the clock parting by more than this: the audio restarted (a new segment).
_RESYNC_S = 1.0
#: Frame height of the composite's high tier (its low tier is 360).
HIGH_TIER = 720
#: A watched tile's colour is this close (sum of |Y, Cb, Cr| differences) to the participant's.
_COLOUR_TOLERANCE = 45
#: While waiting for fresh video after an outage every frame is probed, this many at a time at most.
_MAX_PENDING = 6


class VideoLog(VideoRecorder):
    """Every decoded frame's arrival and height; drawn timestamps ``latency_hz`` times a second.

    ``watch``: also follow the tile of that colour (a participant in an MCU composite): the
    age of its timestamp at each probe, so a frozen tile shows though the composite moves.

    The timestamps are read in a worker process (``Probes``): read here, 10-20 ms of Python
    per 720p frame would stall this event loop, and aiortc timestamps packet arrivals there, so
    the receivers' delay-based bandwidth estimates would see congestion that is not there."""

    def __init__(
        self, probes: Probes, latency_hz: float = 2.0, watch: tuple[int, int, int] | None = None
    ) -> None:
        super().__init__(latency_hz=latency_hz)
        self.probes_pool = probes
        self.times: list[float] = []
        self.heights: list[int] = []
        self.watch = watch
        #: (arrival, ms since the watched tile's timestamp was drawn) at each probe that read it.
        self.watched: list[tuple[float, int]] = []
        #: (arrival, latencies) of each regular probe.
        self.probed: list[tuple[float, list[int]]] = []
        self._fresh_after_ms: int | None = None
        #: When the first frame drawn after ``expect_fresh``'s moment arrived.
        self.fresh_at: float | None = None
        self._pending: set[asyncio.Future[tuple[list[int], int | None]]] = set()

    def on_high_tier(self, for_s: float) -> bool:
        """Whether every frame of the last ``for_s`` seconds (and at least one) was 720p or taller."""
        since = time.monotonic() - for_s
        recent = [h for t, h in zip(reversed(self.times), reversed(self.heights), strict=True) if t >= since]
        return bool(recent) and min(recent) >= HIGH_TIER

    def expect_fresh(self, after_ms: int) -> None:
        """Probe every frame until one drawn after wall-clock ``after_ms`` (an outage's start) arrives."""
        self._fresh_after_ms, self.fresh_at = after_ms, None

    async def drain(self) -> None:
        """Wait for the probes still being read."""
        if self._pending:
            await asyncio.wait(self._pending)

    def _on_frame(self, frame: object) -> None:
        assert isinstance(frame, av.VideoFrame)
        at, received = time.monotonic(), now_ms()
        self.latest_frame = frame
        self.frames += 1
        self.arrivals.append(at)
        self.times.append(at)
        self.heights.append(frame.height)
        recovering = self._fresh_after_ms is not None and self.fresh_at is None
        regular = at - self._probed_at >= self._probe_every
        if not regular and not (recovering and len(self._pending) < _MAX_PENDING):
            return
        if regular:
            self._probed_at = at
            self.probes += 1
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        planes = np.asarray(frame.to_ndarray(), dtype=np.uint8)
        future = self.probes_pool.read(planes, frame.height, self.watch)
        self._pending.add(future)
        fresh_after = self._fresh_after_ms if recovering else None
        future.add_done_callback(lambda done: self._probed(done, at, received, regular, fresh_after))

    def _probed(
        self,
        done: asyncio.Future[tuple[list[int], int | None]],
        at: float,
        received: int,
        regular: bool,
        fresh_after_ms: int | None,
    ) -> None:
        self._pending.discard(done)
        if done.cancelled() or done.exception() is not None:
            return
        stamps, mine = done.result()
        if regular:
            latencies = [received - ms for ms in stamps]
            self.latencies_ms.extend(latencies)
            self.probed.append((at, latencies))
        if mine is not None and regular:  # not the frames probed back to back after an outage
            self.watched.append((at, received - mine))
        if fresh_after_ms is not None:
            candidates = [mine] if self.watch is not None else stamps
            if any(ms is not None and ms >= fresh_after_ms for ms in candidates):
                self.fresh_at = at if self.fresh_at is None else min(self.fresh_at, at)


class Probes:
    """A worker process that reads the timestamps drawn on frames (``tests.support.analysis``)."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn")
        )

    def read(
        self, planes: NDArray[np.uint8], height: int, watch: tuple[int, int, int] | None
    ) -> asyncio.Future[tuple[list[int], int | None]]:
        """The ms of every readable timestamp on a yuv420p frame, and of the tile of colour ``watch``."""
        return asyncio.get_running_loop().run_in_executor(self._pool, _read_stamps, planes, height, watch)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def _read_stamps(
    planes: NDArray[np.uint8], height: int, watch: tuple[int, int, int] | None
) -> tuple[list[int], int | None]:
    """(In the worker.) The stamps of a yuv420p frame, and the one on the tile of colour ``watch``:
    the picture right of that block is the colour."""
    stamps = locate_timestamps(planes[:height])
    if watch is None:
        return [s.ms for s in stamps], None
    width = planes.shape[1]
    chroma = planes[height:].reshape(2, height // 2, width // 2)
    want = np.array(rgb_to_yuv(watch), dtype=np.int32)
    for stamp in stamps:
        x, y = int(stamp.x + 21 * stamp.cell), int(stamp.y + 3 * stamp.cell)
        if y < height and x < width:
            seen = np.array(
                [planes[y, x], chroma[0, y // 2, x // 2], chroma[1, y // 2, x // 2]], dtype=np.int32
            )
            if int(np.abs(seen - want).sum()) < _COLOUR_TOLERANCE:
                return [s.ms for s in stamps], stamp.ms
    return [s.ms for s in stamps], None


class AudioLog(AudioRecorder):
    """Every decoded audio frame's arrival, and its media time (seconds) from its RTP timestamp.

    The timestamp is unwrapped here, the nearer way round: aiortc's own unwrapping takes any
    step back for a wrap (2^32 ticks on). A jump of more than ``_RESYNC_S`` against the clock
    starts a new segment (a new stream, as a playout buffer would resynchronise)."""

    def __init__(self, rate: int = AUDIO_RATE) -> None:
        super().__init__(keep_s=0.1, rate=rate)
        self.times: list[float] = []
        self.media_s: list[float] = []
        self.segments: list[int] = []
        #: Arrivals of frames whose timestamp was behind the one before (the sender's went back).
        self.stepped_back: list[float] = []
        self._last_ts: int | None = None
        #: Called when the track arrives, before its first packet can (to set up the receiver).
        self.on_track: Callable[[], None] | None = None

    def start(self, track: MediaStreamTrack) -> None:
        """Record ``track`` from now on."""
        if self.on_track is not None:
            self.on_track()
        super().start(track)

    def _on_frame(self, frame: object) -> None:
        assert isinstance(frame, av.AudioFrame)
        at = time.monotonic()
        ts = (frame.pts or 0) % (1 << 32)
        if self._last_ts is None:
            media, segment = 0.0, 0
        else:
            step = (ts - self._last_ts) % (1 << 32)
            step -= (1 << 32) if step >= 1 << 31 else 0
            if step < 0:
                self.stepped_back.append(at)
            media, segment = self.media_s[-1] + step / self.rate, self.segments[-1]
            if abs((media - self.media_s[-1]) - (at - self.times[-1])) > _RESYNC_S:
                segment += 1
        self._last_ts = ts
        self.times.append(at)
        self.media_s.append(media)
        self.segments.append(segment)
        self.frames += 1


@dataclass
class Figures:
    """One stream (or a receiver's composite) over the window."""

    fps: float
    freezes: int
    freeze_s: float
    window_s: float
    concealed: float
    latencies_ms: list[int]
    #: Seconds from the outage's end to fresh video / to audio (None: no outage, or not back).
    video_back_s: float | None = None
    audio_back_s: float | None = None
    #: Seconds from the impairment to the first frame of a lower tier (None: never dropped).
    to_low_s: float | None = None
    #: Share of the window's frames on the high tier (720 lines and up).
    high_share: float = math.nan
    #: Audio frames whose RTP timestamp went back, per minute.
    audio_steps_back_per_min: float = 0.0
    #: Share of probes in which the watched tile was at least ``FREEZE_S`` old (NaN: not watched).
    tile_stale: float = math.nan

    @property
    def freezes_per_min(self) -> float:
        return self.freezes * 60 / self.window_s if self.window_s else 0.0

    @property
    def freeze_share(self) -> float:
        """Frozen share of the time (freeze seconds per minute / 60)."""
        return self.freeze_s / self.window_s if self.window_s else 0.0


def freezes(times: Sequence[float], start: float, end: float) -> tuple[int, float]:
    """Freezes (count, seconds) in ``[start, end]``: gaps of at least ``FREEZE_S`` between frames."""
    edges = [start, *(t for t in times if start < t < end), end]
    gaps = [b - a for a, b in itertools.pairwise(edges) if b - a >= FREEZE_S]
    return len(gaps), sum(gaps)


def concealed_share(audio: AudioLog, start: float, end: float) -> float:
    """Share of the window's 20 ms of playout not filled by a frame, for a playout buffer that
    plays each frame at its media time plus a delay: at first ``PLAYOUT_SLACK_S`` over the best
    path of the last ``PLAYOUT_MEMORY_S``; a frame later than that is concealed, and the delay
    grows to fit it (the audio stretched meanwhile falls out of the window too); the delay
    shrinks back by ``_SHRINK`` per second while the path allows. A frame whose slot has played
    (its timestamp went back) adds nothing."""
    played: set[tuple[int, int]] = set()
    best: collections.deque[tuple[float, float]] = collections.deque()  # (arrival, offset), offsets rising
    delay: float | None = None
    segment, last = -1, 0.0
    for t, m, seg in zip(audio.times, audio.media_s, audio.segments, strict=True):
        if t < start - PLAYOUT_MEMORY_S:
            continue
        if t >= end:
            break
        if seg != segment:  # a new stream: the buffer starts over
            best.clear()
            segment, delay = seg, None
        offset = t - m
        while best and best[-1][1] >= offset:
            best.pop()
        best.append((t, offset))
        while best[0][0] < t - PLAYOUT_MEMORY_S:
            best.popleft()
        floor = best[0][1] + PLAYOUT_SLACK_S
        if delay is None:
            delay = floor
        elif offset > delay:
            delay = offset
            continue
        elif delay > floor:
            delay = max(floor, delay - _SHRINK * (t - last))
        last = t
        if start <= m + delay < end:
            played.add((seg, round(m / _FRAME_S)))
    due = max(1, round((end - start) / _FRAME_S))
    return 1 - min(len(played), due) / due


def figures(
    video: VideoLog,
    audio: AudioLog,
    start: float,
    end: float,
    outage: tuple[float, float] | None = None,
) -> Figures:
    """``video`` and ``audio`` over ``[start, end]``; ``outage``: (its start, its end), monotonic."""
    count, frozen = freezes(video.times, start, end)
    in_window = [(t, h) for t, h in zip(video.times, video.heights, strict=True) if start <= t <= end]
    latencies = [ms for at, found in video.probed if start <= at <= end for ms in found]
    stale = [age >= FREEZE_S * 1000 for at, age in video.watched if start <= at <= end]
    result = Figures(
        fps=len(in_window) / (end - start),
        freezes=count,
        freeze_s=frozen,
        window_s=end - start,
        concealed=concealed_share(audio, start, end),
        latencies_ms=latencies,
        to_low_s=next((t - start for t, h in in_window if h < HIGH_TIER), None),
        high_share=sum(h >= HIGH_TIER for _, h in in_window) / len(in_window) if in_window else math.nan,
        tile_stale=sum(stale) / len(stale) if stale else math.nan,
        audio_steps_back_per_min=sum(start <= t <= end for t in audio.stepped_back) * 60 / (end - start),
    )
    if outage is not None:
        _, back = outage
        result.video_back_s = None if video.fresh_at is None else max(0.0, video.fresh_at - back)
        result.audio_back_s = next((t - back for t in audio.times if t >= back), None)
    return result


def latency(values: Sequence[int], q: float) -> float:
    """Percentile ``q`` of latency samples (NaN when there are none)."""
    return percentile(sorted(values), q) if values else math.nan


def median(values: Sequence[float]) -> float:
    """The median, NaN for none (unmeasured, not zero)."""
    present = [v for v in values if not math.isnan(v)]
    return statistics.median(present) if present else math.nan
