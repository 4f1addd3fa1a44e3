"""``podium plugin new`` renders a plugin that installs into a fresh virtualenv and passes its own tests.

The fresh virtualenv sees Podium and its dependencies through a ``.pth`` file pointing at this
environment's site-packages, and gets the rendered plugin with ``pip install --no-deps
--no-build-isolation`` (setuptools from this environment too: nothing is downloaded), which
registers its entry point exactly as a plugin author's ``pip install -e .`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

from podium.core.errors import PodiumError
from podium.core.plugins.scaffold import PluginNames, new_plugin, plugin_names


def _run(
    *args: str | Path, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "PYTEST_", "PYTHON"))}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_rendered_plugin_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    made = _run(
        sys.executable, "-m", "podium.core.cli", "plugin", "new", "my-poll", "--directory", tmp_path,
        "--description", 'Ask "one" question',
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    # As Python templates do: the distribution keeps the hyphen, the module and plugin names can't.
    plugin = tmp_path / "podium-my-poll"
    assert (plugin / "podium_my_poll" / "client" / "my_poll.js").is_file()
    project = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    assert project["name"] == "podium-my-poll"
    assert project["description"] == 'Ask "one" question'
    assert project["entry-points"]["podium.plugins"] == {"my_poll": "podium_my_poll"}

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, system_site_packages=False)
    fresh = env_dir / "bin" / "python"
    site = Path(_run(fresh, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    ours = sysconfig.get_paths()["purelib"]
    (site / "podium-dev.pth").write_text(f"import site; site.addsitedir({ours!r})\n")

    installed = _run(fresh, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q", plugin)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listed = _run(
        fresh,
        "-c",
        "from podium.core.plugins import build_plugin_manager as b; print(sorted(b().list_name_plugin()))",
    )
    assert "my_poll" in listed.stdout, listed.stderr

    tests = _run(fresh, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=plugin)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert "3 passed" in tests.stdout


@pytest.mark.parametrize(
    ("name", "plugin", "package", "distribution"),
    [
        ("poll", "poll", "podium_poll", "podium-poll"),
        ("my-poll", "my_poll", "podium_my_poll", "podium-my-poll"),
        ("my_poll2", "my_poll2", "podium_my_poll2", "podium-my-poll2"),
    ],
)
def test_names_are_derived(name: str, plugin: str, package: str, distribution: str) -> None:
    assert plugin_names(name) == PluginNames(plugin, package, distribution)


@pytest.mark.parametrize("name", ["Hello-World", "1poll", "-poll", "poll-", "my--poll", "my poll", "a" * 41])
def test_invalid_names_get_a_clear_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(PodiumError, match="lowercase letters and digits") as caught:
        new_plugin(name, tmp_path)
    assert caught.value.code == "invalid_plugin_name"
    assert not any(tmp_path.iterdir())


def test_an_existing_directory_is_not_overwritten(tmp_path: Path) -> None:
    new_plugin("twice", tmp_path)
    with pytest.raises(PodiumError, match="already exists") as caught:
        new_plugin("twice", tmp_path)
    assert caught.value.code == "plugin_exists"
