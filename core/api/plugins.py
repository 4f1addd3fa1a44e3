"""``/api/v1/plugins``: the plugins this server has, and the calling tenant's switches and config."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Router, get, put
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from podium.core.api.openapi import errors
from podium.core.errors import PodiumError
from podium.core.plugins.host import PluginHost, PluginInfo
from podium.core.plugins.webhooks import full_name
from podium.core.services import Services
from podium.core.tenants import Caller

__all__ = ["PluginController", "plugin_asset_routers", "plugin_routers"]


class PluginActionInfo(msgspec.Struct, frozen=True):
    name: str
    roles: list[str]
    schema: dict[str, Any]
    description: str


class PluginListing(msgspec.Struct, frozen=True, kw_only=True):
    """A plugin as ``/api/v1/plugins`` lists it, with the calling tenant's state."""

    name: str
    title: str
    description: str
    version: str | None
    builtin: bool
    config_schema: dict[str, Any] | None
    actions: list[PluginActionInfo]
    layouts: list[str]
    webhook_events: list[str]
    slots: list[str]
    enabled: bool
    config: dict[str, Any]
    #: Why Podium switched the plugin off for this tenant (it kept failing), or null.
    disabled_reason: str | None


class PluginPage(msgspec.Struct, frozen=True):
    plugins: list[PluginListing]


class PluginSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``PUT /api/v1/plugins/{name}``; an omitted ``config`` keeps the current one."""

    enabled: bool
    config: dict[str, Any] | None = None


def _listing(host: PluginHost, info: PluginInfo, state: Any) -> PluginListing:
    return PluginListing(
        name=info.name,
        title=info.title,
        description=info.description,
        version=info.version,
        builtin=info.builtin,
        config_schema=info.config_schema,
        actions=[
            PluginActionInfo(a.name, sorted(a.roles), a.schema, a.description) for a in info.actions.values()
        ],
        layouts=[layout.name for layout in info.layouts],
        webhook_events=[full_name(info.name, e.name) for e in info.webhook_events],
        slots=list(info.client.slots) if info.client else [],
        enabled=bool(state and state.enabled),
        config=state.config if state else _default_config(host, info),
        disabled_reason=state.disabled_reason if state else None,
    )


def _default_config(host: PluginHost, info: PluginInfo) -> dict[str, Any]:
    """The config a tenant gets by enabling the plugin without one (``{}`` if one is required)."""
    try:
        return host.configure(info.name, {})
    except PodiumError:
        return {}


def _known(host: PluginHost, name: str) -> PluginInfo:
    info = host.catalog.get(name)
    if info is None:
        raise PodiumError("plugin_not_found", f"no plugin {name!r} on this server", status=404)
    return info


class PluginController(Controller):
    path = "/plugins"
    tags = ["plugins"]

    @get("/")
    async def list_plugins(self, caller: Caller, services: Services) -> PluginPage:
        """Every plugin this server has, with its config schema and whether the tenant enabled it."""
        host = services.plugins
        states = await host.tenants.of(caller.tenant.slug)
        return PluginPage([_listing(host, info, states.get(name)) for name, info in host.catalog.items()])

    @get("/{name:str}")
    async def get_plugin(self, caller: Caller, name: str, services: Services) -> PluginListing:
        return await _get(caller, name, services)

    @put("/{name:str}", responses=errors(422))
    async def set_plugin(
        self, caller: Caller, name: str, data: PluginSettings, services: Services
    ) -> PluginListing:
        """Enable or disable a plugin for the tenant and set its config (validated by its schema)."""
        return await _set(caller, name, data, services)


async def _get(caller: Caller, name: str, services: Services) -> PluginListing:
    host = services.plugins
    info = _known(host, name)
    return _listing(host, info, (await host.tenants.of(caller.tenant.slug)).get(name))


async def _set(caller: Caller, name: str, data: PluginSettings, services: Services) -> PluginListing:
    host = services.plugins
    info = _known(host, name)
    current = (await host.tenants.of(caller.tenant.slug)).get(name)
    raw = data.config if data.config is not None else (current.config if current else {})
    config = host.configure(name, raw)
    await host.tenants.save(caller.tenant.slug, name, data.enabled, config)
    await host.tenant_changed(caller.tenant.slug)
    return _listing(host, info, (await host.tenants.of(caller.tenant.slug)).get(name))


def _own_root(name: str) -> list[ControllerRouterHandler]:
    """``GET``/``PUT /plugins/{name}`` again, inside the plugin's own router (which shadows them)."""

    async def get_settings(caller: Caller, services: Services) -> PluginListing:
        return await _get(caller, name, services)

    async def put_settings(caller: Caller, data: PluginSettings, services: Services) -> PluginListing:
        return await _set(caller, name, data, services)

    return [
        get("/", name=f"plugin-{name}-get", include_in_schema=False)(get_settings),
        put("/", name=f"plugin-{name}-put", include_in_schema=False)(put_settings),
    ]


def plugin_routers(host: PluginHost) -> list[ControllerRouterHandler]:
    """Each plugin's own REST routes, under ``/plugins/{name}`` of the API router."""
    return [
        Router(
            f"/plugins/{info.name}",
            route_handlers=[*_own_root(info.name), *info.routes],
            tags=[f"plugin: {info.name}"],
        )
        for info in host.catalog.values()
        if info.routes
    ]


def plugin_asset_routers(host: PluginHost) -> list[ControllerRouterHandler]:
    """The web client's side of each plugin: ``/plugins/{name}/assets/…``."""
    return [
        create_static_files_router(
            path=f"/plugins/{info.name}/assets",
            directories=[info.client.directory],
            include_in_schema=False,
            name=f"plugin-assets-{info.name}",
        )
        for info in host.catalog.values()
        if info.client is not None
    ]
