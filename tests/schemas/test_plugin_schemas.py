"""The committed plugin schemas match what the built-in plugins declare."""

from __future__ import annotations

import json

import jsonschema

from podium.schemas.plugins import PLUGINS_DIR, render


def test_committed_plugin_schemas_are_fresh() -> None:
    expected = render()
    committed = {path.relative_to(PLUGINS_DIR): path.read_text() for path in PLUGINS_DIR.glob("*.json")}
    stale = sorted(str(p) for p in set(expected) | set(committed) if expected.get(p) != committed.get(p))
    assert not stale, f"stale plugin schemas (run `python -m podium.schemas.plugins`): {stale}"


def test_the_published_schemas_validate_real_commands() -> None:
    polls = json.loads((PLUGINS_DIR / "polls.json").read_text())
    create = jsonschema.Draft202012Validator(polls["actions"]["create"]["data"])
    assert create.is_valid({"question": "Lunch?", "options": ["Pizza", "Soup"]})
    assert not create.is_valid({"question": "Lunch?", "options": ["Pizza"]})
    config = jsonschema.Draft202012Validator(polls["config"])
    assert config.is_valid({"max_options": 4}) and not config.is_valid({"max_options": 40})
