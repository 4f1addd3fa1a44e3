"""The node's audio receive buffer (media/audio_jitter.py): 40 ms deep whatever is lost, lost
packets skipped at once, audio its sender marks as quiet left undecoded (DTX silence too)."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from podium.media.audio_jitter import HANGOVER_PACKETS, QUIET_DBOV, AudioJitterBuffer
from tests.support.uplink import FakeUplink


def _audio(seq: int, level: int | None, timestamp: int | None = None) -> RtpPacket:
    """A 20 ms Opus packet carrying its sender's level (-dBov: 0 loudest, 127 silence), or none."""
    packet = RtpPacket(
        payload_type=111, sequence_number=seq, timestamp=seq * 960 if timestamp is None else timestamp
    )
    packet.extensions.audio_level = None if level is None else (level < QUIET_DBOV, level)
    packet.payload = packet._data = bytes([seq % 256])  # type: ignore[attr-defined]
    return packet


def _decoded(buffer: AudioJitterBuffer, packets: list[RtpPacket]) -> list[int]:
    """The sequence numbers of the frames the buffer hands to the decoder."""
    frames = (buffer.add(p)[1] for p in packets)
    return [frame.timestamp // 960 for frame in frames if frame is not None]


def test_quiet_audio_is_left_undecoded_after_a_hangover_and_a_loud_packet_resumes_at_once() -> None:
    buffer = AudioJitterBuffer()
    talking = _decoded(buffer, [_audio(seq, 20) for seq in range(1, 11)])
    assert talking == list(range(1, 9))  # 40 ms behind: two packets held
    # Silence: the two held and the hangover's 10 packets still go through, then nothing is decoded.
    silent = _decoded(buffer, [_audio(seq, 127) for seq in range(11, 61)])
    assert silent == list(range(9, 11 + HANGOVER_PACKETS))
    assert buffer.skipped == 50 - HANGOVER_PACKETS
    # Speaking again: the first loud packet is decoded, after the usual 40 ms, not lost to the gap.
    again = _decoded(buffer, [_audio(seq, 30) for seq in range(61, 66)])
    assert again == [61, 62, 63]
    assert buffer.stats.audio_concealed == 0 and buffer.stats.uplink_packets_lost == 0


def test_audio_without_levels_and_audio_at_the_mix_floor_is_always_decoded() -> None:
    buffer = AudioJitterBuffer()
    assert len(_decoded(buffer, [_audio(seq, None) for seq in range(1, 101)])) == 98
    buffer = AudioJitterBuffer()
    assert len(_decoded(buffer, [_audio(seq, QUIET_DBOV) for seq in range(1, 101)])) == 98
    assert buffer.skipped == 0


def test_a_lost_packet_is_skipped_at_once_and_the_delay_stays_at_40_ms() -> None:
    uplink = FakeUplink(codec_name="opus")
    buffer = AudioJitterBuffer(uplink=uplink)
    lost = {10, 30, 31, 32}
    # Each packet arrives 20 ms after the previous; what comes out is checked as it arrives.
    delays_ms = []
    for seq in range(1, 101):
        uplink.advance(seq * 0.02)
        before = len(uplink.decoded)
        if seq not in lost:
            uplink.receive(buffer, _audio(seq, 20))
        for frame in uplink.decoded[before:]:
            delays_ms.append(round((seq - frame.timestamp // 960) * 20))
    out = [frame.timestamp // 960 for frame in uplink.decoded]
    # Every packet that arrived was decoded, in order; the lost ones were skipped, not waited for.
    assert out == [seq for seq in range(1, 99) if seq not in lost]
    assert buffer.stats.audio_concealed == len(lost) and buffer.stats.uplink_packets_lost == len(lost)
    # No frame waited more than its 40 ms plus the lost packets right after it (whose place it
    # waited to see filled), and after the losses the delay is 40 ms again: it does not grow.
    assert max(delays_ms) <= 40 + 20 * 3
    assert delays_ms[-20:] == [40] * 20


def test_a_late_packet_that_arrives_within_40_ms_is_decoded_in_its_place() -> None:
    uplink = FakeUplink(codec_name="opus")
    buffer = AudioJitterBuffer(uplink=uplink)
    for seq in [1, 2, 3, 5, 4, 6, 7, 8]:  # 4 overtaken by 5
        uplink.receive(buffer, _audio(seq, 20))
    assert [frame.timestamp // 960 for frame in uplink.decoded] == [1, 2, 3, 4, 5, 6]
    assert buffer.stats.audio_concealed == 0
    assert (buffer.stats.uplink_packets_lost, buffer.stats.uplink_packets_recovered) == (1, 1)


def test_dtx_silence_is_left_out_and_speech_after_it_goes_on_at_40_ms() -> None:
    """A browser with usedtx=1: while silent, one packet per 400 ms; sequence numbers go on by one,
    timestamps jump."""
    uplink = FakeUplink(codec_name="opus")
    buffer = AudioJitterBuffer(uplink=uplink)
    for seq in range(1, 21):  # 400 ms of speech
        uplink.receive(buffer, _audio(seq, 20))
    # DTX: the first silent packet 20 ms after the last word, then every 400 ms.
    timestamp = 20 * 960
    for seq in range(21, 31):
        timestamp += 960 if seq == 21 else 19_200
        uplink.receive(buffer, _audio(seq, 127, timestamp))
    assert buffer.skipped == 9  # all but the first (within the 200 ms hangover) left out
    # Speech again: decoded 40 ms (two packets) behind, as before; nothing counted as lost.
    before = len(uplink.decoded)
    for seq in range(31, 36):
        timestamp += 960 if seq > 31 else 19_200
        uplink.receive(buffer, _audio(seq, 20, timestamp))
    assert [frame.data[0] for frame in uplink.decoded[before:]] == [31, 32, 33]
    assert buffer.stats.uplink_packets_lost == 0 and buffer.stats.audio_concealed == 0
