"""Plugins: the manager, per-tenant switches, contained hook calls, and what plugins return.

A plugin imports ``hookimpl`` from ``podium.core`` and the types below; see docs/plugins.md.
"""

from collections.abc import Iterable

import pluggy

from podium.core.errors import PodiumError
from podium.core.plugins.context import PluginContext
from podium.core.plugins.host import PluginHost, PluginInfo
from podium.core.plugins.manager import (
    BUILTIN_PLUGINS,
    ENTRY_POINT_GROUP,
    PluginLoadError,
    build_plugin_manager,
    register,
)
from podium.core.plugins.types import (
    ALL_ROLES,
    STAFF,
    ChatRejected,
    ClientAssets,
    Layout,
    PluginAction,
    Recording,
    WebhookEventType,
)

__all__ = [
    "ALL_ROLES",
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "STAFF",
    "ChatRejected",
    "ClientAssets",
    "Layout",
    "PluginAction",
    "PluginContext",
    "PluginHost",
    "PluginInfo",
    "PluginLoadError",
    "PodiumError",
    "Recording",
    "WebhookEventType",
    "build_plugin_manager",
    "install_layouts",
    "plugin_layouts",
    "register",
]


def plugin_layouts(pm: pluggy.PluginManager) -> list[Layout]:
    """Every layout the registered plugins offer (only ``podium_layouts`` runs: media nodes
    call this and need nothing else from the plugins)."""
    return [layout for found in pm.hook.podium_layouts() for layout in found or []]


def install_layouts(layouts: Iterable[Layout]) -> list[str]:
    """Put every layout with a ``compose`` function into the MCU compositor's registry."""
    from podium.media.layout import LAYOUTS

    added = []
    for layout in layouts:
        if layout.compose is not None:
            LAYOUTS[layout.name] = layout.compose
            added.append(layout.name)
    return added
