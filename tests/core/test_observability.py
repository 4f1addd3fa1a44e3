"""What an operator reads: /readyz, Prometheus /metrics, structured log lines, media placement."""

from __future__ import annotations

import json
import logging

import httpx

from podium.core import logs, metrics
from podium.core.media_pool import least_loaded
from podium.media.registry import NodeRecord
from tests.support.client import TenantClient
from tests.support.server import Node


async def test_readyz_reports_each_dependency(node: Node) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        ready = await http.get(f"{node.url}/readyz")
        alive = await http.get(f"{node.url}/healthz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()
    assert checks["database"] == "ok" and checks["node"] == "ok"
    assert checks.get("redis", "ok") == "ok"
    assert alive.status_code == 200 and alive.text == "ok"


def _sample(text: str, name: str) -> float:
    """The value of the sample line that starts with ``name`` (labels included)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} in /metrics")


async def test_metrics_count_participants_joins_and_messages(node: Node, acme: TenantClient) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    host = await acme.join(room, "hana", "host")
    guest = await acme.join(room, "gus")
    await guest.request({"type": "chat.send", "text": "hello"})
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{node.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    # Other tests share this node: every figure is at least what this test did.
    assert _sample(text, 'podium_participants{media_mode="p2p"}') >= 2
    assert _sample(text, 'podium_rooms{media_mode="p2p"}') >= 1
    assert _sample(text, "podium_join_seconds_count") >= 2
    assert _sample(text, 'podium_ws_messages_total{direction="in"}') >= 1
    assert _sample(text, 'podium_ws_messages_total{direction="out"}') >= 4
    assert _sample(text, "podium_connections") >= 2
    assert _sample(text, "podium_ready") == 1
    await host.leave()
    await guest.leave()


def test_the_counter_api_other_modules_report_through() -> None:
    metrics.webhook_delivery_failed("timeout")
    metrics.job_failed("finish_recording")
    text = metrics.render(metrics.Snapshot()).decode()
    assert _sample(text, 'podium_webhook_delivery_failures_total{reason="timeout"}') >= 1
    assert _sample(text, 'podium_job_failures_total{job="finish_recording"}') >= 1
    snapshot = metrics.Snapshot()
    snapshot.recordings = 3
    snapshot.media_nodes = [
        NodeRecord(
            url="ws://m1:8090", capacity=100, participants=7, cpu_percent=35.5, stats={"packets_in": 9}
        )
    ]
    text = metrics.render(snapshot).decode()
    assert _sample(text, "podium_recordings_in_progress") == 3
    assert _sample(text, 'podium_media_node_cpu_percent{node="ws://m1:8090"}') == 35.5
    assert _sample(text, 'podium_media_node_packets_total{direction="in",node="ws://m1:8090"}') == 9


def test_each_mcu_rooms_losses_repairs_and_tier_changes_are_in_the_metrics() -> None:
    room: dict[str, float] = {
        "uplink_packets_lost": 12,
        "uplink_packets_recovered": 10,
        "downlink_packets_lost": 3,
        "uplink_nacks": 4,
        "downlink_nacks": 2,
        "retransmissions": 5,
        "uplink_plis": 1,
        "downlink_plis": 2,
        "keyframes_forced": 6,
        "video_frames_dropped": 9,
        "audio_concealed": 8,
        "tier_changes_low": 1,
        "tier_changes_high": 2,
    }
    snapshot = metrics.Snapshot()
    snapshot.media_nodes = [
        NodeRecord(url="ws://m1:8090", capacity=100, room_stats={"podium:7": room, "podium:8": {}})
    ]
    text = metrics.render(snapshot).decode()
    where = 'node="ws://m1:8090",room="podium:7"'
    for direction, lost, nacks, plis in (("uplink", 12, 4, 1), ("downlink", 3, 2, 2)):
        assert (
            _sample(text, f'podium_media_room_packets_lost_total{{direction="{direction}",{where}}}') == lost
        )
        assert _sample(text, f'podium_media_room_nacks_total{{direction="{direction}",{where}}}') == nacks
        assert _sample(text, f'podium_media_room_plis_total{{direction="{direction}",{where}}}') == plis
    assert _sample(text, f"podium_media_room_packets_recovered_total{{{where}}}") == 10
    assert _sample(text, f"podium_media_room_retransmissions_total{{{where}}}") == 5
    assert _sample(text, f"podium_media_room_keyframes_forced_total{{{where}}}") == 6
    assert _sample(text, f"podium_media_room_video_frames_dropped_total{{{where}}}") == 9
    assert _sample(text, f"podium_media_room_audio_concealed_total{{{where}}}") == 8
    assert _sample(text, f'podium_media_room_tier_changes_total{{{where},tier="low"}}') == 1
    assert _sample(text, f'podium_media_room_tier_changes_total{{{where},tier="high"}}') == 2
    # A room with nothing to report yet still has its series, at 0.
    assert (
        _sample(
            text,
            'podium_media_room_packets_lost_total{direction="uplink",node="ws://m1:8090",room="podium:8"}',
        )
        == 0
    )


def test_json_log_lines_carry_the_connection_ids(capsys: object) -> None:
    record = logging.LogRecord(
        "podium.core.realtime", logging.WARNING, __file__, 1, "slow %s", ("reader",), None
    )
    logs.bind(tenant="acme", room="all-hands", participant="p-1")
    line = json.loads(logs.JsonFormatter("serve").format(record))
    assert line["msg"] == "slow reader" and line["level"] == "warning" and line["role"] == "serve"
    assert (line["tenant"], line["room"], line["participant"]) == ("acme", "all-hands", "p-1")
    text = logs.TextFormatter("serve").format(record)
    assert text.endswith("tenant=acme room=all-hands participant=p-1")


def _node(url: str, participants: int = 0, capacity: int = 100, draining: bool = False) -> NodeRecord:
    return NodeRecord(url=url, capacity=capacity, participants=participants, draining=draining)


def _chosen(nodes: list[NodeRecord], placed: dict[str, int]) -> str | None:
    best = least_loaded(nodes, placed)
    return None if best is None else best.url


def test_a_new_room_goes_to_the_least_loaded_open_node() -> None:
    busy, idle = _node("ws://a", 40), _node("ws://b", 5)
    assert _chosen([busy, idle], {}) == "ws://b"
    # Load is relative to what a node is sized for.
    assert _chosen([_node("ws://a", 40, capacity=400), _node("ws://b", 5, capacity=20)], {}) == "ws://a"
    # Draining and full nodes take no new rooms.
    assert _chosen([_node("ws://c", 0, draining=True), busy], {}) == "ws://a"
    assert _chosen([_node("ws://a", 100)], {}) is None
    # Two empty nodes: the one with fewer rooms placed on it (rooms placed since its last beat count).
    assert _chosen([_node("ws://a"), _node("ws://b")], {"ws://a": 2, "ws://b": 1}) == "ws://b"
