"""Network benchmark (issue 15): what participants see and hear on a bad network, P2P and MCU.

For each network profile of ``tests.support.network`` (``good``, ``loss5``,
``loss10``, ``rtt300``, ``cap500k``, ``cap250k_up``, ``burst``) and each scenario:

- ``p2p2``, ``p2p4``: 2 or 4 aiortc peers in a full mesh (``bench/network_p2p.py``),
  peer 0 behind the impaired link. Rows: what peer 0 receives (its downlink) and
  what the others receive from peer 0 (its uplink). **These are aiortc's stack
  (congestion control, jitter buffer, decoder), not a browser's.**
- ``mcu8``: 8 synthetic participants in an MCU room on a Podium media node
  (``bench/network_mcu.py``), participant 0 behind the impaired link. Rows: the
  composite at participant 0, and at participants 1-2 (with participant 0's tile in it).

The impaired participant relays everything through TURN (coturn) over a link of
its own (``tests.support.network``, a userspace netem); it connects on a ``good``
link, and once media flows (and a warm-up passes; MCU: once everyone measured is
on the 720p tier, ``--settle``) the link switches to the profile and a window of
``--duration`` seconds is measured. ``burst`` cuts the link both ways for 2 s at
the window's middle. Per row (the worst of its streams; latency pooled): received
fps; freezes (no new frame for >= 500 ms) per minute and the frozen share of the
time; the share of audio playout concealed (lost, or late for a simple adaptive
playout buffer, ``network_measure.concealed_share``); one-way latency p50/p95
from the timestamps drawn on the video; after ``burst``, seconds from the
outage's end to fresh video and to audio. MCU rows add the composite's tier
(seconds until participant 0 is on 360p; share of frames on 720p), how often
participant 0's tile was stale (>= 500 ms old) in the others' composite, and
the node's loss counters. Issue 15's targets are checked at the end.

The timestamps are read in a worker process: read on the participants' event
loop, they delayed packet arrivals enough for aiortc's delay-based bandwidth
estimates to see congestion, drop every receiver to 360p and make the mixer
switch speakers between mixes (see docs/benchmarks.md).

    python bench/network.py                                        # everything (~25 min)
    python bench/network.py --profiles good loss5 --scenarios p2p2 --duration 10
    python bench/network.py --scenarios mcu8 --profiles cap500k burst --json net.json

Needs coturn (``make test`` installs it) and the ``test`` extra. On a 2-core machine
the participants' own CPU (``cores`` column) can freeze video as surely as a bad link:
read a row beside its ``good`` row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# bench/ is a folder of scripts run by path, which puts bench/ itself, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.mcu import cpu_seconds, parse_cpus
from bench.network_mcu import Podium, mcu_room, podium
from bench.network_measure import Figures, Probes, VideoLog, figures, latency, median
from bench.network_p2p import Stream, mesh
from bench.realtime import machine, versions
from podium.media import control
from tests.support.network import PROFILES, DirectionStats, LinkStats, Netem, Profile
from tests.support.tracks import now_ms
from tests.support.turn import TurnServer, turn_server

SCENARIOS = ("p2p2", "p2p4", "mcu8")


@dataclass
class Row:
    """One receiver (or group of streams) in one cell, at its worst stream."""

    scenario: str
    profile: str
    receiver: str
    streams: int
    fps: float
    freezes_per_min: float
    frozen_pct: float
    concealed_pct: float
    latency_p50_ms: float
    latency_p95_ms: float
    #: After an outage: seconds to fresh video / to audio (inf: not back in the window; None: no outage).
    video_back_s: float | None
    audio_back_s: float | None
    #: MCU: seconds until the 360p tier (None: stayed on 720p); share of frames on 720p.
    to_low_s: float | None = None
    high_pct: float = math.nan
    #: MCU, others: share of probes in which participant 0's tile was >= 500 ms old.
    tile_stale_pct: float = math.nan
    #: CPU cores over the window: this process (participants), and the media node.
    bench_cores: float = 0.0
    node_cores: float = math.nan
    #: Audio frames whose RTP timestamp stepped back, per minute (worst stream).
    audio_steps_back_per_min: float = 0.0
    #: The impaired link's packets each way, and what it dropped.
    link: str = ""
    note: str = ""


@dataclass
class Window:
    start: float
    end: float
    outage: tuple[float, float] | None
    bench_cores: float
    node_cores: float
    link: str


async def measure(
    net: Netem, link: str, profile: Profile, duration: float, videos: list[VideoLog], node_pid: int | None
) -> Window:
    """Impair ``link`` as ``profile`` now and measure ``duration`` s (an outage at the middle, if any)."""
    cpu0, node0 = time.process_time(), cpu_seconds(node_pid) if node_pid else 0.0
    await net.set(link, profile)
    start = time.monotonic()
    outage = None
    if profile.outage_s:
        await asyncio.sleep(duration / 2)
        cut_ms, cut = now_ms(), time.monotonic()
        for video in videos:
            video.expect_fresh(cut_ms)
        await net.outage(link)
        outage = (cut, cut + profile.outage_s)
    await asyncio.sleep(max(0.0, start + duration - time.monotonic()))
    end = time.monotonic()
    node = (cpu_seconds(node_pid) - node0) / (end - start) if node_pid else math.nan
    bench_cores = (time.process_time() - cpu0) / (end - start)
    return Window(start, end, outage, bench_cores, node, _link(await net.stats(link)))


def _link(stats: LinkStats) -> str:
    def one(name: str, d: DirectionStats) -> str:
        p = max(1, d.packets)
        lost, queue, cut = d.lost / p, d.queue_dropped / p, d.outage_dropped / p
        return f"{name} {d.packets} pkts: {lost:.1%} lost, {queue:.1%} queue, {cut:.1%} cut"

    return f"{one('up', stats.up)}; {one('down', stats.down)}"


def row(scenario: str, profile: str, receiver: str, found: list[Figures], w: Window) -> Row:
    """The worst of ``found`` (lowest fps, most freezes, slowest back), latency pooled."""

    def back(values: list[float | None]) -> float | None:
        if w.outage is None:
            return None
        return max((math.inf if v is None else v) for v in values)

    pooled = [ms for f in found for ms in f.latencies_ms]
    return Row(
        scenario=scenario,
        profile=profile,
        receiver=receiver,
        streams=len(found),
        fps=round(min(f.fps for f in found), 1),
        freezes_per_min=round(max(f.freezes_per_min for f in found), 1),
        frozen_pct=round(100 * max(f.freeze_share for f in found), 1),
        concealed_pct=round(100 * max(f.concealed for f in found), 1),
        latency_p50_ms=latency(pooled, 50),
        latency_p95_ms=latency(pooled, 95),
        video_back_s=back([f.video_back_s for f in found]),
        audio_back_s=back([f.audio_back_s for f in found]),
        to_low_s=max((f.to_low_s for f in found if f.to_low_s is not None), default=None),
        high_pct=round(100 * median([f.high_share for f in found]), 1),
        tile_stale_pct=round(100 * median([f.tile_stale for f in found]), 1),
        audio_steps_back_per_min=round(max(f.audio_steps_back_per_min for f in found), 1),
        bench_cores=round(w.bench_cores, 2),
        node_cores=round(w.node_cores, 2),
        link=w.link,
    )


async def p2p_cell(
    peers: int, profile: Profile, turn: TurnServer, net: Netem, probes: Probes, args: argparse.Namespace
) -> list[Row]:
    """One mesh cell: what peer 0 receives, and what the others receive from it."""
    async with mesh(peers, turn, net, probes, args.latency_hz) as m:
        await m.wait_flowing(30)
        await asyncio.sleep(args.warmup)
        w = await measure(net, m.link, profile, args.duration, [s.video for s in m.streams], None)
    scenario = f"p2p{peers}"

    def of(streams: list[Stream]) -> list[Figures]:
        return [figures(s.video, s.audio, w.start, w.end, w.outage) for s in streams]

    rows = [
        row(scenario, profile.name, "peer 0 receives", of(m.downlink), w),
        row(scenario, profile.name, "others receive peer 0", of(m.uplink), w),
    ]
    for r in rows:  # a mesh has no tiers: the sender's encoder follows the estimate
        r.to_low_s, r.high_pct = None, math.nan
    return rows


async def mcu_cell(
    pod: Podium, profile: Profile, turn: TurnServer, net: Netem, probes: Probes, args: argparse.Namespace
) -> list[Row]:
    """One MCU cell: the composite at participant 0, and at participants 1-2."""
    cpus = parse_cpus(args.load_cpus)
    async with mcu_room(pod, turn, net, probes, args.latency_hz, args.duration, args.settle, cpus) as room:
        await room.wait_flowing(40)
        # Start with the counting participants' window (they joined meanwhile), a warm-up at least.
        await asyncio.sleep(max(args.warmup, (room.starts_at_ms - now_ms()) / 1000))
        settled = await room.settle(args.settle)
        videos = list(room.videos.values())
        before = await node_counters(pod)
        w = await measure(net, room.link, profile, args.duration, videos, pod.node_pid)
        counters = await node_counters(pod)
        for video in videos:
            await video.drain()
        found = {k: figures(v, room.audios[k], w.start, w.end, w.outage) for k, v in room.videos.items()}
    counted = await room.load
    mine = room.impaired.identity
    rows = [
        row("mcu8", profile.name, "participant 0 (impaired)", [found[mine]], w),
        row("mcu8", profile.name, "participants 1-2", [f for k, f in found.items() if k != mine], w),
    ]
    fps = min((p.fps for p in counted.participants), default=0.0)
    rows[1].note = f"5 counting participants: fps min {fps:.1f}, {counted.connected} connected"
    changed = {k: v - before.get(k, 0.0) for k, v in counters.items() if v != before.get(k, 0.0)}
    rows[0].note = "node: " + (", ".join(f"{k} +{v:g}" for k, v in sorted(changed.items())) or "no counters")
    if not settled:
        rows[0].note += f"; not all on 720p after {args.settle:.0f} s of settling: measured anyway"
    return rows


async def node_counters(pod: Podium) -> dict[str, float]:
    """The node's loss and repair counters (``node.stats``: NACKs, PLIs, losses, tier changes)."""
    stats = (await pod.node.request(lambda i: control.NodeStats(id=i))).stats or {}
    keep = ("uplink_", "downlink_", "video_frames", "audio_concealed", "retransmissions", "tier_changes")
    return {k: float(v) for k, v in stats.items() if k.startswith(keep)}


