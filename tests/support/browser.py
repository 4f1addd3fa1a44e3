"""Real Chromium for browser tests: one browser per test worker, one context (own storage) per person.

Chromium is Debian's (``scripts/test-services.sh`` installs it); Playwright only drives it, so
no browser download is ever needed. Fake camera and microphone devices stand in for hardware.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    Playwright,
    ViewportSize,
)

from tests.support.client import TenantClient

ROOT = Path(__file__).resolve().parents[2]
#: Screenshots (and, for failed tests, each participant's page and console) land here.
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("PODIUM_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    # Fake camera/microphone/screen, granted without a prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No network here: nothing in the background may wait on it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
#: Seconds to wait for anything a person would wait for; generous because two cores run the
#: server, several browsers and another test worker at once, and must hold with a benchmark
#: beside them (issue 14: a PDF rendered in 20+ s, a camera took 30+ s to reach the composite at
#: a load average of 21). A wait ends as soon as its condition holds.
TIMEOUT = 45.0
VIEWPORT: ViewportSize = {"width": 1280, "height": 720}

T = TypeVar("T")


def require_chromium() -> Path:
    """Chromium's path; fails (never skips) when it is missing."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        raise RuntimeError(
            f"Chromium not found at {CHROMIUM}; run `make test` (scripts/test-services.sh installs it) "
            "or point PODIUM_TEST_CHROMIUM at a Chromium binary"
        )
    return CHROMIUM


async def launch_chromium(playwright: Playwright) -> Browser:
    """The machine's Chromium, headless, with fake media devices."""
    return await playwright.chromium.launch(
        executable_path=str(require_chromium()), args=CHROMIUM_ARGS, timeout=60_000
    )


