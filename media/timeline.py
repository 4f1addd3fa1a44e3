"""One clock for every output of a room: packets' own timestamps, kept near the wall clock.

The composite's video pts come from the wall clock (90 kHz since the room started); the
mix's pts count 20 ms frames (48 kHz samples), so a stalled audio loop falls behind the
wall clock. Outputs place each stream's packets at ``pts + offset`` seconds on their own
timeline, the offset fixed by the first packet's arrival, and move the offset only when a
stream has drifted more than ``MAX_DRIFT`` from the wall clock (a stall, so behind it): the player then
sees a short gap instead of audio and video slowly coming apart.
"""

from __future__ import annotations

import time
from fractions import Fraction

__all__ = ["MAX_DRIFT", "StreamClock"]

#: A stream further than this from the wall clock is re-anchored (seconds).
MAX_DRIFT = 0.08


class StreamClock:
    """Maps one stream's pts (in ``time_base``) to seconds since ``origin`` (a ``time.monotonic()``)."""

    def __init__(self, origin: float, time_base: Fraction) -> None:
        self.origin = origin
        self.time_base = time_base
        self.offset: float | None = None
        self.last = -1.0
        self.reanchored = 0

    def place(self, pts: int, now: float | None = None) -> float:
        """Seconds on the output's timeline for a packet with ``pts`` arriving ``now``."""
        arrived = (time.monotonic() if now is None else now) - self.origin
        seconds = float(pts * self.time_base)
        # Only lateness moves the anchor: packets arrive after their encode, never before their time.
        if self.offset is None or arrived - (seconds + self.offset) > MAX_DRIFT:
            if self.offset is not None:
                self.reanchored += 1
            self.offset = arrived - seconds
        at = max(seconds + self.offset, self.last + 0.001)
        self.last = at
        return at
