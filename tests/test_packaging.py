"""Every package in the tree ships, and the lock ``make`` installs from covers what pyproject asks for."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: ROOT / folder for name, folder in config["package-dir"].items()}
    on_disk = set()
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            if "__pycache__" in init.parts or "{{" in str(init):
                continue
            relative = init.parent.relative_to(folder).parts
            on_disk.add(".".join((name, *relative)))
    assert on_disk - set(config["packages"]) == set(), "add these to [tool.setuptools] packages"


def _locked() -> dict[str, list[Requirement]]:
    """The lock's pins by project name (a universal lock may pin one name per Python version)."""
    pins: dict[str, list[Requirement]] = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            pin = Requirement(line.rstrip(" \\"))
            pins.setdefault(canonicalize_name(pin.name), []).append(pin)
    return pins


def test_the_lock_pins_every_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [
        *project["project"]["dependencies"],
        *(r for extra in project["project"]["optional-dependencies"].values() for r in extra),
        *(r for group in project["dependency-groups"].values() for r in group),
    ]
    pins = _locked()
    off = []
    for text in wanted:
        requirement = Requirement(text)
        mine = [
            p
            for p in pins.get(canonicalize_name(requirement.name), [])
            if p.marker is None or p.marker.evaluate()
        ]
        versions = [next(iter(p.specifier)).version for p in mine]
        if len(versions) != 1 or versions[0] not in requirement.specifier:
            off.append(f"{text} (locked: {versions or 'nothing'})")
    assert not off, f"run `make lock`: {off}"
