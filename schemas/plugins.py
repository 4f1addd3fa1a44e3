"""Write ``schemas/plugins/<plugin>.json``: each built-in plugin's config schema and command schemas.

The plugins own these shapes (``podium_config_schema``, ``podium_plugin_actions``); this is
their published copy. Run ``python -m podium.schemas.plugins`` after changing one;
``tests/schemas`` fails while a committed file is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["PLUGINS_DIR", "render", "write"]

PLUGINS_DIR = Path(__file__).parent / "plugins"


def _document(info: Any) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://podium.dev/schemas/plugins/{info.name}.json",
        "title": f"plugin {info.name}: config and commands",
        "config": info.config_schema,
        "actions": {
            a.name: {"roles": sorted(a.roles), "description": a.description, "data": a.schema}
            for a in info.actions.values()
        },
        "webhook_events": sorted(f"plugin.{info.name}.{e.name}" for e in info.webhook_events),
    }


def render() -> dict[Path, str]:
    """Every built-in plugin's file name and exact text."""
    from podium.core.plugins import build_plugin_manager
    from podium.core.plugins.host import describe

    catalog = describe(build_plugin_manager(entry_points_too=False))
    return {
        Path(f"{name}.json"): json.dumps(_document(info), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, info in catalog.items()
    }


def write(root: Path = PLUGINS_DIR) -> list[Path]:
    files = render()
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob("*.json"):
        if stale.relative_to(root) not in files:
            stale.unlink()
    for relative, text in files.items():
        (root / relative).write_text(text)
    return sorted(files)


if __name__ == "__main__":
    for path in write():
        print(path)
