"""The video receive buffer of the node's uplinks: frames go on complete, losses are repaired or cut short.

**Release at the marker.** aiortc's ``JitterBuffer`` releases a video frame
only when the first packet of the *next* frame arrives, which adds one frame
interval (67 ms at 15 fps) to every hop through an aiortc receiver: the node's
uplinks, and the synthetic participants' composite. RTP video marks a frame's
last packet (the marker bit, VP8 and H.264 alike), so once every packet from the
frame's first to its marked one is in, the frame is complete: this buffer
releases it then. A sender that never marks still has its frames completed by the
next timestamp, as in aiortc.

**Losses.** aiortc's buffer stops at the first missing packet, so one lost
packet blocks every later frame until 512 packets (seconds of video) have piled
up; and its receiver NACKs a gap once and never again. This buffer behaves as a
browser's does (``podium.media.nack``): it NACKs a gap at once and again on a
schedule while the packet is missing; a packet that arrives completes its frame
and releases every complete frame behind it at once. A packet given up (0.5 s, or
past the sender's retransmission history, or when its gap shows only after the
stream was silent that long: an outage) costs the frames that depend on it: they
are dropped, never decoded, until a keyframe (VP8 or H.264,
``podium.media.bitstream``), and the buffer sends a PLI (again every second while
packets arrive and no keyframe has)."""

from __future__ import annotations

from collections.abc import Callable

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from podium.media.bitstream import is_keyframe, starts_frame
from podium.media.losses import LinkStats
from podium.media.nack import GIVE_UP_S, SENDER_HISTORY, NackSchedule
from podium.media.uplink import ReceiverUplink, Timer, Uplink, UplinkBuffer

__all__ = ["PLI_REPEAT_S", "MarkedFrameJitterBuffer", "release_frames_when_marked"]

#: Packets held at most (aiortc's size for a video buffer): past it, the oldest gap is given up.
_CAPACITY = 512
#: While no keyframe has come, the PLI is repeated this often (it or the keyframe may be lost).
PLI_REPEAT_S = 1.0
#: A sequence number this far behind the head, or ahead of the newest, is a new stream.
_RESTART_BEHIND = 1000
_RESTART_AHEAD = 3000

_Released = list[tuple[JitterFrame, int]]