async def bench(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    with turn_server() as turn:
        async with Netem.start() as net, contextlib.AsyncExitStack() as stack:
            probes = Probes()
            stack.callback(probes.close)
            pod: Podium | None = None
            for scenario in args.scenarios:
                for name in args.profiles:
                    profile = PROFILES[name]
                    print(f"{scenario} {name}: running…", file=sys.stderr, flush=True)
                    try:
                        if scenario == "mcu8":
                            if pod is None:
                                pod = await stack.enter_async_context(podium(parse_cpus(args.server_cpus)))
                            found = await mcu_cell(pod, profile, turn, net, probes, args)
                        else:
                            found = await p2p_cell(int(scenario[3:]), profile, turn, net, probes, args)
                    except Exception as exc:  # one cell failing is a finding; the others still run
                        print(f"{scenario} {name}: FAILED {exc!r}", file=sys.stderr, flush=True)
                        continue
                    for r in found:
                        print(json.dumps(asdict(r)), file=sys.stderr, flush=True)
                    rows.extend(found)
    return rows


def _s(value: float | None) -> str:
    if value is None:
        return "—"
    return "never" if math.isinf(value) else f"{value:.1f}"


def _n(value: float, unit: str = "") -> str:
    return "—" if math.isnan(value) else f"{value:g}{unit}"


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | profile | receiver | fps | freezes/min | frozen % | audio concealed % "
        "| latency p50 / p95 ms | back: video / audio s | to 360p s | on 720p % | p0 tile stale % "
        "| cores bench / node |",
        "|---|---|---|" + "---:|" * 10,
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.profile} | {r.receiver} | {r.fps} | {r.freezes_per_min} | {r.frozen_pct} "
            f"| {r.concealed_pct} | {_n(r.latency_p50_ms)} / {_n(r.latency_p95_ms)} "
            f"| {_s(r.video_back_s)} / {_s(r.audio_back_s)} | {_s(r.to_low_s)} "
            f"| {_n(r.high_pct)} | {_n(r.tile_stale_pct)} | {r.bench_cores} / {_n(r.node_cores)} |"
        )
    return "\n".join(lines)


