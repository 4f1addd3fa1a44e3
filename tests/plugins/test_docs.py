"""Every hook is documented in docs/plugins.md (with its exact signature) and exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from podium.core import hookspecs

ROOT = Path(__file__).parents[2]
DOCS = (ROOT / "docs" / "plugins.md").read_text()
TESTS = "\n".join(
    p.read_text() for p in (ROOT / "tests" / "plugins").glob("test_*.py") if p.name != "test_docs.py"
)
HOOKS = sorted(name for name, fn in vars(hookspecs).items() if name.startswith("podium_") and callable(fn))


def signature(name: str) -> str:
    """``async def podium_x(ctx: PluginContext) -> None``, as the spec declares it."""
    fn = getattr(hookspecs, name)
    notes = dict(fn.__annotations__)
    returns = notes.pop("return")
    params = ", ".join(f"{arg}: {notes[arg]}" for arg in inspect.signature(fn).parameters)
    return f"{'async ' if inspect.iscoroutinefunction(fn) else ''}def {name}({params}) -> {returns}"


def test_there_are_hooks() -> None:
    assert len(HOOKS) >= 17


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_is_documented_with_its_signature(hook: str) -> None:
    assert f"\n### `{hook}`\n" in DOCS, f"docs/plugins.md has no section for {hook}"
    section = DOCS.split(f"\n### `{hook}`\n", 1)[1].split("\n### ", 1)[0]
    assert signature(hook) in section, f"docs/plugins.md: stale signature for {hook}: {signature(hook)}"
    assert "@hookimpl" in section, f"docs/plugins.md has no example for {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_has_a_test(hook: str) -> None:
    assert hook in TESTS, f"no test in tests/plugins/ names {hook}"
