"""Jitter buffers for the node's uplinks: video frames go on complete, audio after 40 ms.

aiortc's ``JitterBuffer`` releases a video frame only when the first packet of
the *next* frame arrives, which adds one frame interval (67 ms at 15 fps) to
every hop through an aiortc receiver: the node's uplinks, and the synthetic
participants' composite. RTP video marks a frame's last packet (the marker bit,
VP8 and H.264 alike), so once every packet from the frame's first to its marked
one is in, the frame is complete: this buffer releases it then. Otherwise it
behaves as aiortc's (a new timestamp still completes a frame whose marked packet
was lost).

For audio, aiortc holds four packets (80 ms) before the first goes on. The node
holds two (40 ms: the jitter of a decent network); the mixer's own three-frame
queue per participant absorbs a late burst beyond that. So the mix is 40 ms
sooner, and closer to the composite, which waits for no buffer.
"""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

__all__ = ["MarkedFrameJitterBuffer", "release_frames_when_marked", "shorten_audio_buffer"]

#: aiortc's sizes for a video and an audio receiver's buffer (packets).
_CAPACITY = 512
_AUDIO_CAPACITY = 16
#: Audio packets (20 ms each) held before the first goes on.
AUDIO_PREFETCH = 2


class MarkedFrameJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, releasing a frame at its marked last packet."""

    def __init__(self) -> None:
        super().__init__(capacity=_CAPACITY, is_video=True)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        assert self._origin is not None  # add() sets it before asking
        packets: list[RtpPacket] = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None or (packets and packet.timestamp != packets[0].timestamp):
                break
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(data=b"".join(p._data for p in packets), timestamp=packet.timestamp)  # type: ignore[attr-defined]
        return super()._remove_frame(sequence_number)


def release_frames_when_marked(receiver: RTCRtpReceiver) -> None:
    """Give a video ``receiver`` the marker-aware buffer (before its first packet)."""
    receiver._RTCRtpReceiver__jitter_buffer = MarkedFrameJitterBuffer()  # type: ignore[attr-defined]


def shorten_audio_buffer(receiver: RTCRtpReceiver) -> None:
    """Give an audio ``receiver`` a 40 ms buffer instead of aiortc's 80 (before its first packet)."""
    buffer = JitterBuffer(capacity=_AUDIO_CAPACITY, prefetch=AUDIO_PREFETCH)
    receiver._RTCRtpReceiver__jitter_buffer = buffer  # type: ignore[attr-defined]
