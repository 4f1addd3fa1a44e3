"""Peer-to-peer join benchmark: from opening a join link to the first remote video frame on screen.

One Chromium participant waits in a p2p room; then, one at a time, a new
participant opens its join link (pre-join skipped with ``prejoin=0``, fake
camera and microphone) and the page records, with ``requestVideoFrameCallback``
on the remote tile's ``<video>``, when the first frame of the other person's
video is presented. The figure is that moment on the page's own clock
(``performance.now()``, whose zero is the start of navigation): page load,
camera start, WebSocket join, signalling, ICE, DTLS, the first decoded frame.
Each joiner leaves before the next, so every join is into a two-person room.

    python bench/p2p_join.py                # 10 joins, p50/p95
    python bench/p2p_join.py --joins 20 --json results.json

Needs the ``test`` extra (playwright) and Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
from playwright.async_api import Browser, async_playwright

# bench/ is a folder of scripts run by path, which puts bench/ itself, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.realtime import machine, podium_cli, serve_podium, versions
from tests.support.browser import CHROMIUM_ARGS, require_chromium

#: Installed before the page's own scripts: note when a remote tile first presents a frame.
FIRST_FRAME_PROBE = """
window.__firstRemoteFrame = null;
const watched = new WeakSet();
new MutationObserver(() => {
  for (const video of document.querySelectorAll(".tile:not(.tile-you) video")) {
    if (watched.has(video)) continue;
    watched.add(video);
    video.requestVideoFrameCallback(() => {
      if (window.__firstRemoteFrame === null) window.__firstRemoteFrame = performance.now();
    });
  }
}).observe(document, { subtree: true, childList: true });
"""


async def join_url(api: httpx.AsyncClient, room: str, identity: str) -> str:
    response = await api.post(f"/rooms/{room}/tokens", json={"identity": identity, "name": identity.title()})
    response.raise_for_status()
    return f"{response.json()['join_url']}&prejoin=0"


async def one_join(browser: Browser, url: str, limit_s: float) -> float:
    """Milliseconds from navigation start to the first remote video frame presented."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = await context.new_page()
        await page.add_init_script(FIRST_FRAME_PROBE)
        await page.goto(url)
        await page.wait_for_function("window.__firstRemoteFrame !== null", timeout=limit_s * 1000)
        return float(await page.evaluate("window.__firstRemoteFrame"))
    finally:
        await context.close()


async def run(base: str, secret: str, room: str, joins: int, limit_s: float) -> list[float]:
    async with (
        httpx.AsyncClient(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {secret}"}) as api,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=str(require_chromium()), args=CHROMIUM_ARGS)
        anchor = await browser.new_context()
        host = await anchor.new_page()
        await host.goto(await join_url(api, room, "anchor"))
        await host.wait_for_selector("#app[data-phase=joined]")
        # One join to warm up the server and the browser's caches; not counted.
        await one_join(browser, await join_url(api, room, "warm-up"), limit_s)
        times = []
        for n in range(joins):
            ms = await one_join(browser, await join_url(api, room, f"joiner-{n}"), limit_s)
            print(f"join {n + 1}/{joins}: {ms:.0f} ms", file=sys.stderr)
            times.append(ms)
        await browser.close()
        return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--joins", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one join may take")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        env = dict(os.environ, PODIUM_DATA_DIR=str(workdir / "var"), PODIUM_LOG_LEVEL="warning")
        podium_cli(env, "migrate", as_json=False)
        tenant = podium_cli(env, "tenant", "create", f"bench-{uuid.uuid4().hex[:6]}")
        room = "p2p-bench"
        podium_cli(
            env, "room", "create", tenant["tenant"], room, "--name", "P2P benchmark", "--media-mode", "p2p"
        )
        base, _ = serve_podium(stack, env, workdir)
        times = asyncio.run(run(base, tenant["secret"], room, args.joins, args.timeout))

    figures = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "versions": versions(),
        "joins": len(times),
        "p50_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "min_ms": min(times),
        "max_ms": max(times),
        "all_ms": [round(t) for t in times],
    }
    print(f"machine: {figures['machine']}\nsoftware: {figures['versions']}")
    print(
        f"join link → first remote video frame, {len(times)} joins into a 2-person p2p room: "
        f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms "
        f"(min {figures['min_ms']:.0f}, max {figures['max_ms']:.0f})"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
