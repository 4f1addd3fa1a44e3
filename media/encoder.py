"""One encoder per quality tier and codec of the composite; every receiver of it gets its packets.

All tiers are fed the same canvas and the same pts (90 kHz clock), so a receiver
switching tiers sees continuous RTP timestamps. Packets carry ``pts`` and
``time_base``, which is what aiortc's ``Vp8Encoder.pack``/``H264Encoder.pack`` read.

Two codecs: H.264 (constrained baseline, what every browser decodes) is the one the
node prefers, because live streams and recordings need H.264 too and can then mux
the very packets the room receives. It costs about what VP8 does: on the composite,
x264 ``superfast`` takes 0.87-0.93x libvpx's CPU at -8 (both tiers) for 0.1-1.7 dB
less PSNR (``bench/compositor.py``). VP8 is for receivers that do not offer H.264.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import av
from av.video.frame import PictureType
from av.video.reformatter import Interpolation, VideoReformatter

from podium.media.yuv import plane_array

__all__ = ["CODECS", "TIERS", "VIDEO_TIME_BASE", "TierEncoder", "TierSpec", "h264_template"]

#: RTP's video clock.
VIDEO_TIME_BASE = Fraction(1, 90_000)
#: libvpx speed. Negative is a fixed speed; positive lets libvpx pick one from a share of
#: the frame interval measured in wall time, which on a busy shared host swings quality
#: with load. Measured on the composite (bench/compositor.py): -8 encodes 720p in ~5.5 ms
#: at the PSNR of -4 (~10 ms); -12/-16 save ~1-2 ms more but lose 1-4 dB.
DEFAULT_CPU_USED = -8
#: x264 speed: ``superfast`` keeps the deblocking filter that ``ultrafast`` drops (-1.5 dB on
#: the 360p tier) for about libvpx's CPU at -8; ``veryfast`` costs ~1.6x ``superfast``.
DEFAULT_X264_PRESET = "superfast"
#: The composite's codecs, the node's preference first.
CODECS: tuple[Literal["h264"], Literal["vp8"]] = ("h264", "vp8")
#: Keyframes come only on request (a receiver joins or reports loss); this just caps the gap.
_KEYFRAME_INTERVAL = 3000
#: Area averaging suits the exact 2:1 shrink from the 720p canvas to the 360p tier.
_INTERPOLATION = Interpolation.AREA


@dataclass(frozen=True, slots=True)
class TierSpec:
    """A quality tier: name, frame size and target bitrate (bits per second)."""

    name: str
    width: int
    height: int
    bitrate: int


TIERS = (TierSpec("high", 1280, 720, 1_200_000), TierSpec("low", 640, 360, 350_000))


class TierEncoder:
    """A real-time encoder for one tier (``codec``: ``vp8`` or ``h264``); scales the canvas to its size."""

    def __init__(
        self,
        name: str,
        width: int,
        height: int,
        bitrate: int,
        fps: int,
        cpu_used: int = DEFAULT_CPU_USED,
        codec: str = "vp8",
    ) -> None:
        self.name = name
        self.width = width
        self.height = height
        self.codec_name = codec
        self.codec = av.CodecContext.create("libx264" if codec == "h264" else "libvpx", "w")
        self.codec.width = width
        self.codec.height = height
        self.codec.pix_fmt = "yuv420p"
        self.codec.bit_rate = bitrate
        self.codec.framerate = Fraction(fps, 1)
        self.codec.time_base = VIDEO_TIME_BASE
        self.codec.gop_size = _KEYFRAME_INTERVAL
        self.codec.max_b_frames = 0
        # Rooms run in parallel across cores; threads inside one encoder would only contend.
        self.codec.thread_count = 1
        self.codec.options = _x264_options(bitrate) if codec == "h264" else _vp8_options(bitrate, cpu_used)
        if codec == "vp8":
            self.codec.qmin = 2
            self.codec.qmax = 56
        self._reformatter = VideoReformatter()

    @classmethod
    def from_spec(
        cls, spec: TierSpec, fps: int, cpu_used: int = DEFAULT_CPU_USED, codec: str = "vp8"
    ) -> TierEncoder:
        """An encoder for ``spec``."""
        return cls(spec.name, spec.width, spec.height, spec.bitrate, fps, cpu_used, codec)

    def encode(self, canvas: av.VideoFrame, pts: int, keyframe: bool = False) -> list[av.Packet[Any]]:
        """Encode ``canvas`` at ``pts`` (90 kHz) and return its packets; ``keyframe`` forces an I frame."""
        # Work on a private frame: the caller hands the same canvas to every tier (maybe from
        # several threads), and pts/pict_type are set per encode. A 720p copy costs ~0.03 ms.
        if (canvas.width, canvas.height) != (self.width, self.height):
            frame = self._reformatter.reformat(
                canvas,
                width=self.width,
                height=self.height,
                format="yuv420p",
                interpolation=_INTERPOLATION,
                threads=1,
            )
        else:
            frame = _copy_yuv420p(canvas)
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        frame.pict_type = PictureType.I if keyframe else PictureType.NONE
        packets = list(self.codec.encode(frame))
        for packet in packets:
            packet.time_base = VIDEO_TIME_BASE
        return packets


def _vp8_options(bitrate: int, cpu_used: int) -> dict[str, str]:
    return {
        "deadline": "realtime",
        "cpu-used": str(cpu_used),
        # Emit each frame's packet from its own encode() call: no lookahead latency.
        "lag-in-frames": "0",
        # Frames stay decodable after a lost packet as far as VP8 allows.
        "error-resilient": "1",
        # minrate = maxrate = bitrate makes libvpx run CBR, like aiortc's own encoder.
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "bufsize": str(bitrate),
        "undershoot-pct": "100",
        "overshoot-pct": "15",
        "static-thresh": "1",
    }


def _x264_options(bitrate: int) -> dict[str, str]:
    kbps = bitrate // 1000
    return {
        "preset": DEFAULT_X264_PRESET,
        # No lookahead, no B-frames: each frame's packet comes out of its own encode() call.
        "tune": "zerolatency",
        # Constrained baseline (profile-level-id 42e01f): what WebRTC peers must all decode.
        "profile": "baseline",
        "level": "3.1",
        # Keyframes only when asked (forced I frames become IDRs), SPS/PPS in front of each,
        # so a receiver or muxer can start at any of them; a one-second VBV caps the rate.
        "x264-params": f"scenecut=0:forced-idr=1:repeat-headers=1:vbv-maxrate={kbps}:vbv-bufsize={kbps}",
    }


def _copy_yuv420p(frame: av.VideoFrame) -> av.VideoFrame:
    """A new yuv420p frame with ``frame``'s pixels (converted if it is in another format)."""
    if frame.format.name != "yuv420p":
        return frame.reformat(format="yuv420p")
    copy = av.VideoFrame(frame.width, frame.height, "yuv420p")
    for index in range(3):
        plane_array(copy, index)[...] = plane_array(frame, index)
    return copy


def h264_template(keyframe: bytes) -> Any:
    """A stream to make output streams from: the parameters (SPS/PPS as extradata, size) of the
    Annex B H.264 access unit ``keyframe``, as FLV and MP4 muxers need them in their headers."""
    parsed = av.open(io.BytesIO(keyframe), mode="r", format="h264")
    stream = parsed.streams.video[0]
    if not stream.codec_context.extradata:
        parsed.close()
        raise ValueError("the keyframe carries no SPS/PPS")
    return stream