class MarkedFrameJitterBuffer(UplinkBuffer):
    """Video frames released at their marked last packet; lost packets NACKed, then given up."""

    def __init__(
        self,
        on_release: Callable[[], None] | None = None,
        *,
        uplink: Uplink | None = None,
        stats: LinkStats | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(_CAPACITY, uplink, stats, on_release, clock, is_video=True)
        #: Packets not yet released or dropped, by extended (unwrapped) sequence number.
        self._held: dict[int, RtpPacket] = {}
        self._head: int | None = None  # the next sequence number to release or drop
        self._highest = 0
        self._arrived_at = 0.0  # when the last packet came
        self.nacks = NackSchedule()
        self._at_frame_start = True  # whether the head packet begins a frame
        self._want_keyframe = False
        self._pli_at: float | None = None
        self._ssrc = 0
        self._codecs: dict[int, str | None] = {}
        self._timer: Timer | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        now = self._clock()
        self._ssrc = packet.ssrc
        released: _Released = []
        head = self._head
        ext = packet.sequence_number if head is None else self._place(packet.sequence_number)
        if head is None or ext < head - _RESTART_BEHIND or ext - self._highest > _RESTART_AHEAD:
            self._restart(ext, first=head is None)
        elif ext < head or ext in self._held:
            return False, None  # too late (given up already), or a duplicate
        elif ext > self._highest:
            gap = ext - self._highest - 1
            # An outage: more than the sender keeps, or a gap that shows only after the stream
            # was silent past the deadline (what it missed is that old already). Asking for it
            # all would cost a burst of stale frames to decode; a keyframe is cheaper.
            if gap >= SENDER_HISTORY or (gap > 0 and now - self._arrived_at >= GIVE_UP_S):
                self.stats.uplink_packets_lost += gap
                released = self._jump(ext, now)
            elif gap > 0:
                self.stats.uplink_packets_lost += gap
                self._nack(self.nacks.gap(self._highest + 1, ext - 1, now))
            elif not packet.marker and not self.nacks.missing and self._at_frame_start:
                previous = self._held.get(ext - 1)
                if previous is not None and previous.timestamp == packet.timestamp:
                    # The middle of a frame, nothing missing: nothing can complete yet.
                    self._held[ext], self._highest, self._arrived_at = packet, ext, now
                    return False, None
            self._highest = ext
        elif self.nacks.arrived(ext, now):
            self.stats.uplink_packets_recovered += 1
        else:
            return False, None  # inside the known range but never missing: a duplicate
        self._held[ext] = packet
        self._arrived_at = now
        released += self._release(now, flush=len(self._held) > self.capacity)
        pli = self._follow_up(now, repeat_pli=True)
        return pli and self.uplink is None, self._hand_over(released, returning=True)

    def poll(self) -> None:
        """Send due NACK retries and give up on packets past their deadline (the timer calls it)."""
        self._timer = None
        if self._head is None:
            return
        now = self._clock()
        released = self._release(now)
        self._follow_up(now, repeat_pli=False)
        self._hand_over(released, returning=False)

    # ---- frames -----------------------------------------------------------------------------------------

    def _release(self, now: float, flush: bool = False) -> _Released:
        """Every frame that can go now, in order; with ``flush``, give up whatever is missing."""
        out: _Released = []
        while self._head is not None and self._head <= self._highest:
            head = self._head
            packet = self._held.get(head)
            if packet is None:
                if not flush and not self.nacks.expired(head, now, self._highest):
                    break  # a retransmission may still come
                self._give_up(head)
                continue
            if not packet.payload:  # padding between frames: no picture in it
                self._skip(head)
                continue
            if not self._at_frame_start:
                # (A codec it cannot read: every packet may start a frame, as audio's do.)
                if starts_frame(self._codec(packet.payload_type), packet.payload) is not False:
                    self._at_frame_start = True
                else:  # the rest of a frame whose beginning was lost
                    self._skip(head)
                    self._at_frame_start = bool(packet.marker)
                    continue
            end = self._frame_end(head)
            if end is None:
                break  # more of the frame is on its way
            last, complete = end
            if not complete:
                if not flush and not self.nacks.expired(last, now, self._highest):
                    break  # the missing packet may still come
                for seq in range(head, last):  # the frame up to its lost packet is of no use
                    del self._held[seq]
                self._head = last
                self.stats.video_frames_dropped += 1
                continue
            frame = self._frame(head, last)
            if frame is not None:
                out.append(frame)
        return out

    def _frame_end(self, head: int) -> tuple[int, bool] | None:
        """(last sequence number, True) of the complete frame starting at ``head``; (the first
        missing one, False) when one is missing; None when the frame goes on past the newest."""
        timestamp = self._held[head].timestamp
        for seq in range(head, self._highest + 1):
            packet = self._held.get(seq)
            if packet is None:
                return seq, False
            if packet.timestamp != timestamp:
                return seq - 1, True  # a new timestamp completes the frame (a sender that never marks)
            if packet.marker:
                return seq, True
        return None

    def _frame(self, head: int, end: int) -> tuple[JitterFrame, int] | None:
        """Take the complete frame ``head..end``: it, or None when it waits on a lost keyframe."""
        packets = [self._held.pop(seq) for seq in range(head, end + 1)]
        self._head = end + 1
        self._at_frame_start = True
        first = packets[0]
        if is_keyframe(self._codec(first.payload_type), [p.payload for p in packets]):
            self._want_keyframe = False
            self._pli_at = None
        elif self._want_keyframe:
            self.stats.video_frames_dropped += 1  # it refers to what was lost
            return None
        data = b"".join(p._data for p in packets)  # type: ignore[attr-defined]  # depayloaded by the receiver
        return JitterFrame(data=data, timestamp=first.timestamp), first.payload_type

    def _skip(self, seq: int) -> None:
        del self._held[seq]
        self._head = seq + 1

    def _give_up(self, seq: int) -> None:
        """A missing packet is lost for good: what follows needs a keyframe."""
        self.nacks.forget_before(seq + 1)
        self._head = seq + 1
        self._at_frame_start = False
        self._want_keyframe = True

    # ---- sequence numbers -------------------------------------------------------------------------------

    def _place(self, seq: int) -> int:
        """The extended sequence number of a 16-bit one: the nearest to the newest seen."""
        delta = (seq - self._highest) & 0xFFFF
        return self._highest + (delta - 0x10000 if delta >= 0x8000 else delta)

    def _restart(self, seq: int, first: bool) -> None:
        """A first packet, or a sender that started over: begin afresh at ``seq``."""
        self._held.clear()
        self.nacks.clear()
        self._head = self._highest = seq
        self._at_frame_start = first
        self._want_keyframe = not first

    def _jump(self, ext: int, now: float) -> _Released:
        """An outage: release what can be before it, drop the rest, wait for a keyframe after it."""
        released = self._release(now, flush=True)
        if self._held:
            self.stats.video_frames_dropped += 1  # the frame the outage cut
        self._held.clear()
        self.nacks.clear()
        self._head = self._highest = ext
        self._at_frame_start = False
        self._want_keyframe = True
        return released

    # ---- feedback ---------------------------------------------------------------------------------------

    def _follow_up(self, now: float, repeat_pli: bool) -> bool:
        """NACK what is due again, ask for a keyframe when one is wanted, set the timer.
        Returns whether a PLI is wanted now."""
        self._nack(self.nacks.due(now))
        pli = False
        if self._want_keyframe and (
            self._pli_at is None or (repeat_pli and now - self._pli_at >= PLI_REPEAT_S)
        ):
            self._pli_at = now
            pli = True
            if self.uplink is not None:
                self.uplink.pli(self._ssrc)
        self._schedule()
        return pli

    def _nack(self, seqs: list[int]) -> None:
        if seqs and self.uplink is not None:
            self.uplink.nack(self._ssrc, seqs)

    def _schedule(self) -> None:
        """Wake for the next NACK retry or deadline, however quiet the stream goes."""
        wake = self.nacks.next_wake()
        if self.uplink is None or wake is None:
            return
        if self._timer is not None:
            if self._timer.when() <= wake:
                return
            self._timer.cancel()
        self._timer = self.uplink.call_at(wake, self.poll)

    def _codec(self, payload_type: int) -> str | None:
        if payload_type not in self._codecs:
            self._codecs[payload_type] = None if self.uplink is None else self.uplink.codec(payload_type)
        return self._codecs[payload_type]


def release_frames_when_marked(
    receiver: RTCRtpReceiver, on_release: Callable[[], None] | None = None, stats: LinkStats | None = None
) -> MarkedFrameJitterBuffer:
    """Give a video ``receiver`` the marker-aware, loss-repairing buffer (before its first packet);
    ``on_release`` hears of every frame it hands to the decoder, ``stats`` counts losses."""
    uplink = ReceiverUplink(receiver, stats if stats is not None else LinkStats())
    buffer = MarkedFrameJitterBuffer(on_release, uplink=uplink, stats=uplink.stats)
    receiver._RTCRtpReceiver__jitter_buffer = buffer  # type: ignore[attr-defined]
    # The buffer NACKs (and asks again); aiortc's generator would NACK every gap a second time.
    receiver._RTCRtpReceiver__nack_generator = None  # type: ignore[attr-defined]
    return buffer
