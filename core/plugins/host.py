"""Running plugin hooks for rooms: only the tenant's enabled plugins, each call contained.

A hook that raises, runs past ``PODIUM_PLUGIN_HOOK_TIMEOUT`` or returns the wrong type
is logged and skipped; ``PODIUM_PLUGIN_MAX_FAILURES`` failures in a row switch the
plugin off for that tenant and tell the room (``plugin.disabled``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import jsonschema
import msgspec
import pluggy

from podium.core.auth.permissions import Role
from podium.core.breakouts.messages import BreakoutsInfo
from podium.core.chat import RateLimiter
from podium.core.errors import PodiumError
from podium.core.plugins.config import TenantPlugins, validate_config
from podium.core.plugins.context import PluginContext
from podium.core.plugins.manager import PluginLoadError
from podium.core.plugins.types import ClientAssets, Layout, PluginAction, Recording, WebhookEventType
from podium.core.plugins.webhooks import PluginWebhooks
from podium.core.realtime import envelope as env
from podium.core.realtime.protocol import (
    ChatAudience,
    LeaveReason,
    ParticipantInfo,
    PluginClient,
    PluginCommand,
    PluginDisabled,
    PluginsChanged,
    PluginWelcome,
)
from podium.core.rooms import RoomInfo
from podium.core.settings import Settings
from podium.media.control import MAX_CONTENT_BYTES

if TYPE_CHECKING:
    from podium.core.media_client import MediaClient
    from podium.core.media_pool import MediaPool
    from podium.core.presence import Presence
    from podium.core.realtime.connection import Connection
    from podium.core.realtime.hub import Hub
    from podium.core.realtime.media_routing import MediaRouting

__all__ = ["FAILED", "PluginHost", "PluginInfo"]

log = logging.getLogger(__name__)


class _Failed:
    def __repr__(self) -> str:
        return "FAILED"


#: What a contained hook call returns when the plugin failed.
FAILED: Any = _Failed()
#: Plugin commands one connection may send: a burst, then a steady rate (each may write state).
COMMAND_BURST = 20
COMMAND_RATE = 10.0


@dataclass
class PluginInfo:
    """A registered plugin and what it declared at start-up."""

    name: str
    title: str
    description: str
    version: str | None
    builtin: bool
    config_schema: dict[str, Any] | None
    actions: dict[str, PluginAction] = field(default_factory=dict)
    client: ClientAssets | None = None
    layouts: list[Layout] = field(default_factory=list)
    webhook_events: list[WebhookEventType] = field(default_factory=list)
    routes: list[Any] = field(default_factory=list)


def _static(pm: pluggy.PluginManager, hook: str, name: str) -> Any:
    """A start-up hook of one plugin; failures here stop the server (fail loudly, early)."""
    for impl in getattr(pm.hook, hook).get_hookimpls():
        if impl.plugin_name == name:
            try:
                return impl.function()
            except Exception as exc:
                raise PluginLoadError(f"plugin {name!r}: {hook} failed: {exc!r}") from exc
    return None


def describe(pm: pluggy.PluginManager) -> dict[str, PluginInfo]:
    """Every registered plugin with its declarations, checked for the right shapes."""
    catalog: dict[str, PluginInfo] = {}
    for name, plugin in sorted(pm.list_name_plugin()):
        doc = inspect.getdoc(plugin) or ""
        title, _, rest = doc.partition("\n")
        schema = _static(pm, "podium_config_schema", name)
        if schema is not None:
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise PluginLoadError(f"plugin {name!r}: bad config schema: {exc.message}") from exc
        actions = _static(pm, "podium_plugin_actions", name) or []
        client = _static(pm, "podium_client_assets", name)
        layouts = _static(pm, "podium_layouts", name) or []
        events = _static(pm, "podium_webhook_events", name) or []
        if not all(isinstance(a, PluginAction) for a in actions):
            raise PluginLoadError(f"plugin {name!r}: podium_plugin_actions must return PluginAction objects")
        if client is not None and not isinstance(client, ClientAssets):
            raise PluginLoadError(f"plugin {name!r}: podium_client_assets must return ClientAssets")
        catalog[name] = PluginInfo(
            name=name,
            title=title.strip().rstrip(".") or name,
            description=rest.strip(),
            version=getattr(plugin, "__version__", None),
            builtin=getattr(plugin, "__name__", "").startswith("podium.plugins."),
            config_schema=schema,
            actions={a.name: a for a in actions},
            client=client,
            layouts=list(layouts),
            webhook_events=list(events),
            routes=list(_static(pm, "podium_routes", name) or []),
        )
    return catalog


def _json(value: Any) -> bool:
    try:
        msgspec.json.encode(value)
    except (TypeError, msgspec.EncodeError):
        return False
    return True


class PluginHost:
    """Runs hooks for rooms on behalf of their tenants."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        settings: Settings,
        hub: Hub,
        presence: Presence,
        routing: MediaRouting | None = None,
    ) -> None:
        self.pm = pm
        self.settings = settings
        self.hub = hub
        self.presence = presence
        self.routing = routing
        self.catalog = describe(pm)
        self.tenants = TenantPlugins()
        self.webhooks = PluginWebhooks()
        for info in self.catalog.values():
            self.webhooks.declare(info.name, info.webhook_events)
        self._failures: dict[tuple[str, str], int] = {}
        self._queues: dict[int, deque[tuple[str, RoomInfo, dict[str, Any]]]] = {}
        self._drains: dict[int, asyncio.Task[None]] = {}
        #: The content tile each room's plugins last asked for (also while no media session
        #: existed): core itself puts it on a session that opens, not bound by a hook's budget.
        self.media_content: dict[int, bytes] = {}
        self._reapplying: set[asyncio.Task[None]] = set()
        # Synchronous hooks run here, so one that blocks can be cut off like an async one
        # (its thread runs on, but the room does not wait for it).
        self._sync_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="plugin-hook")
        self._limits: WeakKeyDictionary[Connection, RateLimiter] = WeakKeyDictionary()
        hub.on_plugins_changed = self._resend

    # ---- which plugins run -----------------------------------------------------------------------------

    async def enabled(self, tenant: str) -> dict[str, dict[str, Any]]:
        """Plugin name → config, for the tenant's enabled plugins this server has."""
        states = await self.tenants.of(tenant)
        return {name: s.config for name, s in states.items() if s.enabled and name in self.catalog}

    def _impls(self, hook: str) -> list[pluggy.HookImpl]:
        # pluggy lists implementations last-registered first; run them in registration order.
        return list(reversed(getattr(self.pm.hook, hook).get_hookimpls()))

    def configure(self, name: str, config: dict[str, Any]) -> dict[str, Any]:
        """Validate a tenant's config for ``name`` (raises ``invalid_config``)."""
        return validate_config(self.catalog[name].config_schema, config)

    # ---- one contained call ----------------------------------------------------------------------------

    async def _call(
        self,
        impl: pluggy.HookImpl,
        room: RoomInfo,
        config: dict[str, Any],
        kwargs: dict[str, Any],
        check: Callable[[Any], bool] = lambda _: True,
        refusals: bool = False,
    ) -> Any:
        name = impl.plugin_name
        ctx = PluginContext(self, name, room, config)
        args = {"ctx": ctx, **kwargs}
        hook = impl.function.__name__
        budget = self.settings.plugin_hook_timeout
        try:
            call: Callable[[], Any] = functools.partial(impl.function, *[args[a] for a in impl.argnames])
            result: Any
            if inspect.iscoroutinefunction(impl.function):
                result = await asyncio.wait_for(call(), budget)
            else:
                result = await asyncio.wait_for(
                    asyncio.get_running_loop().run_in_executor(self._sync_pool, call), budget
                )
                if inspect.isawaitable(result):
                    result = await asyncio.wait_for(result, budget)
        except PodiumError:
            if refusals:
                raise
            why = f"{hook} raised a refusal outside a command"
            log.warning("plugin %s: %s", name, why, exc_info=True)
        except TimeoutError:
            why = f"{hook} took longer than {budget:g} s"
            log.warning("plugin %s: %s (room %s)", name, why, room.id)
        except Exception as exc:
            why = f"{hook} raised {type(exc).__name__}: {exc}"
            log.exception("plugin %s: %s failed (room %s)", name, hook, room.id)
        else:
            if check(result):
                self._failures.pop((room.tenant, name), None)
                return result
            why = f"{hook} returned {type(result).__name__}, which it may not"
            log.warning("plugin %s: %s", name, why)
        await self._fault(name, room, why)
        return FAILED

    async def _fault(self, name: str, room: RoomInfo, why: str) -> None:
        key = (room.tenant, name)
        count = self._failures[key] = self._failures.get(key, 0) + 1
        if count < self.settings.plugin_max_failures:
            return
        self._failures.pop(key, None)
        reason = f"switched off after {count} failures in a row; last: {why}"
        log.error("plugin %s disabled for tenant %s: %s", name, room.tenant, reason)
        try:
            await self.tenants.disable(room.tenant, name, reason)
            await self.hub.publish(room.id, PluginDisabled(plugin=name, reason=reason))
        except Exception:
            log.exception("could not disable plugin %s for %s", name, room.tenant)

    # ---- notifications: in order per room, never holding the room up -----------------------------------

    def _notify(self, hook: str, room: RoomInfo, **kwargs: Any) -> None:
        self._queues.setdefault(room.id, deque()).append((hook, room, kwargs))
        if room.id not in self._drains:
            self._drains[room.id] = asyncio.create_task(self._drain(room.id), name=f"plugins-{room.id}")

    async def _drain(self, room_id: int) -> None:
        queue = self._queues[room_id]
        try:
            while queue:
                hook, room, kwargs = queue.popleft()
                try:
                    await self._each(hook, room, kwargs)
                except Exception:
                    log.exception("running %s for room %s failed", hook, room_id)
        finally:
            del self._drains[room_id]
            if not queue:
                del self._queues[room_id]

    async def _each(self, hook: str, room: RoomInfo, kwargs: dict[str, Any]) -> None:
        enabled = await self.enabled(room.tenant)
        calls = [
            self._call(i, room, enabled[i.plugin_name], kwargs)
            for i in self._impls(hook)
            if i.plugin_name in enabled
        ]
        await asyncio.gather(*calls)

    async def settle(self) -> None:
        """Wait for queued notifications, then let go of the hook threads (shutdown)."""
        while self._drains:
            await asyncio.gather(*list(self._drains.values()), return_exceptions=True)
        self._sync_pool.shutdown(wait=False, cancel_futures=True)

    def room_created(self, room: RoomInfo) -> None:
        self._notify("podium_room_created", room)

    def room_started(self, room: RoomInfo) -> None:
        self._notify("podium_room_started", room)

    def room_ended(self, room: RoomInfo) -> None:
        self.media_content.pop(room.id, None)
        self._notify("podium_room_ended", room)

    def participant_joined(self, room: RoomInfo, participant: ParticipantInfo) -> None:
        self._notify("podium_participant_joined", room, participant=participant)

    def participant_left(self, room: RoomInfo, participant: ParticipantInfo, reason: LeaveReason) -> None:
        self._notify("podium_participant_left", room, participant=participant, reason=reason)

    def breakouts_opened(self, room: RoomInfo, breakouts: BreakoutsInfo) -> None:
        self._notify("podium_breakouts_opened", room, breakouts=breakouts)

    def breakouts_closed(self, room: RoomInfo, reason: str) -> None:
        self._notify("podium_breakouts_closed", room, reason=reason)

    def participant_moved(self, room: RoomInfo, participant: ParticipantInfo, breakout: str | None) -> None:
        self._notify("podium_participant_moved", room, participant=participant, breakout=breakout)

    def stage_changed(self, room: RoomInfo, participant: ParticipantInfo, on_stage: bool) -> None:
        self._notify("podium_participant_stage_changed", room, participant=participant, on_stage=on_stage)

    def role_changed(self, room: RoomInfo, participant_id: str, role: Role) -> None:
        self._notify("podium_participant_role_changed", room, participant_id=participant_id, role=role)

    def recording_started(self, room: RoomInfo, recording: Recording) -> None:
        """For the recording feature to call when a recording or stream starts."""
        self._notify("podium_recording_started", room, recording=recording)

    def recording_stopped(self, room: RoomInfo, recording: Recording) -> None:
        """For the recording feature to call when a recording or stream stops."""
        self._notify("podium_recording_stopped", room, recording=recording)

    # ---- the tenant changes its plugins mid-meeting -----------------------------------------------------

    async def tenant_changed(self, tenant: str) -> None:
        """The tenant switched a plugin on or off or changed its config: rooms in session hear it
        now (every node's sockets get their new ``plugins.changed``), not only new joiners."""
        self.tenants.forget(tenant)
        for room_id in await self.presence.live_rooms(tenant):
            await self.hub.publish(room_id, None, ops=[env.PluginsChanged()])

    async def _resend(self, conns: list[Connection]) -> None:
        # Another node saved the change: this node's cached rows may be up to a TTL old.
        self.tenants.forget(conns[0].room.tenant)
        for conn in conns:
            conn.send(PluginsChanged(plugins=await self.welcome(conn.room, conn.me)))

    # ---- hooks whose answer the room waits for ---------------------------------------------------------

    async def welcome(self, room: RoomInfo, participant: ParticipantInfo) -> list[PluginWelcome]:
        """Each enabled plugin's part of ``welcome`` (a failing one is listed with no state)."""
        enabled = await self.enabled(room.tenant)
        impls = {i.plugin_name: i for i in self._impls("podium_welcome") if i.plugin_name in enabled}
        names = sorted(enabled)
        states = await asyncio.gather(
            *[
                self._call(impls[n], room, enabled[n], {"participant": participant}, check=_json)
                if n in impls
                else _none()
                for n in names
            ]
        )
        return [
            self._welcome_entry(n, None if s is FAILED else s) for n, s in zip(names, states, strict=True)
        ]

    def _welcome_entry(self, name: str, state: Any) -> PluginWelcome:
        info = self.catalog[name]
        client = None
        if info.client is not None:
            base = f"/plugins/{name}/assets/"
            client = PluginClient(
                module=base + info.client.module,
                css=[base + css for css in info.client.css],
                slots=list(info.client.slots),
                title=info.client.title or info.title,
            )
        actions = {a.name: sorted(a.roles) for a in info.actions.values()}
        return PluginWelcome(name=name, actions=actions, client=client, state=state)

    async def filter_chat(self, room: RoomInfo, sender: ParticipantInfo, to: ChatAudience, text: str) -> str:
        """The text after every enabled chat filter; ``ChatRejected`` when one refuses it."""
        enabled = await self.enabled(room.tenant)
        for impl in self._impls("podium_chat_message"):
            if impl.plugin_name not in enabled:
                continue
            result = await self._call(
                impl,
                room,
                enabled[impl.plugin_name],
                {"sender": sender, "to": to, "text": text},
                check=lambda r: r is None or isinstance(r, str),
                refusals=True,
            )
            if isinstance(result, str):
                text = result
        if not text.strip():
            raise PodiumError("chat_empty", "chat message is empty")
        return text

    async def message(self, conn: Connection, command: PluginCommand) -> int | str | None:
        """A client's plugin command: enabled, known action, role allowed, data valid; then the hook."""
        room = conn.room
        limiter = self._limits.setdefault(conn, RateLimiter(COMMAND_RATE, COMMAND_BURST))
        if not limiter.allow():
            raise PodiumError("rate_limited", "you are sending plugin commands too fast", status=429)
        enabled = await self.enabled(room.tenant)
        if command.plugin not in enabled:
            raise PodiumError(
                "plugin_not_enabled", f"plugin {command.plugin!r} is not enabled for this room", status=403
            )
        info = self.catalog[command.plugin]
        action = info.actions.get(command.action)
        if action is None:
            raise PodiumError("unknown_action", f"plugin {command.plugin!r} has no action {command.action!r}")
        if conn.role not in action.roles:
            raise PodiumError(
                "forbidden", f"role {conn.role} may not {command.plugin}.{command.action}", status=403
            )
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(action.schema).iter_errors(command.data)
        )
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "data"
            raise PodiumError("invalid_message", f"{where}: {error.message}")
        impl = next(
            (i for i in self._impls("podium_plugin_message") if i.plugin_name == command.plugin), None
        )
        if impl is None:
            raise PodiumError("unknown_action", f"plugin {command.plugin!r} takes no messages")
        result = await self._call(
            impl,
            room,
            enabled[command.plugin],
            {"sender": conn.me, "action": command.action, "data": command.data},
            check=lambda r: r is None or isinstance(r, str | int),
            refusals=True,
        )
        if result is FAILED:
            raise PodiumError(
                "plugin_failed", f"plugin {command.plugin!r} could not handle {command.action!r}", 500
            )
        return result  # type: ignore[no-any-return]

    # ---- what the room's media does ---------------------------------------------------------------------

    def media_started(self, room: RoomInfo) -> None:
        """A media node opened a fresh session for ``room``: the last content goes back on it
        at once, then plugins put their layout (and anything else) on it."""
        image = self.media_content.get(room.id)
        if image is not None:
            # In a task: this runs while the media client is reading the node's events.
            task = asyncio.get_running_loop().create_task(self._reapply_content(room, image))
            self._reapplying.add(task)
            task.add_done_callback(self._reapplying.discard)
        self._notify("podium_media_started", room)

    async def _reapply_content(self, room: RoomInfo, image: bytes) -> None:
        try:
            session = await self._mcu_session(room)
            if session is not None and self.media_content.get(room.id) is image:
                await session[1].set_content(session[0], image)
        except PodiumError as exc:
            log.warning("room %s: the content tile could not be put back: %s", room.id, exc)

    async def _mcu_session(self, room: RoomInfo) -> tuple[str, MediaClient | MediaPool] | None:
        """The room's key and media node client, if the room runs through the MCU now."""
        routing = self.routing
        if routing is None or routing.media is None:
            return None
        key = routing.key(room.id)
        if key not in routing.media.rooms or await routing.mode(room) != "mcu":
            return None
        return key, routing.media

    async def set_media_layout(self, room: RoomInfo, layout: str, pinned: list[str]) -> bool:
        session = await self._mcu_session(room)
        if session is not None:
            await session[1].set_layout(session[0], layout, pinned)
        return session is not None

    async def set_media_content(self, room: RoomInfo, image: bytes | None) -> bool:
        if image is not None and len(image) > MAX_CONTENT_BYTES:
            raise PodiumError(
                "content_too_large", f"a content image is limited to {MAX_CONTENT_BYTES} bytes", status=413
            )
        if image is None:
            self.media_content.pop(room.id, None)
        else:
            self.media_content[room.id] = image
        session = await self._mcu_session(room)
        if session is not None:
            await session[1].set_content(session[0], image)
        return session is not None


async def _none() -> None:
    return None
