"""MCU tests: real media node (``podium serve``'s own), real aiortc participants; SQLite backend only.

The realtime backend matrix is covered by tests/core; media tests are CPU-heavy on a 2-core
machine, so they run once, against the embedded setup a new user gets from ``make run``.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "deployment" in metafunc.fixturenames:
        metafunc.definition.add_marker(
            pytest.mark.parametrize("deployment", ["sqlite-memory"], indirect=True)
        )
