"""The node's own RTP send loop (podium.media.sender) between two real aiortc peers.

What a receiver of the composite and the mix notices: pictures and sound decode, every
packet is the one aiortc would have written, a lost packet asked for again comes back, and
the sender's statistics count what went out. What the node notices: a frame shared by
many receivers is packed into RTP once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RTCP_RTPFB_NACK, RtcpRtpfbPacket, RtpPacket, is_rtcp

from podium.media.encoder import TierEncoder
from podium.media.fanout import Feed, PacketTrack
from podium.media.losses import LinkStats, watch_downlink
from podium.media.mixer import FRAME_SAMPLES, OpusStream
from podium.media.sender import send_shared_packets

FPS = 15
#: The picture's grey level: a receiver decoding something else (or nothing) reads another.
GREY = 200


async def _connect(sender_pc: RTCPeerConnection, receiver_pc: RTCPeerConnection) -> None:
    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)


async def _publish(video: Feed, audio: Feed, seconds: float) -> None:
    """A room's streams: H.264 at 15 fps (a keyframe each second) and a 440 Hz mix every 20 ms."""
    encoder = TierEncoder("high", 320, 180, 300_000, FPS, codec="h264")
    opus = OpusStream()
    frame = av.VideoFrame.from_ndarray(np.full((180, 320, 3), GREY, np.uint8), format="rgb24")
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(FRAME_SAMPLES) / 48_000)).astype(np.int16)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for tick in range(int(seconds * 50)):
        audio.publish(opus.encode(tone, tick * FRAME_SAMPLES))
        if tick % 3 == 0:
            video.publish(encoder.encode(frame, tick * 1800, keyframe=tick % 50 == 0))
        await asyncio.sleep(max(0.0, start + (tick + 1) * 0.02 - loop.time()))


async def _read(track: MediaStreamTrack, into: list[Any]) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            into.append(await track.recv())


async def test_a_receiver_decodes_what_the_shared_loop_sends_and_gets_lost_packets_again() -> None:
    video_feed, audio_feed = Feed("video-high-h264", "h264"), Feed("audio-mix", "opus")
    video_out, audio_out = PacketTrack("video"), PacketTrack("audio")
    node, receiver = RTCPeerConnection(), RTCPeerConnection()
    received: dict[str, list[Any]] = {"audio": [], "video": []}
    readers: list[asyncio.Task[None]] = []
    receiver.on("track", lambda t: readers.append(asyncio.ensure_future(_read(t, received[t.kind]))))
    audio_sender, video_sender = node.addTrack(audio_out), node.addTrack(video_out)
    codecs = RTCRtpSender.getCapabilities("video").codecs
    h264 = [c for c in codecs if c.mimeType in ("video/H264", "video/rtx")]
    node.getTransceivers()[1].setCodecPreferences(h264)
    assert send_shared_packets(audio_sender, audio_out) and send_shared_packets(video_sender, video_out)
    links = LinkStats()
    watch_downlink(video_sender, links)
    sent: list[bytes] = []
    try:
        await _connect(node, receiver)
        send_rtp = video_sender.transport._send_rtp

        async def spied(data: bytes) -> None:
            sent.append(data)
            await send_rtp(data)

        video_sender.transport._send_rtp = spied  # type: ignore[method-assign]
        audio_out.follow(audio_feed)
        video_out.follow(video_feed)
        await _publish(video_feed, audio_feed, 3.0)

        # Pictures and sound, as encoded: the grey plane and a tone well above silence.
        frames = [f for f in received["video"] if isinstance(f, av.VideoFrame)]
        assert len(frames) >= 2 * FPS, f"{len(frames)} pictures in 3 s"
        assert abs(int(np.median(frames[-1].to_ndarray(format="rgb24"))) - GREY) <= 8
        samples = np.concatenate([f.to_ndarray().ravel() for f in received["audio"][-50:]])
        assert len(received["audio"]) >= 100 and np.abs(samples).max() > 2000

        # Each packet is what aiortc writes for those fields, its extensions (mid, abs-send-time)
        # included; the sequence numbers run on without a gap and a frame ends on the marker.
        extensions = vars(video_sender)["_RTCRtpSender__rtp_header_extensions_map"]
        rtp = [(data, RtpPacket.parse(data, extensions)) for data in sent if not is_rtcp(data)]
        video = [(data, packet) for data, packet in rtp if packet.ssrc == video_sender._ssrc]
        for data, packet in video:
            assert packet.serialize(extensions) == data
            assert packet.extensions.mid == "1" and packet.extensions.abs_send_time is not None
        video_packets = [packet for _, packet in video]
        numbers = [p.sequence_number for p in video_packets]
        assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(numbers))
        assert video_packets[-1].marker == 1

        # A NACK for the last packet: it comes back as RTX (its sequence number, then its payload).
        last = video_packets[-1]
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=video_sender._ssrc)
        nack.lost = [last.sequence_number]
        sent.clear()
        await video_sender._handle_rtcp_packet(nack)
        (resent,) = (RtpPacket.parse(data, extensions) for data in sent if not is_rtcp(data))
        assert resent.ssrc == video_sender._rtx_ssrc
        assert resent.payload == last.sequence_number.to_bytes(2, "big") + last.payload
        assert links.retransmissions == 1

        # Sender statistics (and the sender reports built from them) count what went out.
        stats = [s for s in (await video_sender.getStats()).values() if s.type == "outbound-rtp"]
        assert stats[0].packetsSent >= len(video_packets)
        assert stats[0].bytesSent >= sum(len(p.payload) for p in video_packets)
    finally:
        await node.close()
        await receiver.close()
        for task in readers:
            task.cancel()


async def test_a_frame_followed_by_many_receivers_is_packed_into_rtp_once() -> None:
    feed = Feed("video-high-vp8", "vp8")
    tracks = [PacketTrack("video") for _ in range(3)]
    for track in tracks:
        track.follow(feed)
    encoder = TierEncoder("high", 320, 180, 300_000, FPS, codec="vp8")
    picture = av.VideoFrame.from_ndarray(np.zeros((180, 320, 3), np.uint8), format="rgb24")
    for index in range(3):
        feed.publish(encoder.encode(picture, index * 6000, keyframe=index == 0))
    per_track = [[await track.next_outgoing() for _ in range(3)] for track in tracks]
    for first, *others in zip(*per_track, strict=True):
        assert all(other is first for other in others)
        assert all(other.packed() is first.packed() for other in others)
    # VP8's picture id counts the feed's pictures, one apart, whoever packed them first.
    ids = [int.from_bytes(out.packed()[0][0][2:4], "big") & 0x7FFF for out in per_track[0]]
    assert [(b - a) % 32768 for a, b in itertools.pairwise(ids)] == [1, 1]
