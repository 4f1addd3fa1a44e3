"""The node's video receive buffer (media/jitter.py): a frame goes on at its marked last packet;
a lost packet is NACKed (again, on schedule) and a retransmission frees every frame behind it;
a packet never retransmitted costs the frames up to the next keyframe, not the stream."""

from __future__ import annotations

import pytest
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from podium.media.jitter import MarkedFrameJitterBuffer
from podium.media.nack import GIVE_UP_S, MAX_NACKS, MIN_RETRY_S, SENDER_HISTORY
from tests.support.uplink import FakeUplink

FRAME_TICKS = 6000  # 15 fps on the 90 kHz clock
FRAME_S = 1 / 15
PER_FRAME = 3  # packets per frame


def _vp8(seq: int, timestamp: int, marker: bool, start: bool = False, key: bool = False) -> RtpPacket:
    """A VP8 packet: payload descriptor (S bit on a frame's first packet), then the VP8 payload
    (its first byte's P bit 0 on a keyframe); ``_data`` as aiortc depayloads it."""
    body = bytes([0x00 if key else 0x01]) if start else b""
    body += (seq & 0xFFFF).to_bytes(2, "big")
    packet = RtpPacket(payload_type=96, sequence_number=seq & 0xFFFF, timestamp=timestamp, marker=marker)
    packet.payload = bytes([0x10 if start else 0x00]) + body
    packet._data = body  # type: ignore[attr-defined]
    return packet


def _frame(number: int, first_seq: int, key: bool = False) -> list[RtpPacket]:
    """Frame ``number`` of a 15 fps stream, ``PER_FRAME`` packets from ``first_seq``."""
    return [
        _vp8(first_seq + i, number * FRAME_TICKS, marker=i == PER_FRAME - 1, start=i == 0, key=key)
        for i in range(PER_FRAME)
    ]


def _numbers(frames: list[JitterFrame]) -> list[int]:
    return [frame.timestamp // FRAME_TICKS for frame in frames]


def _stream(
    uplink: FakeUplink,
    buffer: MarkedFrameJitterBuffer,
    frames: range,
    lose: set[int] = frozenset(),  # type: ignore[assignment]
    keyframes: set[int] = frozenset(),  # type: ignore[assignment]
    first_seq: int = 1000,
) -> None:
    """Send frames ``frames`` at 15 fps (frame n at n/15 s), packets ``lose`` never arriving."""
    for number in frames:
        uplink.advance(number * FRAME_S)
        for packet in _frame(number, first_seq + number * PER_FRAME, key=number in keyframes):
            if packet.sequence_number not in lose:
                uplink.receive(buffer, packet)


def _seq(frame: int, index: int = 0, first_seq: int = 1000) -> int:
    return first_seq + frame * PER_FRAME + index


# ---- release at the marker ---------------------------------------------------------------------------


def _packet(seq: int, timestamp: int, marker: bool) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, marker=marker)
    packet.payload = packet._data = bytes([seq])  # type: ignore[attr-defined]
    return packet


def test_a_frame_is_released_at_its_marked_packet_not_at_the_next_frame() -> None:
    buffer = MarkedFrameJitterBuffer()
    assert buffer.add(_packet(1, 3000, False)) == (False, None)
    assert buffer.add(_packet(2, 3000, False)) == (False, None)
    _, frame = buffer.add(_packet(3, 3000, True))
    assert frame is not None and frame.timestamp == 3000 and frame.data == b"\x01\x02\x03"
    # The next frame, one packet, is out as soon as it arrives.
    _, frame = buffer.add(_packet(4, 9000, True))
    assert frame is not None and frame.timestamp == 9000 and frame.data == b"\x04"


def test_a_frame_waits_for_a_packet_that_arrives_late() -> None:
    buffer = MarkedFrameJitterBuffer()
    buffer.add(_packet(1, 3000, False))
    assert buffer.add(_packet(3, 3000, True)) == (False, None)  # packet 2 is still on its way
    _, frame = buffer.add(_packet(2, 3000, False))
    assert frame is not None and frame.data == b"\x01\x02\x03"


