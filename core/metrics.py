"""Prometheus metrics: what ``/metrics`` exposes, and the small API other modules report through.

Counters and histograms are process-wide (one per metric name, as Prometheus clients
expect); gauges that describe shared state (rooms, media nodes, the job queue) are read
when ``/metrics`` is scraped. Modules that are not part of the realtime path report
through three calls, so they need not know about Prometheus::

    from podium.core import metrics
    metrics.webhook_delivery_failed("timeout")
    metrics.job_failed("deliver_webhook")
    metrics.recordings_in_progress(lambda: count)   # a sync or async callable
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from podium.media.registry import NodeRecord

__all__ = [
    "CONTENT_TYPE_LATEST",
    "JOIN_SECONDS",
    "WS_MESSAGES",
    "Snapshot",
    "job_failed",
    "recordings_in_progress",
    "render",
    "webhook_delivery_failed",
]

JOIN_SECONDS = Histogram(
    "podium_join_seconds",
    "From WebSocket accept to welcome (or lobby.waiting) queued",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WS_MESSAGES = Counter(
    "podium_ws_messages", "WebSocket messages on this node", ["direction"]
)  # direction: in | out
_WEBHOOK_FAILURES = Counter(
    "podium_webhook_delivery_failures", "Webhook delivery attempts that failed", ["reason"]
)
_JOB_FAILURES = Counter("podium_job_failures", "Background jobs that raised", ["job"])

RecordingsSource = Callable[[], int | Awaitable[int]]
_recordings: list[RecordingsSource] = []


def webhook_delivery_failed(reason: str = "error") -> None:
    """Count one failed webhook delivery attempt (``reason``: timeout, status, network …)."""
    _WEBHOOK_FAILURES.labels(reason=reason).inc()


def job_failed(job: str) -> None:
    """Count one background job run that raised."""
    _JOB_FAILURES.labels(job=job).inc()


def recordings_in_progress(source: RecordingsSource) -> None:
    """Register where the number of recordings in progress comes from (read at each scrape)."""
    _recordings.append(source)


class Snapshot:
    """Shared-state gauges, filled by ``/metrics`` just before it renders."""

    def __init__(self) -> None:
        self.rooms: dict[str, int] = {}
        self.participants: dict[str, int] = {}
        self.connections = 0
        self.media_nodes: list[NodeRecord] = []
        self.queue_depth: int | None = None
        self.recordings: int | None = None
        self.streams: int | None = None
        self.ready = True


class _SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Any]:
        s = self.snapshot
        rooms = GaugeMetricFamily(
            "podium_rooms", "Rooms with someone in them, deployment-wide", labels=["media_mode"]
        )
        people = GaugeMetricFamily(
            "podium_participants", "Participants in rooms, deployment-wide", labels=["media_mode"]
        )
        for mode in ("p2p", "mcu"):
            rooms.add_metric([mode], s.rooms.get(mode, 0))
            people.add_metric([mode], s.participants.get(mode, 0))
        yield rooms
        yield people
        yield GaugeMetricFamily("podium_connections", "WebSockets open on this node", value=s.connections)
        yield GaugeMetricFamily("podium_ready", "1 when /readyz answers 200", value=int(s.ready))
        cpu = GaugeMetricFamily("podium_media_node_cpu_percent", "Media node CPU use", labels=["node"])
        load = GaugeMetricFamily(
            "podium_media_node_participants", "Participants on a media node", labels=["node"]
        )
        node_rooms = GaugeMetricFamily("podium_media_node_rooms", "Rooms on a media node", labels=["node"])
        draining = GaugeMetricFamily(
            "podium_media_node_draining", "1 while a media node drains (takes no new rooms)", labels=["node"]
        )
        packets = CounterMetricFamily(
            "podium_media_node_packets",
            "RTP packets a media node sent and received",
            labels=["node", "direction"],
        )
        encodes = CounterMetricFamily(
            "podium_media_node_encodes", "Video frames a media node encoded", labels=["node"]
        )
        encoders = GaugeMetricFamily(
            "podium_media_node_encoders", "Video encoders running (one per tier per room)", labels=["node"]
        )
        skipped = CounterMetricFamily(
            "podium_media_node_audio_skipped",
            "Uplink audio packets a media node left undecoded (their sender marked them quiet)",
            labels=["node"],
        )
        uplink = CounterMetricFamily(
            "podium_media_node_uplink_frames",
            "Uplink video frames and audio packets a media node decoded, by whether the sender was "
            "on stage (off: a webinar's view-only attendee; always 0)",
            labels=["node", "stage"],
        )
        viewers = GaugeMetricFamily(
            "podium_media_node_viewers",
            "Participants a media node sends to but decodes nothing of",
            labels=["node"],
        )
        for node in s.media_nodes:
            off_stage = node.stats.get("viewer_uplink_frames", 0)
            uplink.add_metric([node.url, "on"], node.stats.get("uplink_frames", 0) - off_stage)
            uplink.add_metric([node.url, "off"], off_stage)
            viewers.add_metric([node.url], node.stats.get("viewers", 0))
        yield from (uplink, viewers)
        for node in s.media_nodes:
            cpu.add_metric([node.url], node.cpu_percent)
            load.add_metric([node.url], node.participants)
            node_rooms.add_metric([node.url], node.rooms)
            draining.add_metric([node.url], int(node.draining))
            packets.add_metric([node.url, "in"], node.stats.get("packets_in", 0))
            packets.add_metric([node.url, "out"], node.stats.get("packets_out", 0))
            encodes.add_metric([node.url], node.stats.get("encodes", 0))
            encoders.add_metric([node.url], node.stats.get("encoders", 0))
            skipped.add_metric([node.url], node.stats.get("audio_skipped", 0))
        yield from (cpu, load, node_rooms, draining, packets, encodes, encoders, skipped)
        yield from _room_families(s.media_nodes)
        if s.queue_depth is not None:
            yield GaugeMetricFamily(
                "podium_job_queue_depth", "Jobs waiting in the arq queue", value=s.queue_depth
            )
        if s.recordings is not None:
            yield GaugeMetricFamily(
                "podium_recordings_in_progress", "Recordings running now, deployment-wide", value=s.recordings
            )
        if s.streams is not None:
            yield GaugeMetricFamily(
                "podium_streams_live",
                "HLS outputs and RTMP pushes running now, deployment-wide",
                value=s.streams,
            )


#: Per-room counters of MCU rooms (``NodeRecord.room_stats``): (family, help, label, {label value: stat}).
#: ``direction``: ``uplink`` is participant to node (the node's receivers lose packets, send NACKs and
#: PLIs), ``downlink`` node to participant (their RTCP reports losses, asks for NACKs and PLIs).
_ROOM_COUNTERS: tuple[tuple[str, str, str | None, dict[str, str]], ...] = (
    (
        "podium_media_room_packets_lost",
        "RTP packets lost: uplink, found missing by the media node (before retransmission); "
        "downlink, as participants' RTCP receiver reports count them",
        "direction",
        {"uplink": "uplink_packets_lost", "downlink": "downlink_packets_lost"},
    ),
    (
        "podium_media_room_packets_recovered",
        "Uplink packets found missing that arrived in time after all (retransmitted or late)",
        None,
        {"": "uplink_packets_recovered"},
    ),
    (
        "podium_media_room_nacks",
        "RTCP NACKs: uplink, sent by the media node; downlink, received from participants",
        "direction",
        {"uplink": "uplink_nacks", "downlink": "downlink_nacks"},
    ),
    (
        "podium_media_room_retransmissions",
        "Downlink packets the media node resent for participants' NACKs",
        None,
        {"": "retransmissions"},
    ),
    (
        "podium_media_room_plis",
        "Keyframe requests (PLI; FIR too on the downlink): uplink, sent by the media node; "
        "downlink, received from participants",
        "direction",
        {"uplink": "uplink_plis", "downlink": "downlink_plis"},
    ),
    (
        "podium_media_room_keyframes_forced",
        "Composite keyframes encoded on request (receivers' PLIs, joins, tier switches, outputs)",
        None,
        {"": "keyframes_forced"},
    ),
    (
        "podium_media_room_video_frames_dropped",
        "Uplink video frames never decoded: incomplete, or depending on lost data until a keyframe",
        None,
        {"": "video_frames_dropped"},
    ),
    (
        "podium_media_room_audio_concealed",
        "Uplink audio frames the mix went without: packets lost, skipped at once rather than waited for",
        None,
        {"": "audio_concealed"},
    ),
)


def _room_families(nodes: list[NodeRecord]) -> Iterator[Any]:
    """Per room on each media node: losses, repairs, keyframe requests, tier changes."""
    for name, text, label, stats in _ROOM_COUNTERS:
        family = CounterMetricFamily(name, text, labels=["node", "room", *([label] if label else [])])
        for node in nodes:
            for room, counters in node.room_stats.items():
                for value, stat in stats.items():
                    family.add_metric([node.url, room, *([value] if label else [])], counters.get(stat, 0))
        yield family
    tiers = CounterMetricFamily(
        "podium_media_room_tier_changes",
        "Composite tier changes made by receivers' bandwidth, by the tier moved to",
        labels=["node", "room", "tier"],
    )
    for node in nodes:
        for room, counters in node.room_stats.items():
            for key, count in counters.items():
                if key.startswith("tier_changes_"):
                    tiers.add_metric([node.url, room, key.removeprefix("tier_changes_")], count)
    yield tiers


_collector = _SnapshotCollector()
REGISTRY.register(_collector)


async def room_counts(fresh_within: float) -> tuple[dict[str, int], dict[str, int]]:
    """Rooms and participants by how their media flows now, from live sessions in the database."""
    from podium.core.db.tables import ParticipantSession as P
    from podium.core.tenants import utcnow

    rows = await P.select(P.room, P.room.media_mode, P.room.live_media).where(
        (P.status == "joined") & (P.last_seen_at > utcnow() - timedelta(seconds=fresh_within))
    )
    rooms: dict[str, set[int]] = {"p2p": set(), "mcu": set()}
    people = {"p2p": 0, "mcu": 0}
    for row in rows:
        configured = row["room.media_mode"]
        mode = row["room.live_media"] if configured == "auto" else configured
        mode = "mcu" if mode == "mcu" else "p2p"
        rooms[mode].add(row["room"])
        people[mode] += 1
    return {m: len(ids) for m, ids in rooms.items()}, people


async def recordings() -> int | None:
    if not _recordings:
        return None
    total = 0
    for source in _recordings:
        value = source()
        total += int(await value) if inspect.isawaitable(value) else int(value)
    return total


def serve_process_metrics(host: str, port: int) -> None:
    """``/metrics`` of a process without a web server (``podium worker``): its own counters only."""
    from prometheus_client import start_http_server

    REGISTRY.unregister(_collector)  # the shared gauges are the web nodes' to report
    start_http_server(port, addr=host)


def render(snapshot: Snapshot) -> bytes:
    """The exposition text, with ``snapshot`` as the shared-state gauges."""
    _collector.snapshot = snapshot
    return generate_latest(REGISTRY)
