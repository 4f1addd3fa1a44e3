"""Browser tests: real Chromium against a real ``podium serve`` (SQLite + in-memory channels).

One Chromium per test worker, shared by its browser tests through a session-scoped event loop;
each participant gets a browser context of their own. The realtime protocol's backend matrix is
covered by tests/core, so browser tests run on the sqlite-memory backend only.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright, expect

from tests.support.browser import ARTIFACTS, TIMEOUT, Meeting, launch_chromium
from tests.support.client import TenantClient
from tests.support.server import Node

HERE = Path(__file__).parent
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A parametrize mark, added before pytest reads marks, overrides the `deployment` fixture's params.
    if "deployment" in metafunc.fixturenames:
        metafunc.definition.add_marker(
            pytest.mark.parametrize("deployment", ["sqlite-memory"], indirect=True)
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright objects belong to the loop that made them: browser tests share the session's.
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if HERE in item.path.parents and pytest_asyncio.is_async_test(item):
            item.add_marker(session_loop, append=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """This worker's Chromium."""
    expect.set_options(timeout=TIMEOUT * 1000)
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def acme(node: Node, tenant_keys: dict[str, dict[str, Any]]) -> AsyncIterator[TenantClient]:
    """The Acme tenant's REST client, on the browser tests' event loop."""
    issued = tenant_keys["Acme"]
    client = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    yield client
    await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def meeting(
    browser: Browser, acme: TenantClient, request: pytest.FixtureRequest
) -> AsyncIterator[Meeting]:
    """People joining Acme's rooms in Chromium; a failed test keeps their screens and consoles
    under ``test-artifacts/failures/<test>/``."""
    folder = re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(ARTIFACTS / "failures" / folder, ignore_errors=True)
    people = Meeting(browser, acme)
    yield people
    await people.close(failed_as=folder if request.node.stash.get(FAILED, False) else None)
