"""Keyframes and frame starts read from real VP8 and H.264 RTP payloads (aiortc's packetizers),
which is what the video buffer resumes on after a loss (media/bitstream.py)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from podium.media.bitstream import is_keyframe, starts_frame

CODECS = {
    "vp8": RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96),
    "h264": RTCRtpCodecParameters(
        mimeType="video/H264",
        clockRate=90000,
        payloadType=102,
        parameters={"packetization-mode": "1", "profile-level-id": "42e01f"},
    ),
}


def _frames(codec: str, count: int) -> list[list[bytes]]:
    """``count`` frames of a moving, noisy 640x480 picture as RTP payloads; the first a keyframe."""
    encoder = get_encoder(CODECS[codec])
    rng = np.random.default_rng(7)
    frames = []
    for index in range(count):
        picture = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts, frame.time_base = index * 3000, Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=index == 0)
        frames.append(payloads)
    return frames


@pytest.mark.parametrize("codec", ["vp8", "h264"])
def test_keyframes_and_frame_starts_are_read_from_real_payloads(codec: str) -> None:
    frames = _frames(codec, 3)
    assert all(len(payloads) > 1 for payloads in frames)  # several packets each: the starts matter
    assert [is_keyframe(codec, payloads) for payloads in frames] == [True, False, False]
    # Where decoding may resume: a frame's first packet (and in H.264 also the first slice after
    # the parameter sets, which a decoder that has seen them before decodes as well).
    starts = [
        [i for i, payload in enumerate(payloads) if starts_frame(codec, payload)] for payloads in frames
    ]
    assert starts == ([[0, 1], [0], [0]] if codec == "h264" else [[0], [0], [0]])


def test_a_forced_keyframe_mid_stream_is_found() -> None:
    encoder = get_encoder(CODECS["h264"])
    picture = av.VideoFrame.from_ndarray(np.zeros((240, 320, 3), dtype=np.uint8), format="rgb24")
    found = []
    for index in range(4):
        picture.pts, picture.time_base = index * 3000, Fraction(1, 90000)
        payloads, _ = encoder.encode(picture, force_keyframe=index in (0, 3))
        found.append(is_keyframe("h264", payloads))
    assert found == [True, False, False, True]


def test_a_codec_it_cannot_read_never_holds_frames_back() -> None:
    assert is_keyframe("opus", [b"\x78\x01"]) is True
    assert starts_frame(None, b"\x10") is None
