"""Per-tenant plugin switches and config: stored in ``tenant_plugin``, validated with jsonschema."""

from __future__ import annotations

import copy
import time
from typing import Any

import jsonschema
import msgspec

from podium.core.db.tables import Tenant, TenantPlugin
from podium.core.errors import PodiumError
from podium.core.tenants import utcnow

__all__ = ["TenantPluginState", "TenantPlugins", "validate_config"]


class TenantPluginState(msgspec.Struct, frozen=True):
    """One plugin as one tenant has it."""

    enabled: bool
    config: dict[str, Any]
    #: Why Podium switched it off (repeated failures), or null.
    disabled_reason: str | None = None


def _defaults(schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    return {
        k: copy.deepcopy(v["default"]) for k, v in props.items() if isinstance(v, dict) and "default" in v
    }


def validate_config(schema: dict[str, Any] | None, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with defaults filled in; ``invalid_config`` with jsonschema's message when invalid."""
    if schema is None:
        if config:
            raise PodiumError("invalid_config", "this plugin takes no configuration", status=422)
        return {}
    merged = {**_defaults(schema), **config}
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(merged))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "config"
        raise PodiumError("invalid_config", f"{where}: {error.message}", status=422)
    return merged


class TenantPlugins:
    """Reads and writes tenants' plugin rows, with a short per-node cache (hooks run on every event)."""

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, TenantPluginState]]] = {}

    def forget(self, tenant: str) -> None:
        self._cache.pop(tenant, None)

    async def of(self, tenant: str) -> dict[str, TenantPluginState]:
        """Every plugin row of the tenant (by slug), enabled or not."""
        hit = self._cache.get(tenant)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        rows = await TenantPlugin.select(
            TenantPlugin.plugin, TenantPlugin.enabled, TenantPlugin.config, TenantPlugin.disabled_reason
        ).where(TenantPlugin.tenant.slug == tenant)
        states = {
            r["plugin"]: TenantPluginState(
                enabled=r["enabled"],
                config=msgspec.json.decode(r["config"]),
                disabled_reason=r["disabled_reason"],
            )
            for r in rows
        }
        self._cache[tenant] = (now, states)
        return states

    async def save(self, tenant: str, plugin: str, enabled: bool, config: dict[str, Any]) -> None:
        await self._write(
            tenant, plugin, enabled=enabled, config=msgspec.json.encode(config).decode(), reason=None
        )

    async def disable(self, tenant: str, plugin: str, reason: str) -> None:
        await self._write(tenant, plugin, enabled=False, config=None, reason=reason)

    async def _write(
        self, tenant: str, plugin: str, *, enabled: bool, config: str | None, reason: str | None
    ) -> None:
        row = await Tenant.select(Tenant.id).where(Tenant.slug == tenant).first()
        if row is None:
            raise PodiumError("tenant_not_found", f"no tenant {tenant!r}", status=404)
        where = (TenantPlugin.tenant == row["id"]) & (TenantPlugin.plugin == plugin)
        values: dict[Any, Any] = {
            TenantPlugin.enabled: enabled,
            TenantPlugin.disabled_reason: reason,
            TenantPlugin.updated_at: utcnow(),
        }
        if config is not None:
            values[TenantPlugin.config] = config
        if await TenantPlugin.exists().where(where):
            await TenantPlugin.update(values).where(where)
        else:
            await TenantPlugin.insert(
                TenantPlugin(
                    tenant=row["id"],
                    plugin=plugin,
                    enabled=enabled,
                    config=config or "{}",
                    disabled_reason=reason,
                    updated_at=utcnow(),
                )
            )
        self.forget(tenant)
