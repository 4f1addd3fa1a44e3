"""Building a plugin manager: built-ins and entry-point plugins registered through one call."""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable
from importlib.metadata import entry_points

import pluggy

from podium.core import hookspecs

__all__ = ["BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "PluginLoadError", "build_plugin_manager", "register"]

log = logging.getLogger(__name__)

#: Third-party plugins announce themselves under this entry point group.
ENTRY_POINT_GROUP = "podium.plugins"
#: Podium's own presentation features, registered exactly like third-party plugins.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "podium.plugins.polls",
    "podium.plugins.slides",
    "podium.plugins.layouts",
    "podium.plugins.qa",
    "podium.plugins.reactions",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class PluginLoadError(RuntimeError):
    """A plugin could not be registered: bad name, duplicate, or a hook with no spec."""


def register(pm: pluggy.PluginManager, name: str, plugin: object) -> None:
    """Register ``plugin`` as ``name``; the one path for built-ins and entry points alike."""
    if not _NAME.match(name):
        raise PluginLoadError(f"plugin name {name!r} must match {_NAME.pattern}")
    if pm.has_plugin(name):
        raise PluginLoadError(f"two plugins are named {name!r}")
    pm.register(plugin, name=name)


def _name_of(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def build_plugin_manager(
    builtins: Iterable[str] = BUILTIN_PLUGINS, extra: Iterable[str] = (), *, entry_points_too: bool = True
) -> pluggy.PluginManager:
    """A fresh manager: ``builtins`` and ``extra`` (module paths), then the entry-point plugins.

    Raises ``PluginLoadError`` when a plugin implements a hook Podium does not define
    (a typo would otherwise be silently ignored)."""
    pm = pluggy.PluginManager("podium")
    pm.add_hookspecs(hookspecs)
    for module in [*builtins, *extra]:
        register(pm, _name_of(module), importlib.import_module(module))
    if entry_points_too:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if pm.has_plugin(ep.name):
                log.warning("plugin %s from %s is already registered; skipped", ep.name, ep.value)
                continue
            register(pm, ep.name, ep.load())
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(str(exc)) from exc
    return pm