def details(r: Row) -> str:
    """What a row's cell looked like beyond the table: the link's counters, oddities seen."""
    parts = [f"link {r.link}"]
    if r.audio_steps_back_per_min:
        parts.append(f"audio timestamps stepped back {r.audio_steps_back_per_min}/min")
    return "; ".join([*parts, *([r.note] if r.note else [])])


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def verdicts(rows: list[Row]) -> list[str]:
    """Issue 15's targets, row by row where they apply."""
    out = []
    for r in rows:
        where = f"{r.scenario} {r.profile} {r.receiver}"
        if r.profile == "loss5":
            ok = r.frozen_pct < 2 and r.fps >= 12
            out.append(f"{_verdict(ok)} {where}: frozen {r.frozen_pct} % (< 2), fps {r.fps} (>= 12)")
        if r.profile == "burst" and r.video_back_s is not None:
            ok = r.video_back_s <= 3
            out.append(f"{_verdict(ok)} {where}: video back in {_s(r.video_back_s)} s (<= 3)")
        if r.profile == "cap500k" and r.scenario == "mcu8":
            if r.receiver.startswith("participant 0"):
                ok = r.to_low_s is not None and r.to_low_s <= 10
                out.append(f"{_verdict(ok)} {where}: on 360p after {_s(r.to_low_s)} s (<= 10)")
            else:
                good = next((g for g in rows if g.profile == "good" and g.receiver == r.receiver), None)
                ok = r.high_pct == 100 and (good is None or r.fps >= 0.9 * good.fps)
                than = f" (good: {good.fps})" if good else ""
                out.append(f"{_verdict(ok)} {where}: on 720p {r.high_pct} %, fps {r.fps}{than}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES), choices=list(PROFILES))
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds of media before the impairment")
    parser.add_argument(
        "--settle", type=float, default=30.0, help="MCU: wait at most this long for everyone on 720p first"
    )
    parser.add_argument("--latency-hz", type=float, default=2.0, help="timestamp probes a second a stream")
    parser.add_argument("--server-cpus", help="pin the media node, e.g. 0")
    parser.add_argument("--load-cpus", help="pin the MCU's counting participants, e.g. 1")
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    args = parser.parse_args(argv)
    if args.server_cpus is None and args.load_cpus is None and (os.cpu_count() or 1) >= 2:
        args.server_cpus, args.load_cpus = "0", ",".join(map(str, range(1, os.cpu_count() or 2)))
    started = dt.datetime.now(dt.UTC)
    rows = asyncio.run(bench(args))
    print(f"date: {started:%Y-%m-%d %H:%M} UTC\nmachine: {machine()}\nsoftware: {versions()}")
    print(f"media node pinned to CPUs {args.server_cpus}, MCU counting participants to {args.load_cpus}")
    print(f"window: {args.duration:.0f} s per cell after a {args.warmup:.0f} s warm-up; figures per minute\n")
    print(table(rows))
    print()
    for r in rows:
        print(f"- {r.scenario} {r.profile} {r.receiver}: {details(r)}")
    print()
    print("\n".join(verdicts(rows)))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))


if __name__ == "__main__":
    main()
