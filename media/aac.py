"""AAC for the outputs that need it: live streams (HLS, RTMP/FLV) and finished recordings.

The room's mix is Opus, which browsers' WebRTC wants; HLS players, RTMP services and
a good many desktop players (QuickTime, older Safari, video editors) want AAC. One
place sets the encoder up and turns decoded 20 ms Opus frames into AAC's 1024-sample
frames with continuous timestamps.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
from av.codec.context import Flags

__all__ = ["AUDIO_BITRATE", "AacFrames", "add_aac_stream"]

AUDIO_BITRATE = 96_000
RATE = 48_000
_SAMPLES = Fraction(1, RATE)
#: A jump in the input's timestamps beyond this (100 ms) is kept as a gap, not closed up.
_GAP = RATE // 10


def add_aac_stream(container: Any) -> Any:
    """A mono 48 kHz AAC stream in ``container``, set up as every output wants it."""
    audio = container.add_stream("aac", rate=RATE)
    audio.layout = "mono"
    audio.codec_context.bit_rate = AUDIO_BITRATE
    # FFmpeg's default AAC coder ("twoloop") costs ~12 ms of CPU per second of audio; "fast"
    # ~3.5 ms, and at 96 kbit/s a speech mix loses nothing audible.
    audio.codec_context.options = {"aac_coder": "fast"}
    # FLV and MP4-style muxers want the AudioSpecificConfig as extradata.
    audio.codec_context.flags |= Flags.global_header
    return audio


class AacFrames:
    """Decoded audio in, AAC-sized mono frames out, timestamped in samples at 48 kHz."""

    def __init__(self) -> None:
        self.resampler = av.AudioResampler(format="fltp", layout="mono", rate=RATE, frame_size=1024)
        self.pts: int | None = None

    def frames(self, decoded: av.AudioFrame, at: int) -> list[av.AudioFrame]:
        """``decoded`` starts at sample ``at``; the frames for the encoder so far."""
        if self.pts is None or at - self.pts > _GAP:
            self.pts = at  # the first frame, or a gap of over 100 ms: leave the gap
        decoded.pts = None
        return self._stamped(self.resampler.resample(decoded))

    def flush(self) -> list[av.AudioFrame]:
        """The last, partial frame the resampler still holds (at the end of the stream)."""
        return self._stamped(self.resampler.resample(None)) if self.pts is not None else []

    def _stamped(self, frames: list[av.AudioFrame]) -> list[av.AudioFrame]:
        for frame in frames:
            frame.pts, frame.time_base = self.pts, _SAMPLES
            self.pts = (self.pts or 0) + frame.samples
        return frames