def artifact(name: str) -> Path:
    """A path under ``test-artifacts/`` (created on demand)."""
    path = ARTIFACTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    what: str,
    timeout: float = TIMEOUT,
    interval: float = 0.25,
) -> T:
    """Poll ``probe`` until ``check`` holds for its result; fail with the last result after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await probe()
        if check(result):
            return result
        if loop.time() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s; last seen: {result!r}")
        await asyncio.sleep(interval)


#: Where a page stands: the pre-join screen, the room, the lobby, or how the session ended.
_WHERE = """() => {
  const prejoin = document.querySelector('[data-testid=prejoin]');
  if (prejoin && prejoin.checkVisibility()) return 'prejoin';
  const terminal = window.podium?.store.getState().terminal;
  if (terminal) return 'ended:' + terminal.kind;
  const phase = document.getElementById('app')?.dataset.phase;
  return phase === 'joined' || phase === 'lobby' ? phase : null;
}"""

#: Each remote tile's video as the viewer sees it (``you``: the viewer's participant id).
_REMOTE_VIDEOS = """(you) => [...document.querySelectorAll('[data-testid=stage-tile]')]
  .filter((tile) => tile.dataset.participantId !== you)
  .map((tile) => {
    const video = tile.querySelector('video');
    return {
      participantId: tile.dataset.participantId,
      width: video ? video.videoWidth : 0,
      time: video ? video.currentTime : 0,
      playing: Boolean(video && !video.paused && video.checkVisibility()),
    };
  })"""


#: Share of the MCU composite's left and right halves showing Chromium's fake camera (green
#: dominates; a tile without video is a dark grey placeholder), as the viewer's page shows it
#: now; null before the composite plays.
_COMPOSITE_CAMERA_HALVES = """() => {
  const video = document.querySelector('[data-testid=composite] video');
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [video.videoWidth, video.videoHeight];
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(video, 0, 0);
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  const green = [0, 0];
  for (let i = 0; i < data.length; i += 4) {
    const left = (i / 4) % canvas.width < canvas.width / 2;
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (g > 40 && g > r + 30 && g > b + 30) green[left ? 0 : 1]++;
  }
  const half = (canvas.width * canvas.height) / 2;
  return green.map((count) => count / half);
}"""


class BrowserParticipant:
    """One person in the room: their own browser context (storage, devices) and page."""

    def __init__(self, identity: str, role: str, context: BrowserContext, page: Page) -> None:
        self.identity = identity
        self.role = role
        self.context = context
        self.page = page
        #: The page's console and uncaught errors, for failure reports.
        self.console: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console.append(f"[pageerror] {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"[{message.type}] {message.text}")

    @classmethod
    async def open(
        cls,
        browser: Browser,
        tenant: TenantClient,
        room: str,
        identity: str,
        role: str = "attendee",
        init_script: str | None = None,
    ) -> BrowserParticipant:
        """Mint a join token through the REST API and open the join link in a fresh context
        (``init_script`` runs in every page of it before the page's own scripts)."""
        token = await tenant.token(room, identity, role)
        context = await browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT * 1000)
        if init_script is not None:
            await context.add_init_script(init_script)
        page = await context.new_page()
        person = cls(identity, role, context, page)
        await page.goto(f"{tenant.base_url}/r/{tenant.slug}/{room}?token={token}")
        return person

    # ---- joining -------------------------------------------------------------------------------------

    async def where(self, timeout: float = TIMEOUT) -> str:
        """Wait until the page shows something decisive: prejoin, joined, lobby or ``ended:<kind>``."""
        handle = await self.page.wait_for_function(_WHERE, timeout=timeout * 1000, polling=100)
        return str(await handle.json_value())

    async def enter(self, name: str | None = None, expect: str = "joined") -> None:
        """Get past the pre-join screen if there is one (typing ``name``), then wait for ``expect``."""
        place = await self.where()
        if place == "prejoin":
            if name is not None:
                await self.page.get_by_test_id("prejoin-name").fill(name)
            await self.page.get_by_test_id("prejoin-join").click()
            await self.page.get_by_test_id("prejoin").wait_for(state="hidden")
            place = await self.where()
        assert place == expect, (
            f"{self.identity} expected {expect}, got {place}; console: {self.console[-10:]}"
        )

    # ---- state -------------------------------------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        """The page's store (``window.podium.store.getState()``) as JSON."""
        state: dict[str, Any] = await self.page.evaluate(
            "() => JSON.parse(JSON.stringify(window.podium.store.getState()))"
        )
        return state

    async def participant_id(self) -> str:
        """This person's current participant id (it changes when the socket reconnects)."""
        return str((await self.state())["you"]["id"])

    async def wait_for(self, predicate: str, arg: Any = None, timeout: float = TIMEOUT) -> Any:
        """Wait until the JS ``predicate(arg)`` returns something truthy; return it."""
        handle = await self.page.wait_for_function(predicate, arg=arg, timeout=timeout * 1000, polling=100)
        return await handle.json_value()

    async def sees_participants(self, identities: set[str]) -> None:
        """Wait until exactly ``identities`` are in the room, as this page's store has it."""
        await self.wait_for(
            "(want) => { const have = window.podium.store.getState().participants.map((p) => p.identity);"
            " return have.length === want.length && want.every((i) => have.includes(i)); }",
            sorted(identities),
        )

    def tile(self, participant_id: str) -> Locator:
        """The stage tile of ``participant_id``."""
        return self.page.locator(f'[data-testid=stage-tile][data-participant-id="{participant_id}"]')

    def row(self, participant_id: str) -> Locator:
        """The People panel's row of ``participant_id``."""
        return self.page.locator(f'[data-testid=participant-row][data-participant-id="{participant_id}"]')

    def screen(self, kind: str) -> Locator:
        """The full-page screen for ``kind`` (kicked, ended, left, …), once it is shown."""
        return self.page.locator(f'[data-testid=screen][data-state="{kind}"]')

    # ---- media -------------------------------------------------------------------------------------

    async def mesh_stats(self) -> dict[str, Any]:
        """``await window.podium.mesh.stats()``: one entry per remote peer, inbound RTP summed per kind."""
        stats: dict[str, Any] = await self.page.evaluate("() => window.podium.mesh.stats()")
        return stats

    async def composite_camera_halves(self) -> list[float] | None:
        """How much of the composite's left and right halves shows a live (fake) camera, 0 to 1."""
        halves: list[float] | None = await self.page.evaluate(_COMPOSITE_CAMERA_HALVES)
        return halves

    async def remote_videos(self) -> list[dict[str, Any]]:
        """For each remote stage tile: its video's width, playback time and whether it plays on screen."""
        you = await self.participant_id()
        videos: list[dict[str, Any]] = await self.page.evaluate(_REMOTE_VIDEOS, you)
        return videos

    # ---- chat --------------------------------------------------------------------------------------

    async def send_chat(self, text: str, to: str = "everyone") -> None:
        """Send ``text`` through the Chat panel to ``to``: everyone, moderators or a participant id."""
        await self.page.get_by_test_id("tab-chat").click()
        await self.page.get_by_test_id("chat-recipient").select_option(value=to)
        box = self.page.get_by_test_id("chat-input")
        await box.fill(text)
        await self.page.get_by_test_id("chat-send").click()
        # The composer empties once the server has acknowledged the message.
        await self.page.wait_for_function(
            "() => document.querySelector('[data-testid=chat-input]').value === ''", polling=100
        )

    async def chat_texts(self, until: str) -> list[str]:
        """The texts this person reads in the Chat panel, once ``until`` (sent last) has arrived."""
        await self.page.get_by_test_id("tab-chat").click()
        await (
            self.page.get_by_test_id("chat-log")
            .get_by_test_id("chat-text")
            .filter(has_text=re.compile(f"^{re.escape(until)}$"))
            .wait_for()
        )
        texts = await self.page.get_by_test_id("chat-log").get_by_test_id("chat-text").all_inner_texts()
        return [t.strip() for t in texts]

    # ---- artifacts -----------------------------------------------------------------------------------

    async def screenshot(self, name: str) -> Path:
        """Save what this person sees as ``test-artifacts/<name>.png``."""
        path = artifact(f"{name}.png")
        await self.page.screenshot(path=path, animations="disabled")
        return path

    async def save_failure(self, folder: str) -> None:
        """Keep this person's screen and console for a failed test."""
        base = artifact(f"failures/{folder}/{self.identity}.png")
        try:
            await self.page.screenshot(path=base, timeout=5000)
        except Error as exc:
            self.console.append(f"[harness] no screenshot: {exc}")
        base.with_suffix(".log").write_text("\n".join(self.console) + "\n")

    async def close(self) -> None:
        with contextlib.suppress(Error):  # the browser may already be gone at the end of the session
            await self.context.close()


