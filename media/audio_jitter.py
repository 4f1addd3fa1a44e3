"""The audio receive buffer of the node's uplinks: 40 ms, never stalled by a loss, quiet packets left out.

**Depth.** aiortc holds four packets (80 ms) before the first goes on. The node
holds two (40 ms: the jitter of a decent network); the mixer's own three-frame
queue per participant absorbs a late burst beyond that. So the mix is 40 ms
sooner, and closer to the composite, which waits for no buffer.

**Losses.** aiortc's buffer stops at a missing packet until 16 packets (320 ms)
have piled up, and then stays that deep: every loss costs a stall and adds
latency for good. Here a packet goes on as soon as two later ones have arrived
(present or not), so the buffer never holds more than its 40 ms: a packet still
missing by then is skipped at once (a late one has had 40 ms to arrive), and the
mix goes without that 20 ms frame of the speaker (counted: ``audio_concealed``).
Frames that come due together (after a burst) all go to the decoder at once.

**Quiet.** Most of a large room is silent, and the mixer only takes speakers
above its floor. Every browser (and aiortc) puts the sender's own level on each
audio packet (RFC 6464, ``ssrc-audio-level``), so the node leaves out a packet
that says it is under that floor before the Opus decoder, keeping 200 ms (of RTP
time) after the last loud one for the ends of words. A sender whose packets carry
no level is decoded in full. RTCP statistics still count every packet.

**DTX.** A browser with ``usedtx=1`` (which the node's answer asks for) sends one
packet every 400 ms while silent: sequence numbers go on by one, timestamps jump.
Those packets are quiet, so they are left out too; the hangover is in RTP time,
so it is the same 200 ms either way.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from podium.media.losses import LinkStats
from podium.media.uplink import ReceiverUplink, Uplink, UplinkBuffer

__all__ = ["AUDIO_PREFETCH", "HANGOVER_PACKETS", "QUIET_DBOV", "AudioJitterBuffer", "buffer_audio"]

#: aiortc's size for an audio receiver's buffer (packets).
_AUDIO_CAPACITY = 16
#: Audio packets (20 ms each) held before the first goes on.
AUDIO_PREFETCH = 2
#: An audio packet whose level (RFC 6464: -dBov, 0 loudest, 127 silence) is above this is too
#: quiet for the mix: the mixer's floor (RMS 100 of 32767) is about 50, and 6 dB spare.
QUIET_DBOV = 56
#: Packets' worth of time (20 ms each) still decoded after the last loud one: a word's tail, a breath.
HANGOVER_PACKETS = 10
#: The hangover in RTP time (Opus's clock is 48 kHz whatever the sampling rate).
_HANGOVER_TICKS = HANGOVER_PACKETS * 960
#: A sequence number this far behind the head, or ahead of the newest, is a new stream.
_RESTART_BEHIND = 1000
_RESTART_AHEAD = 3000

_QUIET = None  # what a left-out packet leaves in the buffer: its place, no data


class AudioJitterBuffer(UplinkBuffer):
    """A 40 ms audio buffer that skips lost packets at once and leaves out packets marked quiet."""

    def __init__(
        self,
        on_release: Callable[[], None] | None = None,
        *,
        uplink: Uplink | None = None,
        stats: LinkStats | None = None,
    ) -> None:
        super().__init__(_AUDIO_CAPACITY, uplink, stats, on_release, clock=None)
        #: Packets left out (never decoded) as quiet so far.
        self.skipped = 0
        self._held: dict[int, RtpPacket | None] = {}
        self._head: int | None = None
        self._highest = 0
        self._loud_at: int | None = None  # RTP timestamp of the last loud packet

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        head = self._head
        delta = (packet.sequence_number - self._highest) & 0xFFFF
        ext = self._highest + (delta - 0x10000 if delta >= 0x8000 else delta)
        if head is None or ext < head - _RESTART_BEHIND or ext - self._highest > _RESTART_AHEAD:
            ext = self._head = self._highest = packet.sequence_number
            self._held.clear()
        elif ext < head or ext in self._held:
            return False, None  # skipped already, or a duplicate
        elif ext > self._highest:
            self.stats.uplink_packets_lost += ext - self._highest - 1
            self._highest = ext
        else:
            self.stats.uplink_packets_recovered += 1  # late, but in time
        if self._quiet(packet):
            self.skipped += 1
            self._held[ext] = _QUIET
        else:
            self._held[ext] = packet
        return False, self._hand_over(self._release(), returning=True)

    def _release(self) -> list[tuple[JitterFrame, int]]:
        """Every packet with ``AUDIO_PREFETCH`` later ones behind it goes (or is skipped) now."""
        out = []
        assert self._head is not None
        while self._head <= self._highest - AUDIO_PREFETCH:
            packet = self._held.pop(self._head, False)
            self._head += 1
            if packet is False:
                self.stats.audio_concealed += 1  # lost: the mix goes on without this frame
            elif packet is not _QUIET:
                assert isinstance(packet, RtpPacket)
                frame = JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]
                out.append((frame, packet.payload_type))
        return out

    def _quiet(self, packet: RtpPacket) -> bool:
        """Whether the sender marks this packet too quiet for the mix, past the hangover."""
        level = packet.extensions.audio_level  # (voice activity, -dBov) or None
        if self._loud_at is None or level is None or level[1] <= QUIET_DBOV:
            self._loud_at = packet.timestamp  # a first packet opens the hangover too
            return False
        since = (packet.timestamp - self._loud_at + 0x80000000) % 0x100000000 - 0x80000000
        return since > _HANGOVER_TICKS


def buffer_audio(
    receiver: RTCRtpReceiver, on_release: Callable[[], None] | None = None, stats: LinkStats | None = None
) -> AudioJitterBuffer:
    """Give an audio ``receiver`` the 40 ms, loss- and quiet-skipping buffer (before its first packet)."""
    uplink = ReceiverUplink(receiver, stats if stats is not None else LinkStats())
    buffer = AudioJitterBuffer(on_release, uplink=uplink, stats=uplink.stats)
    receiver._RTCRtpReceiver__jitter_buffer = buffer  # type: ignore[attr-defined]
    return buffer
