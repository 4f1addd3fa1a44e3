"""Just enough of VP8's and H.264's RTP payloads to resume decoding after a loss.

After giving up on a lost packet, a receive buffer must not hand the decoder a
frame that refers to the lost data: it drops frames until a keyframe. It needs
two answers from a packet's raw RTP payload (the bytes before aiortc
depayloads them): does this packet begin a frame, and is this frame a keyframe?

- VP8 (RFC 7741): the payload descriptor's S bit with partition 0 begins a frame;
  the VP8 payload header's P bit (0) marks a keyframe.
- H.264 (RFC 6184): an access unit begins with an access unit delimiter, an SPS,
  or a slice whose ``first_mb_in_slice`` is 0 (the first bit of the slice header
  is 1); an IDR slice (NAL type 5) or an SPS (7) marks a keyframe, whether it is a
  single NAL unit, inside a STAP-A, or the first fragment of an FU-A.

Any other codec: ``None``, "cannot tell" (audio frames are all independent).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["is_keyframe", "starts_frame"]

_NAL_IDR = 5
_NAL_SPS = 7
_NAL_AUD = 9
_NAL_STAP_A = 24
_NAL_FU_A = 28
_SLICES = (1, _NAL_IDR)


def starts_frame(codec: str | None, payload: bytes) -> bool | None:
    """Whether this packet carries the first bytes of a frame (``None``: unknown codec)."""
    if not payload:
        return False
    if codec == "vp8":
        return bool(payload[0] & 0x10) and payload[0] & 0x07 == 0  # S bit, partition 0
    if codec == "h264":
        for nal_type, body in _nal_units(payload):
            if nal_type in (_NAL_AUD, _NAL_SPS):
                return True
            if nal_type in _SLICES:
                return bool(body and body[0] & 0x80)  # first_mb_in_slice == 0 (ue(v) "1")
            return False
        return False
    return None


def is_keyframe(codec: str | None, payloads: Iterable[bytes]) -> bool:
    """Whether the frame made of these packets (in order, complete) decodes on its own.

    Unknown codecs answer True: the buffer then never holds their frames back."""
    if codec == "vp8":
        first = next(iter(payloads), b"")
        header = _vp8_header(first)
        return header is not None and header & 0x01 == 0
    if codec == "h264":
        return any(
            nal_type in (_NAL_IDR, _NAL_SPS) for payload in payloads for nal_type, _ in _nal_units(payload)
        )
    return True


def _vp8_header(payload: bytes) -> int | None:
    """The first byte of the VP8 payload header, past the payload descriptor (RFC 7741 4.2)."""
    if not payload:
        return None
    pos = 1
    if payload[0] & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            return None
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            pos += 2 if len(payload) > pos and payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/KEYIDX byte
            pos += 1
    return payload[pos] if len(payload) > pos else None


def _nal_units(payload: bytes) -> Iterator[tuple[int, bytes]]:
    """(NAL type, the bytes after its NAL header) of the NAL units this packet starts."""
    if not payload:
        return
    nal_type = payload[0] & 0x1F
    if nal_type == _NAL_STAP_A:
        pos = 1
        while pos + 2 < len(payload):
            size = int.from_bytes(payload[pos : pos + 2], "big")
            unit = payload[pos + 2 : pos + 2 + size]
            if unit:
                yield unit[0] & 0x1F, unit[1:]
            pos += 2 + size
    elif nal_type == _NAL_FU_A:
        if len(payload) > 1 and payload[1] & 0x80:  # the start fragment carries the original type
            yield payload[1] & 0x1F, payload[2:]
    elif 1 <= nal_type <= 23:
        yield nal_type, payload[1:]