def test_frames_without_a_marker_go_on_when_the_next_frame_starts() -> None:
    buffer = MarkedFrameJitterBuffer()
    buffer.add(_packet(1, 3000, False))
    assert buffer.add(_packet(2, 3000, False)) == (False, None)
    _, frame = buffer.add(_packet(3, 9000, False))  # a sender that never marks: aiortc's rule
    assert frame is not None and frame.timestamp == 3000 and frame.data == b"\x01\x02"


# ---- losses ------------------------------------------------------------------------------------------


def test_a_retransmitted_packet_completes_its_frame_and_frees_every_frame_behind_it_at_once() -> None:
    uplink = FakeUplink()
    buffer = MarkedFrameJitterBuffer(uplink=uplink)
    lost = _seq(2, 1)  # the middle packet of frame 2
    _stream(uplink, buffer, range(0, 5), lose={lost}, keyframes={0})
    # Frames 0 and 1 are out; 2 waits for its packet, and 3 and 4 (complete) wait behind it.
    assert _numbers(uplink.decoded) == [0, 1]
    assert uplink.nacks[0] == (round(2 * FRAME_S, 3), [lost])  # asked for at once (and again since)
    # The retransmission arrives (one round trip later): frames 2, 3 and 4 go on together, in order.
    uplink.advance(4 * FRAME_S + 0.01)
    packet = _frame(2, _seq(2))[1]
    uplink.receive(buffer, packet)
    assert _numbers(uplink.decoded) == [0, 1, 2, 3, 4]
    assert uplink.decoded[2].data == b"".join(p._data for p in _frame(2, _seq(2)))  # type: ignore[attr-defined]
    assert uplink.plis == []  # nothing was lost for good: no keyframe needed
    # Later frames are not held up at all.
    _stream(uplink, buffer, range(5, 8))
    assert _numbers(uplink.decoded) == list(range(8))
    assert (buffer.stats.uplink_packets_lost, buffer.stats.uplink_packets_recovered) == (1, 1)
    assert buffer.stats.video_frames_dropped == 0


def test_a_missing_packet_is_nacked_again_on_schedule_then_given_up() -> None:
    uplink = FakeUplink()
    buffer = MarkedFrameJitterBuffer(uplink=uplink)
    lost = _seq(3, 0)
    _stream(uplink, buffer, range(0, 3), keyframes={0})
    uplink.advance(3 * FRAME_S)
    for packet in _frame(3, _seq(3))[1:]:
        uplink.receive(buffer, packet)
    # Then the stream goes quiet: the retries come from the buffer's own timer.
    uplink.advance(3 * FRAME_S + 1.0)
    detected = round(3 * FRAME_S, 3)
    times = [at for at, seqs in uplink.nacks if lost in seqs]
    assert len(times) == MAX_NACKS
    assert times == [round(detected + i * MIN_RETRY_S, 3) for i in range(MAX_NACKS)]
    # Given up at its deadline: a keyframe is asked for then, not before.
    assert uplink.plis == [round(detected + GIVE_UP_S, 3)]
    assert buffer.nacks.missing == {}


def test_a_packet_never_retransmitted_costs_the_frames_until_the_next_keyframe_not_the_stream() -> None:
    uplink = FakeUplink()
    buffer = MarkedFrameJitterBuffer(uplink=uplink)
    lost = _seq(5, 1)
    # 15 fps: frame 5 loses a packet for good; the sender's keyframe (asked for) is frame 14.
    _stream(uplink, buffer, range(0, 20), lose={lost}, keyframes={0, 14})
    decoded = _numbers(uplink.decoded)
    # Nothing that depends on the lost packet reaches the decoder: frames 5..13 are never decoded.
    assert decoded == [0, 1, 2, 3, 4, *range(14, 20)]
    assert buffer.stats.video_frames_dropped == 9
    # The keyframe was asked for when the packet was given up, at its deadline...
    assert uplink.plis == [round(5 * FRAME_S + GIVE_UP_S, 3)]
    # ...and from the keyframe on, every frame goes on the moment it is complete: no added delay.
    assert uplink.decoded_at[5:] == [round(n * FRAME_S, 3) for n in range(14, 20)]