class Meeting:
    """The people of one test, each in their own browser context, joining rooms of one tenant."""

    def __init__(self, browser: Browser, tenant: TenantClient) -> None:
        self.browser = browser
        self.tenant = tenant
        self.people: list[BrowserParticipant] = []

    async def room(self, **settings: Any) -> str:
        """A new peer-to-peer room (unless ``settings`` say otherwise); returns its slug."""
        return str((await self.tenant.room(**{"media_mode": "p2p", **settings}))["slug"])

    async def open(
        self, room: str, identity: str, role: str = "attendee", init_script: str | None = None
    ) -> BrowserParticipant:
        """Open ``identity``'s join link, without getting past any pre-join screen."""
        person = await BrowserParticipant.open(self.browser, self.tenant, room, identity, role, init_script)
        self.people.append(person)
        return person

    async def join(
        self,
        room: str,
        identity: str,
        role: str = "attendee",
        name: str | None = None,
        expect: str = "joined",
        init_script: str | None = None,
    ) -> BrowserParticipant:
        """Open the join link and get into the room (through the pre-join screen, if any)."""
        person = await self.open(room, identity, role, init_script)
        await person.enter(name=name, expect=expect)
        return person

    async def join_all(self, room: str, *people: tuple[str, str]) -> list[BrowserParticipant]:
        """``(identity, role)`` pairs, joined one after another (arrival order is deterministic)."""
        joined = [await self.join(room, identity, role) for identity, role in people]
        everyone = {identity for identity, _ in people}
        await asyncio.gather(*(p.sees_participants(everyone) for p in joined))
        return joined

    async def close(self, failed_as: str | None = None) -> None:
        if failed_as:
            await asyncio.gather(*(p.save_failure(failed_as) for p in self.people))
        await asyncio.gather(*(p.close() for p in self.people))


def publish_screenshot(source: Path, target: str) -> None:
    """Copy a screenshot into the repository (``docs/…``) when ``PODIUM_UPDATE_SCREENSHOTS`` is set."""
    if os.environ.get("PODIUM_UPDATE_SCREENSHOTS"):
        destination = ROOT / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
