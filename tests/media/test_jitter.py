"""The node's video jitter buffer: a frame goes on at its marked last packet (media/jitter.py)."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from podium.media.jitter import MarkedFrameJitterBuffer


def _packet(seq: int, timestamp: int, marker: bool) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, marker=marker)
    packet._data = bytes([seq])  # type: ignore[attr-defined]  # the depayloaded bytes, as the receiver sets
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