def test_a_keyframe_already_behind_the_gap_goes_on_when_the_gap_is_given_up() -> None:
    uplink = FakeUplink()
    buffer = MarkedFrameJitterBuffer(uplink=uplink)
    lost = _seq(2, 2)  # frame 2's marked packet
    _stream(uplink, buffer, range(0, 5), lose={lost}, keyframes={0, 4})
    assert _numbers(uplink.decoded) == [0, 1]
    uplink.advance(3 * FRAME_S + GIVE_UP_S - 0.01)  # its loss shows when frame 3 begins
    assert _numbers(uplink.decoded) == [0, 1]
    uplink.advance(3 * FRAME_S + GIVE_UP_S)
    # Frame 3 depended on the loss; frame 4 is a keyframe: it goes on, and no PLI is needed.
    assert _numbers(uplink.decoded) == [0, 1, 4]
    assert uplink.plis == []


def test_after_an_outage_longer_than_the_senders_history_a_keyframe_is_asked_for_at_once() -> None:
    uplink = FakeUplink()
    buffer = MarkedFrameJitterBuffer(uplink=uplink)
    _stream(uplink, buffer, range(0, 3), keyframes={0})
    # 100 frames (300 packets, more than the sender keeps) never arrive.
    outage = range(3, 103)
    assert len(outage) * PER_FRAME > SENDER_HISTORY
    _stream(uplink, buffer, range(103, 106), keyframes={105})
    assert uplink.nacks == []
    assert uplink.plis == [round(103 * FRAME_S, 3)]
    # The first frames after the outage may refer to frames never seen; the keyframe starts again.
    assert _numbers(uplink.decoded) == [0, 1, 2, 105]
    assert buffer.stats.uplink_packets_lost == len(outage) * PER_FRAME


def test_retries_wait_as_long_as_the_last_retransmission_took() -> None:
    uplink = FakeUplink()
    buffer = MarkedFrameJitterBuffer(uplink=uplink)
    _stream(uplink, buffer, range(0, 2), keyframes={0})
    # A first loss, retransmitted after 250 ms (a long round trip).
    first = _seq(2, 1)
    _stream(uplink, buffer, range(2, 3), lose={first})
    uplink.advance(2 * FRAME_S + 0.25)
    uplink.receive(buffer, _frame(2, _seq(2))[1])
    assert buffer.nacks.retry_s == pytest.approx(0.25)
    # A second loss: asked again 250 ms later, not 100 (the retransmission would not be back yet).
    second = _seq(10, 1)
    _stream(uplink, buffer, range(3, 11), lose={second})
    uplink.advance(10 * FRAME_S + 0.3)
    times = [at for at, seqs in uplink.nacks if second in seqs]
    assert times == [round(10 * FRAME_S, 3), round(10 * FRAME_S + 0.25, 3)]


def test_sequence_numbers_wrap_without_a_loss() -> None:
    uplink = FakeUplink()
    buffer = MarkedFrameJitterBuffer(uplink=uplink)
    _stream(uplink, buffer, range(0, 10), keyframes={0}, first_seq=65536 - 12)
    assert _numbers(uplink.decoded) == list(range(10))
    assert uplink.nacks == [] and buffer.stats.uplink_packets_lost == 0


def test_a_gap_that_shows_after_a_silent_stream_is_an_outage_not_a_burst_of_stale_retransmissions() -> None:
    uplink = FakeUplink()
    buffer = MarkedFrameJitterBuffer(uplink=uplink)
    _stream(uplink, buffer, range(0, 3), keyframes={0})
    # Nothing for a second (the sender's 15 frames, 45 packets, lost on the way: fewer than it keeps).
    _stream(uplink, buffer, range(18, 21), keyframes={20})
    assert uplink.nacks == []  # they would all be stale by now: none is asked for
    assert uplink.plis == [round(18 * FRAME_S, 3)]
    assert _numbers(uplink.decoded) == [0, 1, 2, 20]
