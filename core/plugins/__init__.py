"""Plugins: the manager, per-tenant switches, contained hook calls, and what plugins return.

A plugin imports ``hookimpl`` from ``podium.core`` and the types below; see docs/plugins.md.
"""

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
    "register",
]


def install_layouts(host_or_catalog: dict[str, PluginInfo]) -> list[str]:
    """Put every plugin layout with a ``compose`` function into the MCU compositor's registry."""
    from podium.media.layout import LAYOUTS

    added = []
    for info in host_or_catalog.values():
        for layout in info.layouts:
            if layout.compose is not None:
                LAYOUTS[layout.name] = layout.compose
                added.append(layout.name)
    return added
