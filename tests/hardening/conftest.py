"""The hardening suite: independent clients (PyJWT, standardwebhooks, schemathesis, hypothesis,
raw WebSockets) attacking real ``podium serve`` processes.

Every module records what it tried in a ``tally``: ``make harden`` (no xdist, larger example
counts through ``PODIUM_HARDEN_SCALE``) prints the table that docs/security.md quotes.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

#: Multiplies the example counts of the fuzzing tests: 1 in ``make test``, more in ``make harden``.
SCALE = max(1, int(os.environ.get("PODIUM_HARDEN_SCALE", "1")))

_TRIED: Counter[str] = Counter()
_HELD: Counter[str] = Counter()


def examples(base: int) -> int:
    """How many generated cases a fuzzing test runs at the current scale."""
    return base * SCALE


class Tally:
    """Cases one area of the suite tried, and how many of them the server withstood."""

    def __init__(self, area: str) -> None:
        self.area = area

    def tried(self, count: int = 1) -> None:
        _TRIED[self.area] += count

    def held(self, count: int = 1) -> None:
        _HELD[self.area] += count


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Tally:
    """A tally named after the test module (``test_join_token_attacks`` → ``join token attacks``)."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", " ")
    return Tally(module)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _TRIED:
        return
    terminalreporter.section("hardening: cases tried / held")
    for area in sorted(_TRIED):
        terminalreporter.write_line(f"{area:<32} {_TRIED[area]:>7} tried {_HELD[area]:>7} held")
