"""A fake ``podium.media.uplink.Uplink``: a receive buffer's receiver and event loop, on a clock
the test moves, recording what went to the decoder and which NACKs and PLIs went out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

__all__ = ["FakeUplink"]


@dataclass
class _Timer:
    at: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True

    def when(self) -> float:
        return self.at


@dataclass
class FakeUplink:
    """A receiver and its event loop, on a clock the test moves: what went to the decoder, NACKs, PLIs."""

    codec_name: str = "vp8"
    clock: float = 0.0
    decoded: list[JitterFrame] = field(default_factory=list)
    #: When each of ``decoded`` went to the decoder.
    decoded_at: list[float] = field(default_factory=list)
    nacks: list[tuple[float, list[int]]] = field(default_factory=list)
    plis: list[float] = field(default_factory=list)
    timers: list[_Timer] = field(default_factory=list)

    def now(self) -> float:
        return self.clock

    def codec(self, payload_type: int) -> str | None:
        return self.codec_name

    def nack(self, ssrc: int, seqs: list[int]) -> None:
        self.nacks.append((round(self.clock, 3), seqs))

    def pli(self, ssrc: int) -> None:
        self.plis.append(round(self.clock, 3))

    def decode(self, frame: JitterFrame, payload_type: int) -> None:
        self.decoded.append(frame)
        self.decoded_at.append(round(self.clock, 3))

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(when, callback)
        self.timers.append(timer)
        return timer

    def advance(self, to: float) -> None:
        """Move the clock to ``to``, running the timers that fall due on the way, in order."""
        while True:
            due = [t for t in self.timers if not t.cancelled and t.at <= to]
            if not due:
                break
            timer = min(due, key=lambda t: t.at)
            self.timers.remove(timer)
            self.clock = max(self.clock, timer.at)
            timer.callback()
        self.clock = to

    def receive(self, buffer: JitterBuffer, packet: RtpPacket) -> None:
        """What aiortc's receiver does with a packet: the frame ``add`` returns goes to the decoder."""
        _, frame = buffer.add(packet)
        if frame is not None:
            self.decode(frame, packet.payload_type)
