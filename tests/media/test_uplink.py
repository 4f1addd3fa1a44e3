"""The video buffer inside a real aiortc receiver (media/uplink.py reaches into aiortc's internals;
this is what an aiortc upgrade must keep passing): real VP8 packets, a NACK and its
retransmission, a packet never retransmitted, the PLI, and what reaches the decoder."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpDecodingParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import RemoteStreamTrack, RTCRtpReceiver
from aiortc.rtp import RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPacket, RtcpPsfbPacket, RtcpRtpfbPacket, RtpPacket

from podium.media.jitter import release_frames_when_marked
from podium.media.losses import LinkStats
from podium.media.nack import GIVE_UP_S

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
SSRC = 1234


class _Transport:
    """Where the receiver sends its RTCP (an RTCDtlsTransport's part of it)."""

    state = "connected"
    _stats_id = "transport"

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.extend(RtcpPacket.parse(data))

    def _register_rtp_receiver(self, *args: Any) -> None:
        pass

    def _unregister_rtp_receiver(self, *args: Any) -> None:
        pass

    def nacked(self) -> list[list[int]]:
        return [p.lost for p in self.sent if isinstance(p, RtcpRtpfbPacket) and p.fmt == RTCP_RTPFB_NACK]

    def plis(self) -> int:
        return sum(isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_PLI for p in self.sent)


def _packets(count: int, keyframes: set[int]) -> list[list[RtpPacket]]:
    """``count`` frames of a moving 320x240 picture, VP8 in RTP packets, several to a frame."""
    encoder = get_encoder(VP8)
    rng = np.random.default_rng(3)
    seq = 100
    frames = []
    for index in range(count):
        picture = av.VideoFrame.from_ndarray(
            rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), format="rgb24"
        )
        picture.pts, picture.time_base = index * 6000, Fraction(1, 90000)
        payloads, timestamp = encoder.encode(picture, force_keyframe=index in keyframes)
        frame = []
        for i, payload in enumerate(payloads):
            packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, ssrc=SSRC)
            packet.payload, packet.marker = payload, int(i == len(payloads) - 1)
            frame.append(packet)
            seq += 1
        frames.append(frame)
    return frames


async def _decoded(track: RemoteStreamTrack) -> list[int]:
    """The frame numbers decoded so far (pts / 6000)."""
    out = []
    await asyncio.sleep(0.2)  # the decoder thread
    while not track._queue.empty():
        frame = track._queue.get_nowait()
        out.append(round(frame.pts / 6000))
    return out


async def test_a_real_receiver_repairs_a_loss_and_resumes_at_a_keyframe_after_one_it_cannot() -> None:
    transport = _Transport()
    receiver = RTCRtpReceiver("video", transport)  # type: ignore[arg-type]
    receiver._track = track = RemoteStreamTrack(kind="video")
    stats = LinkStats()
    release_frames_when_marked(receiver, stats=stats)
    encoding = RTCRtpDecodingParameters(ssrc=SSRC, payloadType=96)
    await receiver.receive(RTCRtpReceiveParameters(codecs=[VP8], encodings=[encoding]))
    receiver._set_rtcp_ssrc(5678)
    frames = _packets(12, keyframes={0, 11})
    assert all(len(frame) > 1 for frame in frames)

    async def send(packet: RtpPacket) -> None:
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)

    try:
        for frame in frames[:3]:
            for packet in frame:
                await send(packet)
        # Frame 3's first packet is lost; 4 and 5 arrive complete.
        lost = frames[3][0]
        for frame in frames[3:6]:
            for packet in frame:
                if packet is not lost:
                    await send(packet)
        await asyncio.sleep(0.01)  # the NACK goes out on a task of its own
        assert transport.nacked() == [[lost.sequence_number]]  # once: aiortc's own NACKs are off
        assert await _decoded(track) == [0, 1, 2]
        await send(lost)  # the retransmission
        assert await _decoded(track) == [3, 4, 5]
        # Frame 6 loses a packet that never comes back; 7..10 depend on it; 11 is a keyframe.
        gone = frames[6][1]
        for frame in frames[6:11]:
            for packet in frame:
                if packet is not gone:
                    await send(packet)
        await asyncio.sleep(GIVE_UP_S + 0.1)
        assert transport.plis() == 1 and stats.uplink_plis == 1
        assert len([lost for lost in transport.nacked() if gone.sequence_number in lost]) >= 2  # asked again
        for packet in frames[11]:
            await send(packet)
        assert await _decoded(track) == [11]
        assert stats.video_frames_dropped == 5
        assert (stats.uplink_packets_lost, stats.uplink_packets_recovered) == (2, 1)
    finally:
        await receiver.stop()
