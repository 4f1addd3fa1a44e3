"""The plugin manager: built-ins and entry points through one call, loud failures at start-up."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from podium.core import hookimpl
from podium.core.plugins import BUILTIN_PLUGINS, PluginLoadError, build_plugin_manager
from podium.core.plugins.host import describe


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    """A throwaway plugin module, importable by name."""
    mod = types.ModuleType("podium_test_typo")
    sys.modules[mod.__name__] = mod
    yield mod
    del sys.modules[mod.__name__]


def test_builtins_are_registered_like_any_plugin() -> None:
    pm = build_plugin_manager(entry_points_too=False)
    assert sorted(name for name, _ in pm.list_name_plugin()) == sorted(
        m.rsplit(".", 1)[1] for m in BUILTIN_PLUGINS
    )
    # A fresh manager each time: what one app registers never leaks into another.
    other = build_plugin_manager(builtins=(), entry_points_too=False)
    assert other.list_name_plugin() == [] and pm is not other


def test_a_hook_with_no_spec_fails_at_start_up(module: types.ModuleType) -> None:
    @hookimpl
    def podium_room_creatd(ctx: object) -> None:  # a typo of podium_room_created
        pass

    module.podium_room_creatd = podium_room_creatd  # type: ignore[attr-defined]
    with pytest.raises(PluginLoadError, match="podium_room_creatd"):
        build_plugin_manager(builtins=(), extra=[module.__name__], entry_points_too=False)


def test_bad_names_schemas_and_duplicates_fail(module: types.ModuleType) -> None:
    with pytest.raises(PluginLoadError, match="two plugins"):
        build_plugin_manager(extra=["podium.plugins.polls"], entry_points_too=False)

    @hookimpl
    def podium_config_schema() -> dict[str, object]:
        return {"type": "object", "properties": {"n": {"type": "nope"}}}

    module.podium_config_schema = podium_config_schema  # type: ignore[attr-defined]
    pm = build_plugin_manager(builtins=(), extra=[module.__name__], entry_points_too=False)
    with pytest.raises(PluginLoadError, match="bad config schema"):
        describe(pm)
