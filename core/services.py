"""The per-app service graph: settings, database-backed domain, realtime hub, secrets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from podium.core import tenants
from podium.core.auth import tokens
from podium.core.auth.keys import SecretBox
from podium.core.auth.throttle import Throttle
from podium.core.breakouts.service import Breakouts
from podium.core.channels import ResilientRedisPubSub
from podium.core.errors import PodiumError
from podium.core.media_client import MediaClient
from podium.core.media_pool import MediaPool, MediaRegistry
from podium.core.media_process import EmbeddedMediaNode
from podium.core.outputs import Outputs
from podium.core.outputs.service import output_hook_view
from podium.core.plugins.host import PluginHost
from podium.core.plugins.manager import build_plugin_manager
from podium.core.presence import Presence
from podium.core.realtime.connection import CloseCode
from podium.core.realtime.hub import Hub
from podium.core.realtime.media_routing import MediaRouting
from podium.core.realtime.room_actions import RoomActions
from podium.core.rooms import RoomInfo, find_room_by_id, get_room
from podium.core.settings import Settings
from podium.core.tenants import TenantRef, tenant_ref
from podium.core.webhooks import Webhooks, register_event_type
from podium.core.webinar import Overflow, Stage

__all__ = ["Services", "make_channels", "tenant_ref"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_channels(settings: Settings) -> ChannelsPlugin:
    """In-memory fan-out on one node; Redis pub/sub when several nodes share a room."""
    backend: Any
    if settings.redis_url:
        from redis.asyncio import Redis

        # Resubscribes by itself when Redis comes back after an outage.
        backend = ResilientRedisPubSub(
            Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=10)
        )
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)


class Services:
    """Everything request handlers need, built once per app."""

    def __init__(self, settings: Settings, channels: ChannelsPlugin) -> None:
        self.settings = settings
        self.box = SecretBox(settings.resolved_secret_key())
        #: For readiness checks, the media registry and queue metrics (short timeouts: fail fast).
        self.redis: Any = None
        if settings.redis_url:
            from redis.asyncio import Redis

            self.redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        #: Rate limits (failed authentications, room creation), shared through Redis when there is one.
        self.throttle = Throttle(self.redis, settings.redis_prefix)
        #: Set by ``drain`` (SIGTERM): sockets are sent to another node and /readyz says 503.
        self.draining = False
        self.hub = Hub(channels, Presence("", settings.presence_timeout), settings.redis_prefix)
        self.presence = self.hub.presence
        self.presence.node_id = self.hub.node_id
        self.media_node = EmbeddedMediaNode() if settings.media_url == "" else None
        url = self.media_node.url if self.media_node is not None else settings.media_url
        self.routing = MediaRouting(settings, self.presence, self.hub, None)
        if url == "registry":
            self.routing.media = MediaPool(
                MediaRegistry(self.redis, settings.redis_prefix),
                self.routing.on_event,
                self.routing.on_restart,
                node_ttl=settings.media_node_ttl,
                check_every=settings.media_heartbeat / 2,
            )
        elif url != "off":
            self.routing.media = MediaClient(url, self.routing.on_event, self.routing.on_restart)
        self.actions = RoomActions(settings, self.presence, self.hub, self.routing)
        # A fresh plugin manager per app: built-ins, PODIUM_PLUGINS and entry points, checked now.
        extra = [m.strip() for m in settings.plugins.split(",") if m.strip()]
        self.plugins = PluginHost(
            build_plugin_manager(extra=extra), settings, self.hub, self.presence, self.routing
        )
        self.actions.plugins = self.plugins
        self.routing.on_opened = self._media_started
        self.webhooks = Webhooks(settings, self.box, run_jobs=settings.serve_runs_jobs)
        self.actions.notify = self.webhooks.notify
        # Plugins' webhook events join the catalogue and leave through the same outbox.
        for name, kind in self.plugins.webhooks.types.items():
            register_event_type(name, kind.description, example={"room": {"id": 3, "slug": "all-hands"}})
        self.plugins.webhooks.sink = self.webhooks.outbox.emit_for_tenant
        self._upkeep: asyncio.Task[None] | None = None
        self.outputs = self._outputs()
        self.breakouts = Breakouts(
            settings, self.presence, self.hub, self.actions, self.box, self.tenant_by_slug
        )
        self.actions.breakouts_status = self.breakouts.state
        self._breakout_timers: asyncio.Task[None] | None = None
        self._webinars()

    def _webinars(self) -> None:
        """The stage and hands of every room; a webinar's overflow seats and their watch links."""
        self.stage = Stage(self.settings, self.presence, self.hub, self.routing, self.actions)
        self.overflow = Overflow(self.settings, self.outputs, self.box)
        self.actions.seat = self.stage.seat
        self.actions.watch_for = self.overflow.watch

    def _outputs(self) -> Outputs:
        """Recordings and live streams, wired to the media routing, webhooks and plugin hooks."""
        outputs = Outputs(self.settings, self.hub, self.routing)
        outputs.notify = self.webhooks.outbox.emit_for_tenant
        outputs.on_started = lambda room, data: self.plugins.recording_started(
            room, output_hook_view(room, data)
        )
        outputs.on_stopped = lambda room, data: self.plugins.recording_stopped(
            room, output_hook_view(room, data, stopped=True)
        )
        self.routing.holds_mcu = outputs.holds_mcu
        self.routing.on_output = outputs.on_status
        self.routing.on_outputs_lost = outputs.media_restarted
        self.actions.outputs_status = outputs.status
        return outputs

    async def _media_started(self, room_id: int) -> None:
        room = await find_room_by_id(room_id)
        if room is not None:
            self.plugins.media_started(room)

    async def start(self) -> None:
        if not self.settings.uses_postgres:
            # One SQLite node: sessions a previous process held are over.
            stale = await self.presence.close_everything()
            if stale:
                log.info("closed %d sessions left open by a previous run", stale)
        self._upkeep = asyncio.create_task(self.hub.keep_presence(self.settings.presence_refresh))
        self._breakout_timers = asyncio.create_task(self.breakouts.watch())
        await self.webhooks.start()
        if self.media_node is not None:
            await self.media_node.start()
        if self.routing.media is not None:
            self.routing.media.start()
        await self.outputs.start()

    async def stop(self) -> None:
        await self.plugins.settle()
        for task in (self._upkeep, self._breakout_timers):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.hub.close()
        await self.outputs.stop()
        await self.webhooks.stop()
        if self.routing.media is not None:
            await self.routing.media.stop()
        if self.media_node is not None:
            await self.media_node.stop()
        if self.redis is not None:
            await self.redis.aclose()

    async def drain(self, grace: float = 5.0) -> int:
        """Stop taking participants and send the connected ones elsewhere (close code 1012).

        Clients reconnect with the same token; the load balancer, which sees /readyz answer
        503 from now on, sends them to another node. Returns how many sockets were closed."""
        self.draining = True
        connections = self.hub.connections()
        for conn in connections:
            conn.close(CloseCode.RECONNECT, "reconnect")
        loop = asyncio.get_running_loop()
        ends = loop.time() + grace
        while self.hub.local_count() and loop.time() < ends:  # noqa: ASYNC110 (sockets leave on their own)
            await asyncio.sleep(0.05)
        return len(connections)

    async def verify_join(self, token: str, *, tenant: str, room: str, address: str) -> tokens.JoinClaims:
        """A join token's claims (``tokens.verify``), refused with ``rate_limited`` after many failures."""
        return await self._throttled(
            address, tokens.verify(token, self.signing_key, tenant=tenant, room=room)
        )

    async def admit_token(
        self, token: str, *, tenant: str, room: str, address: str
    ) -> tuple[tokens.JoinClaims, RoomInfo]:
        """A join token that may enter ``room`` now, and the room: ``verify_join``, then the room
        must exist and the token must not be spent by the room's end or a kick of its identity.

        The WebSocket and every HTTP route that takes join tokens (slides uploads) ask this, so a
        link that no longer opens the room opens nothing else either."""
        claims = await self.verify_join(token, tenant=tenant, room=room, address=address)
        info = await get_room(await self.tenant_by_slug(tenant), room)
        await self.breakouts.admit(info)
        # iat has whole seconds: a token minted in the second of the end still admits.
        if info.ended_at is not None and claims.iat and claims.iat < int(info.ended_at.timestamp()):
            raise PodiumError("room_ended", "this meeting has ended; ask for a new link", status=410)
        # A kicked person's link is spent: only a token issued after the kick (a new decision of the
        # embedder's) lets that identity back into this meeting.
        kicked = await self.presence.kicked_at(info.id, claims.sub)
        if (
            kicked is not None
            and (info.ended_at is None or kicked > info.ended_at)
            and (not claims.iat or claims.iat <= int(kicked.timestamp()))
        ):
            raise PodiumError(
                "participant_kicked", "you were removed from this meeting; ask the host for a new link", 403
            )
        return claims, info

    async def verify_viewer(self, token: str, *, tenant: str, room: str, address: str) -> str:
        """A viewer token's identity (``tokens.verify_viewer``), rate-limited like ``verify_join``."""
        return await self._throttled(
            address, tokens.verify_viewer(token, self.signing_key, tenant=tenant, room=room)
        )

    async def _throttled(self, address: str, check: Coroutine[Any, Any, T]) -> T:
        limit = self.settings.auth_failures_per_minute
        try:
            await self.throttle.guard_auth(address, limit)
        except PodiumError:
            check.close()
            raise
        try:
            return await check
        except PodiumError as exc:
            if exc.status == 401:  # forged, expired, unknown key: what guessing produces
                await self.throttle.auth_failed(address, limit)
            raise

    async def signing_key(self, key_id: str) -> tuple[str, str] | None:
        return await tenants.signing_key(key_id, self.box)

    async def tenant_by_slug(self, slug: str) -> TenantRef:
        return await tenant_ref(slug)
