"""What the node's receive buffers need from an aiortc receiver, in one place.

aiortc's ``RTCRtpReceiver`` asks its jitter buffer for at most one frame per
packet, and only when a packet arrives. A buffer that repairs losses needs more:
to send NACKs and PLIs when *it* decides (a retry, a deadline), to hand the
decoder several frames at once (a retransmission completes a backlog), and a
clock. ``ReceiverUplink`` gives it that through the receiver's internals; it is
the only place that touches them, so an aiortc upgrade is checked here (and by
``tests/media/test_jitter.py``). Tests give the buffers a fake ``Uplink``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from podium.media.losses import LinkStats

__all__ = ["ReceiverUplink", "Timer", "Uplink", "UplinkBuffer", "route_retransmissions"]


class Timer(Protocol):
    def cancel(self) -> None: ...
    def when(self) -> float: ...


class Uplink(Protocol):
    """A receive buffer's view of its receiver."""

    def now(self) -> float:
        """Seconds on a monotonic clock (the event loop's)."""

    def codec(self, payload_type: int) -> str | None:
        """The negotiated codec of a payload type, lower case (``vp8``, ``h264``, ``opus``)."""

    def nack(self, ssrc: int, seqs: list[int]) -> None:
        """Ask the sender to retransmit these packets (16-bit sequence numbers)."""

    def pli(self, ssrc: int) -> None:
        """Ask the sender for a keyframe."""

    def decode(self, frame: JitterFrame, payload_type: int) -> None:
        """Hand a frame to the decoder now, after any the receiver was already given."""

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` at ``when`` (``now()``'s clock)."""


class ReceiverUplink:
    """``Uplink`` over a live aiortc receiver; counts the NACKs and PLIs it sends into ``stats``."""

    def __init__(self, receiver: RTCRtpReceiver, stats: LinkStats) -> None:
        self.receiver = receiver
        self.stats = stats
        self._loop = asyncio.get_running_loop()
        self._sending: set[asyncio.Task[None]] = set()
        # Every NACK and PLI goes through these two, aiortc's own (a decoder error) included.
        send_nack, send_pli = receiver._send_rtcp_nack, receiver._send_rtcp_pli

        async def counted_nack(ssrc: int, lost: list[int]) -> None:
            stats.uplink_nacks += 1
            await send_nack(ssrc, lost)

        async def counted_pli(ssrc: int) -> None:
            stats.uplink_plis += 1
            await send_pli(ssrc)

        receiver._send_rtcp_nack = counted_nack  # type: ignore[method-assign,assignment]
        receiver._send_rtcp_pli = counted_pli  # type: ignore[method-assign,assignment]
        route_retransmissions(receiver)

    def now(self) -> float:
        return self._loop.time()

    def codec(self, payload_type: int) -> str | None:
        codec = self.receiver._RTCRtpReceiver__codecs.get(payload_type)  # type: ignore[attr-defined]
        return None if codec is None else str(codec.name).lower()

    def nack(self, ssrc: int, seqs: list[int]) -> None:
        self._spawn(self.receiver._send_rtcp_nack(ssrc, [seq & 0xFFFF for seq in seqs]))

    def pli(self, ssrc: int) -> None:
        self._spawn(self.receiver._send_rtcp_pli(ssrc))

    def decode(self, frame: JitterFrame, payload_type: int) -> None:
        # What the receiver does with the frame ``add`` returns (aiortc 1.16's _handle_rtp_packet).
        receiver = self.receiver
        codec = receiver._RTCRtpReceiver__codecs.get(payload_type)  # type: ignore[attr-defined]
        if codec is None or not receiver._RTCRtpReceiver__decoder_thread:  # type: ignore[attr-defined]
            return
        frame.timestamp = receiver._RTCRtpReceiver__timestamp_mapper.map(frame.timestamp)  # type: ignore[attr-defined]
        receiver._RTCRtpReceiver__decoder_queue.put((codec, frame))  # type: ignore[attr-defined]

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        return self._loop.call_at(when, callback)

    def _spawn(self, send: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(send)
        self._sending.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._sending.discard)


def route_retransmissions(receiver: RTCRtpReceiver) -> None:
    """Let retransmissions reach ``receiver``'s buffer whatever the other sections share.

    aiortc routes an RTP packet by its SSRC, else by a payload type that only one receiver
    has. It never registers the RTX SSRC it learns from the offer's ``ssrc-group:FID``, and
    every video section shares the RTX payload types (the web client's MCU offer has a camera
    and a screen section), so a browser's retransmissions were all dropped: no loss on its
    uplink was ever repaired. The router of the receiver's transport (one for the bundle)
    now looks an unknown SSRC up among its receivers' RTX SSRCs first.
    """
    router = getattr(receiver.transport, "_rtp_router", None)  # None: a test's stand-in transport
    if router is None or getattr(router, "_routes_retransmissions", False):
        return
    route = router.route_rtp

    def routing(packet: Any) -> Any:
        if packet.ssrc not in router.ssrc_table:
            for candidate in router.receivers:
                if packet.ssrc in getattr(candidate, "_RTCRtpReceiver__rtx_ssrc", ()):
                    router.ssrc_table[packet.ssrc] = candidate
                    break
        return route(packet)

    router.route_rtp = routing
    router._routes_retransmissions = True


class UplinkBuffer(JitterBuffer):
    """A receive buffer that may release several frames for one packet.

    With an ``uplink``, all but the last go straight to the decoder and the last is
    returned to the receiver, which queues it after them: order is kept. Without one
    (a bare buffer), one frame is returned per call and the rest wait for the next.
    """

    def __init__(
        self,
        capacity: int,
        uplink: Uplink | None,
        stats: LinkStats | None,
        on_release: Callable[[], None] | None,
        clock: Callable[[], float] | None,
        is_video: bool = False,
    ) -> None:
        super().__init__(capacity=capacity, is_video=is_video)
        self.uplink = uplink
        self.stats = stats if stats is not None else LinkStats()
        #: Called for every frame handed on to the decoder (the node counts what it decodes).
        self.on_release = on_release
        self._clock = clock or (uplink.now if uplink is not None else time.monotonic)
        self._waiting: list[tuple[JitterFrame, int]] = []

    def _hand_over(self, frames: list[tuple[JitterFrame, int]], returning: bool) -> JitterFrame | None:
        """Release ``(frame, payload type)``s in order; with ``returning``, the caller returns one."""
        if self.on_release is not None:
            for _ in frames:
                self.on_release()
        if self.uplink is None:
            self._waiting.extend(frames)
            return self._waiting.pop(0)[0] if returning and self._waiting else None
        last = frames.pop() if returning and frames else None
        for frame, payload_type in frames:
            self.uplink.decode(frame, payload_type)
        return None if last is None else last[0]
