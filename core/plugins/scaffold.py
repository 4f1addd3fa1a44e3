"""``podium plugin new NAME``: render plugin_template/ into a new plugin package (copier)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from podium.core.errors import PodiumError

__all__ = ["PluginNames", "new_plugin", "plugin_names", "template_dir"]

# Words of lowercase letters and digits joined by - or _: "poll", "my-poll", "my_poll2".
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_MAX_NAME = 40


@dataclass(frozen=True)
class PluginNames:
    """What each tool calls one plugin, all derived from the name its author typed."""

    plugin: str  #: Podium's name (entry point, wire messages, REST): ``my_poll``
    package: str  #: the import package: ``podium_my_poll``
    distribution: str  #: what pip installs: ``podium-my-poll``


def plugin_names(name: str) -> PluginNames:
    """The derived names for ``name``, or ``invalid_plugin_name`` if it cannot name a plugin."""
    if len(name) > _MAX_NAME or not _NAME.match(name):
        raise PodiumError(
            "invalid_plugin_name",
            f"{name!r}: use lowercase letters and digits, words joined by - or _, starting with a "
            f"letter, at most {_MAX_NAME} characters (e.g. my-poll)",
        )
    plugin = name.replace("-", "_")
    return PluginNames(plugin, f"podium_{plugin}", f"podium-{name.replace('_', '-')}")


def template_dir() -> Path:
    """Where the template lives (installed as the ``podium.plugin_template`` data package)."""
    return Path(str(files("podium.plugin_template")))


def new_plugin(name: str, directory: str | Path = ".", *, author: str = "", description: str = "") -> Path:
    """Render the template for ``name`` into ``directory/podium-<name>``; returns that path."""
    from copier import run_copy

    names = plugin_names(name)
    target = Path(directory) / names.distribution
    if target.exists():
        raise PodiumError("plugin_exists", f"{target} already exists")
    data = {"name": name, "author": author}
    if description:
        data["description"] = description
    run_copy(str(template_dir()), target, data=data, defaults=True, unsafe=True, quiet=True, vcs_ref=None)
    return target
