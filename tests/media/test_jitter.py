"""The node's jitter buffers (media/jitter.py): a video frame goes on at its marked last packet;
audio its sender marks as quiet is left undecoded."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from podium.media.jitter import HANGOVER_PACKETS, QUIET_DBOV, AudioJitterBuffer, MarkedFrameJitterBuffer


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


def _audio(seq: int, level: int | None) -> RtpPacket:
    """A 20 ms Opus packet carrying its sender's level (-dBov: 0 loudest, 127 silence), or none."""
    packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
    packet.extensions.audio_level = None if level is None else (level < QUIET_DBOV, level)
    packet._data = bytes([seq % 256])  # type: ignore[attr-defined]
    return packet


def _decoded(buffer: AudioJitterBuffer, packets: list[RtpPacket]) -> list[int]:
    """The sequence numbers of the frames the buffer hands to the decoder."""
    frames = (buffer.add(p)[1] for p in packets)
    return [frame.timestamp // 960 for frame in frames if frame is not None]


def test_quiet_audio_is_left_undecoded_after_a_hangover_and_a_loud_packet_resumes_at_once() -> None:
    buffer = AudioJitterBuffer()
    talking = _decoded(buffer, [_audio(seq, 20) for seq in range(1, 11)])
    assert talking == list(range(1, 9))  # 40 ms behind: two packets held
    # Silence: the hangover's 10 packets still go through, then nothing is decoded.
    silent = _decoded(buffer, [_audio(seq, 127) for seq in range(11, 61)])
    assert silent == list(range(9, 9 + HANGOVER_PACKETS))
    assert buffer.skipped == 50 - HANGOVER_PACKETS
    # Speaking again: the first loud packet is decoded, after the usual 40 ms, not lost to the gap.
    again = _decoded(buffer, [_audio(seq, 30) for seq in range(61, 66)])
    assert again == [61, 62, 63]


def test_audio_without_levels_and_audio_at_the_mix_floor_is_always_decoded() -> None:
    buffer = AudioJitterBuffer()
    assert len(_decoded(buffer, [_audio(seq, None) for seq in range(1, 101)])) == 98
    buffer = AudioJitterBuffer()
    assert len(_decoded(buffer, [_audio(seq, QUIET_DBOV) for seq in range(1, 101)])) == 98
    assert buffer.skipped == 0
