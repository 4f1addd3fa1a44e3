"""``podium plugin new NAME``: render plugin_template/ into a new plugin package (copier)."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from podium.core.errors import PodiumError

__all__ = ["new_plugin", "template_dir"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def template_dir() -> Path:
    """Where the template lives (installed as the ``podium.plugin_template`` data package)."""
    return Path(str(files("podium.plugin_template")))


def new_plugin(name: str, directory: str | Path = ".", *, author: str = "", description: str = "") -> Path:
    """Render the template for ``name`` into ``directory/podium-<name>``; returns that path."""
    from copier import run_copy

    if not _NAME.match(name):
        raise PodiumError(
            "invalid_plugin_name", "use lowercase letters, digits and _, starting with a letter"
        )
    target = Path(directory) / f"podium-{name.replace('_', '-')}"
    if target.exists():
        raise PodiumError("plugin_exists", f"{target} already exists")
    data = {"name": name, "author": author}
    if description:
        data["description"] = description
    run_copy(str(template_dir()), target, data=data, defaults=True, unsafe=True, quiet=True, vcs_ref=None)
    return target
