"""What a participant's connection to the node went through: losses, repairs, keyframe requests.

Uplinks (participant to node) are counted by the node's receive buffers
(``podium.media.jitter``, ``podium.media.audio_jitter``) and the NACKs and PLIs it
sends; downlinks (node to participant) by the RTCP the participant sends back:
receiver reports (cumulative packets lost), NACKs (each answered with the
retransmissions aiortc still has), PLIs and FIRs. A room sums its participants'
``LinkStats`` into ``node.stats`` and, per room, into ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RTP_HISTORY_SIZE,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
)

__all__ = ["COUNTERS", "LinkStats", "watch_downlink"]

#: The ``node.stats`` names of the counters a ``LinkStats`` adds up (tier changes come as
#: ``tier_changes_<tier>`` besides).
COUNTERS = (
    "uplink_packets_lost",
    "uplink_packets_recovered",
    "uplink_nacks",
    "uplink_plis",
    "video_frames_dropped",
    "audio_concealed",
    "downlink_packets_lost",
    "downlink_nacks",
    "retransmissions",
    "downlink_plis",
)


@dataclass
class LinkStats:
    """One participant's counters (all cumulative over their connection)."""

    #: Uplink packets found missing by the node's buffers (before any retransmission)...
    uplink_packets_lost: int = 0
    #: ...and of those, how many arrived in time after all (retransmitted, or just late).
    uplink_packets_recovered: int = 0
    #: RTCP NACK and PLI packets the node sent on this participant's uplinks.
    uplink_nacks: int = 0
    uplink_plis: int = 0
    #: Uplink video frames never decoded: incomplete, or depending on lost data (until a keyframe).
    video_frames_dropped: int = 0
    #: Uplink audio frames the mix went without (lost packets skipped so as not to stall).
    audio_concealed: int = 0
    #: Downlink RTCP: NACK packets, packets retransmitted for them, PLIs and FIRs.
    downlink_nacks: int = 0
    retransmissions: int = 0
    downlink_plis: int = 0
    #: The latest cumulative ``packets lost`` each of the node's senders heard (by kind).
    downlink_lost: dict[str, int] = field(default_factory=dict)
    #: The latest ``fraction lost`` (0..1) each of the node's senders heard (by kind).
    downlink_fraction: dict[str, float] = field(default_factory=dict)
    #: Composite tier changes the receiver's bandwidth made, by the tier moved to.
    tier_changes: dict[str, int] = field(default_factory=dict)

    @property
    def downlink_packets_lost(self) -> int:
        return sum(self.downlink_lost.values())

    def counters(self) -> dict[str, float]:
        """The ``node.stats`` view: every counter by name."""
        out: dict[str, float] = {name: getattr(self, name) for name in COUNTERS}
        for tier, count in self.tier_changes.items():
            out[f"tier_changes_{tier}"] = count
        return out


def watch_downlink(sender: RTCRtpSender, stats: LinkStats) -> None:
    """Count the RTCP a participant sends about what ``sender`` sends them (wraps its handler)."""
    handle: Callable[[Any], Awaitable[None]] = sender._handle_rtcp_packet
    kind = sender.kind

    async def counted(packet: Any) -> None:
        if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == sender._ssrc:
                    stats.downlink_lost[kind] = max(0, report.packets_lost)
                    stats.downlink_fraction[kind] = report.fraction_lost / 256
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            stats.downlink_nacks += 1
            # aiortc resends what its history (the last 128 packets) still holds, silently.
            history = getattr(sender, "_RTCRtpSender__rtp_history", {})
            stats.retransmissions += sum(
                1
                for seq in packet.lost
                if (kept := history.get(seq % RTP_HISTORY_SIZE)) is not None and kept.sequence_number == seq
            )
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            stats.downlink_plis += 1
        await handle(packet)

    sender._handle_rtcp_packet = counted  # type: ignore[method-assign]
