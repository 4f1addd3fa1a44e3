"""Opus on lossy links: the node's answer asks browsers for in-band FEC and DTX; the node's own
encoders put FEC in the mix (a browser that loses a packet plays its copy from the next)."""

from __future__ import annotations

import ctypes
import glob
import os
import re

import av
import numpy as np
import pytest
from aiortc.rtp import (
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
)

from podium.media.mixer import FRAME_SAMPLES, AudioMixer, OpusStream
from podium.media.session import RoomEvents, RoomSession

# What Chromium offers for one microphone and one camera (trimmed to the codecs that matter).
CHROMIUM_OFFER = """v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS stream
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Vx3c
a=ice-pwd:qE7Rq8gWq0hAOyB1n4N3B0pR
a=ice-options:trickle
a=fingerprint:sha-256 {fingerprint}
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendrecv
a=msid:stream audio-track
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:1001 cname:chromium
m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Vx3c
a=ice-pwd:qE7Rq8gWq0hAOyB1n4N3B0pR
a=ice-options:trickle
a=fingerprint:sha-256 {fingerprint}
a=setup:actpass
a=mid:1
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendrecv
a=msid:stream video-track
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=ssrc-group:FID 2001 2002
a=ssrc:2001 cname:chromium
a=ssrc:2002 cname:chromium
""".format(fingerprint=":".join(["7B", "8B", "F0", "65", "5F", "78", "E2", "51"] * 4)).replace("\n", "\r\n")


def _room(key: str) -> RoomSession:
    return RoomSession(key, RoomEvents(speaker=lambda _: None, visible=lambda *_: None, gone=lambda *_: None))


def _section(sdp: str, kind: str) -> str:
    return next(part for part in sdp.split("m=")[1:] if part.startswith(kind))


async def test_the_answer_asks_for_opus_dtx_and_keeps_nack_and_pli_for_video() -> None:
    room = RoomSession(
        "test:1", RoomEvents(speaker=lambda _: None, visible=lambda *_: None, gone=lambda *_: None)
    )
    try:
        answer = await room.connect(
            "p1", "Ada", CHROMIUM_OFFER.replace("\n", "\r\n"), audio_muted=False, video_muted=False
        )
        audio = _section(answer, "audio")
        fmtp = re.search(r"a=fmtp:111 (\S+)", audio)
        assert fmtp is not None, audio
        params = dict(item.split("=") for item in fmtp.group(1).split(";"))
        # DTX, and no FEC the node could not decode (the browser would spend uplink bits on it).
        assert params["usedtx"] == "1" and "useinbandfec" not in params
        # The video answer keeps what loss repair needs from the browser: NACK (with RTX) and PLI.
        video = _section(answer, "video")
        assert "a=rtcp-fb:96 nack\r\n" in video and "a=rtcp-fb:96 nack pli" in video
        assert "a=fmtp:97 apt=96" in video
    finally:
        await room.close()


async def test_what_a_participant_reports_about_its_downlinks_is_counted_and_outlives_its_connection() -> (
    None
):
    room = RoomSession(
        "test:2", RoomEvents(speaker=lambda _: None, visible=lambda *_: None, gone=lambda *_: None)
    )
    try:
        await room.connect(
            "p1", "Ada", CHROMIUM_OFFER.replace("\n", "\r\n"), audio_muted=False, video_muted=False
        )
        pc = room.participants["p1"].pc
        audio, video = (t.sender for t in pc.getTransceivers())
        report = RtcpReceiverInfo(
            ssrc=audio._ssrc, fraction_lost=26, packets_lost=7, highest_sequence=0, jitter=0, lsr=0, dlsr=0
        )
        await audio._handle_rtcp_packet(RtcpRrPacket(ssrc=1001, reports=[report]))
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=2001, media_ssrc=video._ssrc)
        nack.lost = [1, 2]
        await video._handle_rtcp_packet(nack)
        await video._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=2001, media_ssrc=video._ssrc))
        # 10 % of the mix lost: that listener's own mix (when they speak) carries FEC.
        assert room.mixer.fec_for("p1")
        await room.disconnect("p1")
        counters = room.network_counters()
        assert counters["downlink_packets_lost"] == 7
        assert counters["downlink_nacks"] == 1 and counters["downlink_plis"] == 1
        assert counters["retransmissions"] == 0  # nothing was sent yet: nothing to resend
    finally:
        await room.close()


def _libopus() -> ctypes.CDLL:
    """The libopus PyAV carries (for ``opus_packet_has_lbrr``, libopus 1.5+)."""
    found = glob.glob(os.path.join(os.path.dirname(av.__file__), "..", "av.libs", "libopus*"))
    if not found or not hasattr(lib := ctypes.CDLL(found[0]), "opus_packet_has_lbrr"):
        pytest.skip("no libopus 1.5+ next to PyAV to read the packets with")
    lib.opus_packet_has_lbrr.argtypes = [ctypes.c_char_p, ctypes.c_int32]
    return lib


def _voice(frames: int) -> list[np.ndarray]:
    """A voiced, syllabic signal (harmonics of a gliding pitch), 20 ms frames."""
    t = np.arange(frames * FRAME_SAMPLES) / 48_000
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.7 * t)) / 48_000
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12)) * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    return list((voiced * 6000).astype(np.int16).reshape(frames, FRAME_SAMPLES))


def _lbrr_share(stream: OpusStream, lib: ctypes.CDLL) -> float:
    packets = [
        bytes(p) for i, frame in enumerate(_voice(100)) for p in stream.encode(frame, i * FRAME_SAMPLES)
    ]
    with_fec = sum(int(lib.opus_packet_has_lbrr(p, len(p)) == 1) for p in packets)
    return with_fec / len(packets)


def test_the_shared_mix_carries_in_band_fec_and_still_decodes() -> None:
    lib = _libopus()
    assert _lbrr_share(OpusStream(fec=True), lib) > 0.3
    assert _lbrr_share(OpusStream(), lib) == 0
    # The mixer's shared mix is the FEC one; a mix-minus only for a listener whose link loses.
    mixer = AudioMixer(k=1, fec_for=lambda pid: pid == "lossy")
    frames = _voice(20)
    decoder = av.CodecContext.create("libopus", "r")
    decoded = 0
    for frame in frames:
        result = mixer.tick({"lossy": frame, "quiet": None})
        for packet in result.shared:
            decoded += len(decoder.decode(packet))
    assert mixer.shared.fec and mixer.personal["lossy"].fec
    assert decoded >= len(frames) - 1
