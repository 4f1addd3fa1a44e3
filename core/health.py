"""Health and metrics endpoints: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics``.

``/healthz`` answers as long as the process runs, so a supervisor restarts only a stuck
process. ``/readyz`` says whether this node can do its work right now: the database and
Redis answer, and the node is not draining. A load balancer sends new connections only
to ready nodes; a Redis outage makes every node unready without restarting any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from litestar import MediaType, Request, Response, get

from podium.core import metrics
from podium.core.channels import ResilientRedisPubSub
from podium.core.media_client import MediaClient
from podium.core.media_pool import MediaPool
from podium.media import control
from podium.media.registry import NodeRecord

if TYPE_CHECKING:
    from podium.core.services import Services

__all__ = ["check_ready", "healthz", "metrics_endpoint", "readyz"]

log = logging.getLogger(__name__)
#: How long one dependency may take to answer a readiness check.
CHECK_TIMEOUT = 2.0


@get("/healthz", media_type=MediaType.TEXT, include_in_schema=False)
async def healthz() -> str:
    """The process is alive (nothing else is checked)."""
    return "ok"


async def check_ready(services: Services) -> dict[str, str]:
    """Each dependency's state (``ok`` or what is wrong); ready when all are ``ok``."""
    from podium.core.db.tables import Room

    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(Room.raw("SELECT 1"), CHECK_TIMEOUT)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if services.redis is not None:
        try:
            await asyncio.wait_for(services.redis.ping(), CHECK_TIMEOUT)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
        backend = getattr(services.hub.channels, "_backend", None)  # Litestar keeps it private
        if isinstance(backend, ResilientRedisPubSub) and not backend.connected:
            checks["channels"] = "resubscribing"
    checks["node"] = "draining" if services.draining else "ok"
    return checks


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """200 when the database and Redis answer and the node is not draining; 503 otherwise."""
    checks = await check_ready(request.app.state.services)
    ready = all(value == "ok" for value in checks.values())
    return Response(checks, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


async def _media_nodes(services: Services) -> list[NodeRecord]:
    media = services.routing.media
    if isinstance(media, MediaPool):
        return list(media.status().values())
    if isinstance(media, MediaClient) and media.connected:
        stats: dict[str, float] = {}
        room_stats: dict[str, dict[str, float]] = {}
        with contextlib.suppress(Exception):
            ok = await asyncio.wait_for(media.request(lambda i: control.NodeStats(id=i)), CHECK_TIMEOUT)
            stats = ok.stats or {}
            room_stats = ok.room_stats or {}
        load = media.load
        return [
            NodeRecord(
                url=media.url,
                capacity=services.settings.media_capacity,
                rooms=int(stats.get("rooms", load.rooms if load else 0)),
                participants=int(stats.get("participants", load.participants if load else 0)),
                cpu_percent=load.cpu_percent if load else 0.0,
                stats=stats,
                room_stats=room_stats,
            )
        ]
    return []


async def _queue_depth(services: Services) -> int | None:
    if services.redis is None:
        return None
    try:
        from podium.core.jobs import arq_queue_name
    except ImportError:  # no job queue in this build
        return None
    queue = arq_queue_name(services.settings)
    with contextlib.suppress(Exception):
        return int(await asyncio.wait_for(services.redis.zcard(queue), CHECK_TIMEOUT))
    return None


async def _outputs() -> tuple[int, int]:
    """Recordings in progress and live streams, deployment-wide (from ``room_output``)."""
    from podium.core.db.tables import RoomOutput as O

    recording = await O.count().where((O.kind == "recording") & (O.state == "recording"))
    live = await O.count().where((O.kind != "recording") & O.state.is_in(["live", "retrying"]))
    return int(recording), int(live)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus exposition: this node's counters and the deployment's shared gauges."""
    services: Services = request.app.state.services
    snapshot = metrics.Snapshot()
    snapshot.connections = services.hub.local_count()
    try:
        snapshot.rooms, snapshot.participants = await asyncio.wait_for(
            metrics.room_counts(fresh_within=services.settings.presence_timeout), CHECK_TIMEOUT
        )
    except Exception as exc:
        log.warning("metrics: room counts unavailable: %s", exc)
    snapshot.media_nodes = await _media_nodes(services)
    snapshot.queue_depth = await _queue_depth(services)
    try:
        recording, snapshot.streams = await asyncio.wait_for(_outputs(), CHECK_TIMEOUT)
        snapshot.recordings = recording + (await metrics.recordings() or 0)
    except Exception as exc:
        log.warning("metrics: recordings count unavailable: %s", exc)
    snapshot.ready = all(v == "ok" for v in (await check_ready(services)).values())
    return Response(metrics.render(snapshot), media_type=metrics.CONTENT_TYPE_LATEST)
