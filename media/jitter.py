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

Most of a large room is silent, and the mixer only takes speakers above its
floor. Every browser (and aiortc) puts the sender's own level on each audio
packet (RFC 6464, ``ssrc-audio-level``), so the node drops a packet that says it
is under that floor before it reaches the buffer and the Opus decoder, keeping
200 ms after the last loud one for the ends of words. A sender whose packets
carry no level is decoded in full. RTCP statistics still count every packet.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

__all__ = [
    "HANGOVER_PACKETS",
    "QUIET_DBOV",
    "AudioJitterBuffer",
    "MarkedFrameJitterBuffer",
    "buffer_audio",
    "release_frames_when_marked",
]

#: aiortc's sizes for a video and an audio receiver's buffer (packets).
_CAPACITY = 512
_AUDIO_CAPACITY = 16
#: Audio packets (20 ms each) held before the first goes on.
AUDIO_PREFETCH = 2
#: An audio packet whose level (RFC 6464: -dBov, 0 loudest, 127 silence) is above this is too
#: quiet for the mix: the mixer's floor (RMS 100 of 32767) is about 50, and 6 dB spare.
QUIET_DBOV = 56
#: Packets still decoded after the last loud one (200 ms): a word's tail, a breath.
HANGOVER_PACKETS = 10


class MarkedFrameJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, releasing a frame at its marked last packet."""

    def __init__(self, on_release: Callable[[], None] | None = None) -> None:
        super().__init__(capacity=_CAPACITY, is_video=True)
        #: Called for every frame handed on to the decoder (the node counts what it decodes).
        self.on_release = on_release

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        frame = self._complete_frame(sequence_number)
        if frame is not None and self.on_release is not None:
            self.on_release()
        return frame

    def _complete_frame(self, sequence_number: int) -> JitterFrame | None:
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


def release_frames_when_marked(
    receiver: RTCRtpReceiver, on_release: Callable[[], None] | None = None
) -> None:
    """Give a video ``receiver`` the marker-aware buffer (before its first packet); ``on_release``
    hears of every frame it hands to the decoder."""
    receiver._RTCRtpReceiver__jitter_buffer = MarkedFrameJitterBuffer(on_release)  # type: ignore[attr-defined]


class AudioJitterBuffer(JitterBuffer):
    """A 40 ms audio buffer that leaves out packets their sender marks as quiet."""

    def __init__(self, on_release: Callable[[], None] | None = None) -> None:
        super().__init__(capacity=_AUDIO_CAPACITY, prefetch=AUDIO_PREFETCH)
        self.open_for = HANGOVER_PACKETS
        #: Packets left out (never decoded) so far.
        self.skipped = 0
        #: Called for every packet handed on to the decoder.
        self.on_release = on_release

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        level = packet.extensions.audio_level  # (voice activity, -dBov) or None
        if level is None or level[1] <= QUIET_DBOV:
            self.open_for = HANGOVER_PACKETS
        elif self.open_for > 0:
            self.open_for -= 1
        else:
            self.skipped += 1
            if self._origin is not None:
                # What it holds is a quiet tail; the next loud packet starts a fresh buffer
                # rather than waiting on the sequence numbers skipped in between.
                self._packets = [None] * self.capacity
                self._origin = None
            return False, None
        pli, frame = super().add(packet)
        if frame is not None and self.on_release is not None:
            self.on_release()
        return pli, frame


def buffer_audio(receiver: RTCRtpReceiver, on_release: Callable[[], None] | None = None) -> AudioJitterBuffer:
    """Give an audio ``receiver`` the 40 ms, quiet-skipping buffer (before its first packet)."""
    buffer = AudioJitterBuffer(on_release)
    receiver._RTCRtpReceiver__jitter_buffer = buffer  # type: ignore[attr-defined]
    return buffer
