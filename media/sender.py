"""The node's RTP send loop: a frame's packets written with what differs per receiver, no more.

aiortc's ``RTCRtpSender`` loop packs every shared frame again for each receiver, builds each
packet as an object, serialises its header extensions per packet and reads an NTP timestamp
through ``datetime`` twice per packet; at 100 receivers that loop was 57 % of the node
(docs/benchmarks.md). Here a feed packs each frame once (``Outgoing.packed``) and a receiver's
loop writes, per packet, one ``struct.pack`` of the fixed header (sequence number, marker) in
front of the frame's shared extension block and payload: the bytes aiortc would send.

The rest of aiortc's sender stays its own: RTCP, sender reports and stats read the counters
kept here, and a NACK resends from its history, which holds the packets as bytes and parses
one only when it is asked for. The loop replaces ``_run_rtp`` on the instance, as this
package's other sender hooks do, and is installed only where the aiortc it runs with keeps
the attributes it feeds (aiortc is pinned in the lock; a test sends through it end to end).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from typing import Any

from aiortc import RTCRtpCodecParameters, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions, HeaderExtensionsMap, RtpPacket
from aiortc.utils import random32

from podium.media.fanout import PacketTrack

__all__ = ["send_shared_packets"]

log = logging.getLogger(__name__)

#: aiortc's name-mangled ``RTCRtpSender`` attributes this loop reads or keeps up to date.
_PRIVATE = "_RTCRtpSender__"
_NEEDED = (
    "rtp_started",
    "rtp_exited",
    "rtp_header_extensions_map",
    "rtp_history",
    "mid",
    "ntp_timestamp",
    "rtp_timestamp",
    "octet_count",
    "packet_count",
)
#: Seconds from the NTP epoch (1900) to the Unix one.
_NTP_UNIX = 2_208_988_800
_HEADER = struct.Struct("!BBHLL")
_EXTENSION_HEADER = struct.Struct("!HH")
#: Version 2, no padding, no CSRC; 0x10: header extensions follow.
_V2 = 0x80
_WITH_EXTENSIONS = 0x10


def _ntp_now() -> int:
    """What ``aiortc.clock.current_ntp_time`` returns, without a ``datetime`` on the way."""
    now = time.time() + _NTP_UNIX
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * (1 << 32))


class _BytesHistory(dict[int, bytes]):
    """aiortc's retransmission history, held as the bytes sent: parsed when a NACK asks."""

    def __init__(self, extensions: HeaderExtensionsMap) -> None:
        super().__init__()
        self._extensions = extensions

    def get(self, key: int, default: Any = None) -> Any:
        data = super().get(key)
        return default if data is None else RtpPacket.parse(data, self._extensions)


def send_shared_packets(sender: RTCRtpSender, track: PacketTrack) -> bool:
    """Send ``track``'s feed through this module's loop once ``sender`` starts (False: this aiortc
    lacks what the loop feeds, and its own loop sends)."""
    private = vars(sender)
    if not all(_PRIVATE + name in private for name in _NEEDED):
        log.warning("aiortc's RTCRtpSender has changed: its own send loop is used")
        return False

    async def run_rtp(codec: RTCRtpCodecParameters) -> None:
        await _run_rtp(sender, private, track, codec)

    sender._run_rtp = run_rtp  # type: ignore[method-assign]
    return True


async def _run_rtp(
    sender: RTCRtpSender, private: dict[str, Any], track: PacketTrack, codec: RTCRtpCodecParameters
) -> None:
    private[_PRIVATE + "rtp_started"].set()
    extensions: HeaderExtensionsMap = private[_PRIVATE + "rtp_header_extensions_map"]
    history = _BytesHistory(extensions)
    private[_PRIVATE + "rtp_history"] = history
    mid = private[_PRIVATE + "mid"]
    payload_type, ssrc = codec.payloadType, sender._ssrc
    assert payload_type is not None  # negotiated before the loop starts
    sequence, origin = random_sequence_number(), random32()
    octets = packets = 0
    try:
        while True:
            outgoing = await track.next_outgoing()
            if not sender._enabled:
                continue
            payloads, timestamp = outgoing.packed()
            timestamp = (origin + timestamp) & 0xFFFFFFFF
            ntp = _ntp_now()
            # One abs-send-time for the frame: its packets leave together.
            profile, block = extensions.set(HeaderExtensions(mid=mid, abs_send_time=(ntp >> 14) & 0xFFFFFF))
            first = _V2 | _WITH_EXTENSIONS if block else _V2
            tail = _EXTENSION_HEADER.pack(profile, len(block) >> 2) + block if block else b""
            last = len(payloads) - 1
            transport = sender.transport
            for i, payload in enumerate(payloads):
                data = (
                    _HEADER.pack(first, (i == last) << 7 | payload_type, sequence, timestamp, ssrc)
                    + tail
                    + payload
                )
                history[sequence % RTP_HISTORY_SIZE] = data
                await transport._send_rtp(data)
                sequence = (sequence + 1) & 0xFFFF
                octets += len(payload)
            packets += len(payloads)
            private[_PRIVATE + "ntp_timestamp"] = ntp
            private[_PRIVATE + "rtp_timestamp"] = timestamp
            private[_PRIVATE + "octet_count"] = octets
            private[_PRIVATE + "packet_count"] = packets
    except (asyncio.CancelledError, ConnectionError, MediaStreamError):
        pass
    except Exception:
        # aiortc's stop() waits for the loop to say it exited: never leave without saying so.
        log.exception("the RTP send loop failed")
    track.stop()
    private[_PRIVATE + "rtp_exited"].set()
