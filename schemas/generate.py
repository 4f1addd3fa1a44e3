"""Write ``schemas/wire/{client,server}/<type>.json`` from the protocol Structs.

Run ``python -m podium.schemas.generate`` after changing ``core/realtime/protocol.py``;
``tests/schemas`` fails while a committed schema is stale.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import msgspec

from podium.core.realtime.protocol import CLIENT_MESSAGES, SERVER_MESSAGES
from podium.schemas import WIRE_DIR

__all__ = ["normalise", "render", "write"]


def normalise(node: Any) -> Any:
    """The same schema text from every msgspec version the project allows.

    Versions differ in incidentals: 0.22+ dedent docstrings (earlier ones keep their
    indentation) and list a union's members in another order. Descriptions are dedented here
    and ``anyOf`` members sorted (their order means nothing in JSON Schema).
    """
    if isinstance(node, dict):
        clean: dict[str, Any] = {}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                clean[key] = inspect.cleandoc(value)
            elif key == "anyOf" and isinstance(value, list):
                clean[key] = sorted(map(normalise, value), key=lambda m: json.dumps(m, sort_keys=True))
            else:
                clean[key] = normalise(value)
        return clean
    if isinstance(node, list):
        return [normalise(item) for item in node]
    return node


def _schema(cls: type[msgspec.Struct], direction: str) -> dict[str, Any]:
    schema: dict[str, Any] = normalise(msgspec.json.schema(cls))
    tag = cls.__struct_config__.tag
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://podium.dev/schemas/wire/{direction}/{tag}.json",
        "title": f"{direction} message {tag}",
        **schema,
    }


def render() -> dict[Path, str]:
    """Every schema file's relative path and exact text."""
    files: dict[Path, str] = {}
    for direction, messages in (("client", CLIENT_MESSAGES), ("server", SERVER_MESSAGES)):
        for cls in messages:
            tag = cls.__struct_config__.tag
            text = json.dumps(_schema(cls, direction), indent=2, sort_keys=True) + "\n"
            files[Path(direction) / f"{tag}.json"] = text
    return files


def write(root: Path = WIRE_DIR) -> list[Path]:
    """Regenerate the committed schemas, removing ones for messages that no longer exist."""
    files = render()
    for stale in root.glob("*/*.json"):
        if stale.relative_to(root) not in files:
            stale.unlink()
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return sorted(files)


if __name__ == "__main__":
    for path in write():
        print(path)
