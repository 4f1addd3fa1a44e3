"""What a synthetic participant sends: a colour with a timestamp drawn in, and a tone.

``ColourVideoTrack`` is raw video for aiortc to encode (VP8, as a browser camera).
``ToneAudioTrack`` is a sine at its own frequency, as raw audio, or (``encoded``) as
Opus packets encoded once per amplitude and looped: a tone of a whole number of hertz
repeats every second, and a load generator of many participants then spends nothing
on encoding audio (aiortc's own Opus encode and level metering cost ~0.2 ms a packet).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from typing import Any

import av
import numpy as np
from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from numpy.typing import NDArray

from tests.support.analysis import BLOCK_CELLS, draw_timestamp, rgb_to_yuv

__all__ = [
    "AUDIO_RATE",
    "DEFAULT_AMPLITUDE",
    "DTX_EVERY",
    "VIDEO_CLOCK",
    "ColourVideoTrack",
    "ToneAudioTrack",
    "now_ms",
    "send_levels",
]

#: A loud participant's tone: -12 dBFS, clearly the dominant speaker, far from clipping in a mix of three.
DEFAULT_AMPLITUDE = 0.25
VIDEO_CLOCK = 90_000
#: While silent with DTX, one 20 ms packet in this many (a browser's Opus: every 400 ms).
DTX_EVERY = 20
AUDIO_RATE = 48_000


def now_ms() -> int:
    """Wall-clock milliseconds, the clock the drawn timestamps use."""
    return time.time_ns() // 1_000_000


class _Pacer:
    """A drift-free schedule of ``period`` seconds; after a stall longer than ``max_lag`` it skips ahead."""

    def __init__(self, period: float, max_lag: float) -> None:
        self.period = period
        self.max_lag = max_lag
        self.start: float | None = None
        self.next_at = 0.0

    async def wait(self) -> float:
        """Sleep until the next tick; return seconds since the first tick."""
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = self.next_at = loop.time()
        else:
            self.next_at += self.period
            lag = loop.time() - self.next_at
            if lag > self.max_lag:
                self.next_at += math.ceil(lag / self.period) * self.period
            await asyncio.sleep(max(0.0, self.next_at - loop.time()))
        return self.next_at - self.start


# ---- what a synthetic participant sends ------------------------------------------------------------------


class ColourVideoTrack(MediaStreamTrack):
    """Solid-colour yuv420p video with the capture time drawn as a timestamp block (top-left)."""

    kind = "video"

    def __init__(
        self, colour: tuple[int, int, int], width: int = 640, height: int = 360, fps: float = 15.0
    ) -> None:
        super().__init__()
        if width % 2 or height % 2:
            raise ValueError("yuv420p needs an even width and height")
        self.colour = colour
        self.width = width
        self.height = height
        self.fps = fps
        #: 16 px cells at 360 lines, in proportion otherwise; even, so the block's chroma is exact.
        self.cell = max(2, 2 * round(8 * height / 360))
        cols, rows = BLOCK_CELLS
        if (cols + 2) * self.cell > width or (rows + 2) * self.cell > height:
            raise ValueError(f"{width}x{height} is too small for the timestamp block")
        self._template = self._make_template()
        self._pacer = _Pacer(1 / fps, max_lag=2 / fps)
        self._resumed = asyncio.Event()
        self._resumed.set()
        self.frames_sent = 0

    def _make_template(self) -> NDArray[np.uint8]:
        y, cb, cr = rgb_to_yuv(self.colour)
        w, h, c = self.width, self.height, self.cell
        planes = np.empty((h * 3 // 2, w), dtype=np.uint8)
        planes[:h] = y
        chroma = planes[h:].reshape(2, h // 2, w // 2)
        chroma[0], chroma[1] = cb, cr
        cols, rows = BLOCK_CELLS
        # Neutral chroma under the block: black and white cells, not dark and light shades of the colour.
        chroma[:, c // 2 : (c + rows * c) // 2, c // 2 : (c + cols * c) // 2] = 128
        return planes

    def render(self, ms: int) -> av.VideoFrame:
        """The frame for wall-clock time ``ms`` (no pacing, no pts)."""
        planes = self._template.copy()
        draw_timestamp(planes[: self.height], ms, self.cell, self.cell, self.cell)
        return av.VideoFrame.from_ndarray(planes, format="yuv420p")

    @property
    def paused(self) -> bool:
        """True while the MCU does not show this camera (``media.visible`` false): nothing is sent."""
        return not self._resumed.is_set()

    def pause(self) -> None:
        """Stop sending (the MCU does not show us)."""
        self._resumed.clear()

    def resume(self) -> None:
        """Send again."""
        self._resumed.set()

    async def recv(self) -> av.VideoFrame:
        """The next frame, at ``fps``; blocks while paused, so the sender sends and encodes nothing."""
        await self._resumed.wait()
        if self.readyState != "live":
            raise MediaStreamError
        elapsed = await self._pacer.wait()
        frame = self.render(now_ms())
        frame.pts = round(elapsed * VIDEO_CLOCK)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.frames_sent += 1
        return frame

    def stop(self) -> None:
        """End the track (a paused ``recv`` wakes up and ends too)."""
        super().stop()
        self._resumed.set()  # wake a recv() waiting while paused, so it ends


class ToneAudioTrack(MediaStreamTrack):
    """A continuous sine: 48 kHz mono s16, 20 ms frames; ``amplitude`` (0..1, full scale = 1) may change.

    ``encoded``: Opus packets instead of frames (the frequency must be a whole number of hertz).
    ``gated``: sound only in the first half of every wall-clock second, so a listener on the
    same clock reads the mix's latency from when the tone starts (``AudioRecorder(onset_hz)``).
    ``dtx`` (set once the answer asks for ``usedtx=1``; encoded only): while silent, one packet
    every ``DTX_EVERY`` frames (400 ms), the RTP timestamps jumping over the rest, as a
    browser's Opus does."""

    kind = "audio"

    def __init__(
        self,
        frequency: float,
        amplitude: float = DEFAULT_AMPLITUDE,
        rate: int = AUDIO_RATE,
        encoded: bool = False,
        gated: bool = False,
    ) -> None:
        super().__init__()
        if encoded and not float(frequency).is_integer():
            raise ValueError("an encoded tone loops every second: its frequency must be whole hertz")
        self.frequency = frequency
        self.amplitude = amplitude
        self.rate = rate
        self.encoded = encoded
        self.gated = gated
        self._loops: dict[float, list[bytes]] = {}
        self.samples_per_frame = rate // 50
        # Audio may burst to catch up after a short stall, as a microphone buffer does; not after a long one.
        self._pacer = _Pacer(self.samples_per_frame / rate, max_lag=0.2)
        self._sent = 0
        #: The level of the latest frame in dBov (RFC 6464: 0 is full scale, -127 silence).
        self.level_dbov = -127
        self.dtx = False
        #: Silent frames in a row so far (DTX sends the first of every ``DTX_EVERY``).
        self._silent = 0
        #: Frames not sent because of DTX.
        self.dtx_skipped = 0

    def render(self, first_sample: int, amplitude: float | None = None) -> av.AudioFrame:
        """The 20 ms frame starting at sample ``first_sample`` of the tone (phase-continuous)."""
        t = (first_sample + np.arange(self.samples_per_frame)) / self.rate
        level = self.amplitude if amplitude is None else amplitude
        wave = level * 32767 * np.sin(2 * np.pi * self.frequency * t)
        frame = av.AudioFrame.from_ndarray(wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = first_sample
        frame.time_base = fractions.Fraction(1, self.rate)
        return frame

    def loop(self, amplitude: float | None = None) -> list[bytes]:
        """One second of the tone (at ``amplitude``, else the current one) as Opus packets, encoded once."""
        level = self.amplitude if amplitude is None else amplitude
        packets = self._loops.get(level)
        if packets is None:
            encoder = av.CodecContext.create("libopus", "w")
            encoder.sample_rate, encoder.layout, encoder.format = self.rate, "mono", "s16"
            encoder.time_base = fractions.Fraction(1, self.rate)
            per_second = self.rate // self.samples_per_frame
            out = [
                bytes(packet)
                for i in range(2 * per_second)
                for packet in encoder.encode(self.render(i * self.samples_per_frame, level))
            ]
            # The second second: the encoder has settled on the tone, so the loop's seam is clean.
            packets = self._loops[level] = out[-per_second:]
        return packets

    async def recv(self) -> av.AudioFrame | av.Packet[Any]:
        """The next 20 ms of tone, paced in real time."""
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            elapsed = await self._pacer.wait()
            # Samples follow the clock, so a skipped stall leaves a gap instead of late audio forever.
            first = max(self._sent, round(elapsed * self.rate))
            self._sent = first + self.samples_per_frame
            level = 0.0 if self.gated and now_ms() % 1000 >= 500 else self.amplitude
            silent = level == 0 and self.dtx and self.encoded
            self._silent = self._silent + 1 if silent else 0
            if not silent or self._silent % DTX_EVERY == 1:
                break
            self.dtx_skipped += 1
        # A sine's RMS is its amplitude over root two.
        self.level_dbov = max(-127, round(20 * math.log10(level / math.sqrt(2)))) if level > 0 else -127
        if not self.encoded:
            return self.render(first, level)
        loop = self.loop(level)
        packet = av.Packet(loop[round(first / self.samples_per_frame) % len(loop)])
        packet.pts, packet.time_base = first, fractions.Fraction(1, self.rate)
        return packet


def send_levels(sender: RTCRtpSender, track: ToneAudioTrack) -> None:
    """As a browser does, put the tone's level on every packet ``sender`` sends (RFC 6464): aiortc
    measures only the frames it encodes itself, not pre-encoded ones (and the node leaves
    packets marked quiet undecoded)."""
    next_frame = sender._next_encoded_frame

    async def with_level(codec: Any) -> Any:
        frame = await next_frame(codec)
        if frame is not None:
            measured: int | None = frame.audio_level  # None for a pre-encoded packet (typed int)
            if measured is None:
                frame.audio_level = track.level_dbov
        return frame

    sender._next_encoded_frame = with_level  # type: ignore[method-assign]
