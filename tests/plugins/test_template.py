"""``podium plugin new`` renders a plugin that installs into a fresh virtualenv and passes its own tests.

The fresh virtualenv sees Podium and its dependencies through a ``.pth`` file pointing at this
environment's site-packages (no downloads), and gets the rendered plugin with ``pip install
--no-deps`` (build isolation fetches setuptools, from pip's cache once warm), which registers
its entry point exactly as a plugin author's ``pip install -e .`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from podium.core.errors import PodiumError
from podium.core.plugins.scaffold import new_plugin


def _run(
    *args: str | Path, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "PYTEST_", "PYTHON"))}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_rendered_plugin_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    made = _run(
        sys.executable, "-m", "podium.core.cli", "plugin", "new", "hello_world", "--directory", tmp_path
    )
    assert made.returncode == 0, made.stderr
    plugin = tmp_path / "podium-hello-world"
    assert (plugin / "podium_hello_world" / "client" / "hello_world.js").is_file()
    assert 'hello_world = "podium_hello_world"' in (plugin / "pyproject.toml").read_text()

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, system_site_packages=False)
    fresh = env_dir / "bin" / "python"
    site = Path(_run(fresh, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    ours = sysconfig.get_paths()["purelib"]
    (site / "podium-dev.pth").write_text(f"import site; site.addsitedir({ours!r})\n")

    # The build backend (setuptools) comes through pip's build isolation, from its cache once warm.
    installed = _run(fresh, "-m", "pip", "install", "--no-deps", "-q", plugin)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listed = _run(
        fresh,
        "-c",
        "from podium.core.plugins import build_plugin_manager as b; print(sorted(b().list_name_plugin()))",
    )
    assert "hello_world" in listed.stdout, listed.stderr

    tests = _run(fresh, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=plugin)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert "3 passed" in tests.stdout


def test_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(PodiumError, match="lowercase"):
        new_plugin("Hello-World", tmp_path)
    new_plugin("twice", tmp_path)
    with pytest.raises(PodiumError, match="already exists"):
        new_plugin("twice", tmp_path)
