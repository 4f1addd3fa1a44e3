"""MCU benchmark: N synthetic participants in one MCU room, against the naive baseline, side by side.

For each N the bench runs two variants against a fresh room on a media node it
starts itself (``podium media``, pinned with ``taskset`` to ``--server-cpus``):

- ``mcu``: Podium's design — composite once per tick, encode once per quality
  tier, the same packets to every receiver; K+1 Opus encodes per 20 ms.
- ``naive``: the same compositor and mixer, but the raw composite and mix go
  through aiortc's ``MediaRelay`` to every connection and each connection
  encodes its own (one VP8 and one Opus encoder per participant).
- ``mcu_nolevels`` (on request): ``mcu`` with participants whose audio packets
  carry no level (RFC 6464), so the node decodes everyone's audio, silent or not
  (and, as before DTX, sends fifty of them a second).
- ``mcu_nopause`` (on request): ``mcu`` in a room that never tells anyone their
  camera is off the composite, so every camera keeps sending (last-N pausing off).
- ``mcu_nodtx`` (on request): ``mcu`` with participants that ignore the answer's
  Opus ``usedtx=1``: a silent one sends fifty packets a second instead of 2.5.
- ``mcu_aiortcsend`` (on request): ``mcu`` with every receiver's packets sent by aiortc's
  own RTP loop, which packs each frame again per receiver and builds every packet as an
  object (the node's shared packing off: ``podium.media.sender``).
- ``webinar`` (on request): the room is a webinar; the last ``--viewers K`` of the N
  are its audience, off stage and view-only (they offer to receive only, as the web
  client does there), the others moderators on stage who publish. Run beside ``mcu``
  at two or more N with the same stage (``--viewers`` left out: all but 4), the bench
  prints the node's marginal CPU per publishing participant and per view-only attendee.

Participants are ``bench/mcu_load.py`` processes (pinned to ``--load-cpus``):
each sends its own colour (VP8, a timestamp drawn into the picture) and a tone
(Opus, its level on every packet as a browser's); ``--probes`` of them decode the
composite and read the timestamps back for one-way latency, the others count its
frames without decoding it (the node's work is the same either way).
The first participant's tone sounds in the first half of every wall-clock second
only; the probes time when its starts reach them in the mix (audio latency).
The media node's CPU is read from /proc over the window in which everyone is
connected (after a warm-up), its packets from the node's own counters
(``node.stats``), its memory from VmRSS.

    python bench/mcu.py                                  # N = 10, 20, 30
    python bench/mcu.py --participants 10 --duration 20 --server-cpus 0 --load-cpus 1
    python bench/mcu.py --participants 25 50 100 --server-cpus 0,1 --load-cpus 2-15   # bigger machine
    python bench/mcu.py --participants 20 --full-size 2     # 2 take 720p, 18 ask for 360p
    python bench/mcu.py --participants 20 --variants mcu record live --rtmp local
    python bench/mcu.py --participants 20 --variants mcu live --repeat 3   # alternate, ratio of medians
    python bench/mcu.py --rooms 4 --participants 4 --variants mcu record   # 4 rooms of 4, each recorded
    python bench/mcu.py --participants 4 16 --variants mcu webinar --repeat 3   # publisher vs view-only cost

Receivers take the 720p composite unless ``--full-size K`` says only the first K
do: the rest ask for 360p (``max_height``, as a small embedded player does), a
mixed room in which the node encodes both tiers, and the load generator decodes
360p, which is cheaper for it.

Needs the ``test`` extra. The load generator costs about 8 ms of CPU per
participant-second (one core carries 100, 4 of them probes: see
``bench/mcu_load.py``); past its core, read the fps and latency columns with
that in mind (``load cores`` near 1), the CPU-per-participant column stays valid.

    python bench/mcu.py --participants 100 --variants mcu mcu_nodtx mcu_nopause naive \
        --naive-participants 10 --full-size 2 --probes 4 --server-cpus 0 --load-cpus 1
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
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

# bench/ is a folder of scripts run by path, which puts bench/ itself, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.mcu_browser import browser_in_room
from bench.mcu_load import LoadSpec, mint_tokens, plan, run_load
from bench.realtime import free_port, machine, podium_cli, serve_podium, versions
from podium.media import control
from tests.support.rtmp import RtmpServer

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_cpus(text: str | None) -> list[int] | None:
    """``"0"``, ``"0,1"`` or ``"2-15"`` as a list of CPU numbers."""
    if not text:
        return None
    cpus: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        cpus.extend(range(int(low), int(high or low) + 1))
    return cpus


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class NodeControl:
    """The bench's own control connection to the media node (stats, and the naive room)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ids = iter(range(1, 1 << 30))

    async def request(self, build: Any) -> control.Ok:
        async with connect(self.url) as ws:
            await ws.send(control.encode(build(next(self._ids))))
            while True:
                reply = control.decode_from_node(await ws.recv())
                if isinstance(reply, control.Fail):
                    raise RuntimeError(f"{reply.code}: {reply.message}")
                if isinstance(reply, control.Ok):
                    return reply


@dataclass
class Sample:
    at: float
    cpu_s: float
    participants: int
    packets_out: float
    packets_in: float
    #: Encodes so far per composite feed (``high-h264`` …).
    encodes: dict[str, float]
    #: Receivers following each composite feed now.
    receivers: dict[str, float]


@dataclass
class Result:
    variant: str
    #: Participants in all, over ``rooms`` rooms.
    n: int
    rooms: int
    connected: int
    server_cores: float
    cpu_ms_per_participant_s: float
    packets_out_per_s: float
    packets_in_per_s: float
    fps_min: float
    fps_median: float
    latency_p50_ms: float
    latency_p95_ms: float
    audio_received: int
    #: The mix's one-way latency: a gated speaker's tone starts, heard by everyone else.
    audio_latency_p50_ms: float
    audio_latency_p95_ms: float
    rss_mb: float
    load_cores: float
    #: The composite feeds the node encoded during the window (tier-codec), each with the
    #: receivers following it at the window's end.
    feeds: str
    #: Which round of ``--repeat`` (variants alternate within a round).
    round_no: int = 1
    #: Of the N, view-only attendees (the ``webinar`` variant's audience).
    viewers: int = 0
    #: ``--browser``: what the Chromium participant (one more than N) got (``bench/mcu_browser.py``).
    browser: dict[str, Any] | None = None


async def sample_node(node: NodeControl, pid: int, samples: list[Sample], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            stats = (await node.request(lambda i: control.NodeStats(id=i))).stats or {}
            samples.append(
                Sample(
                    time.monotonic(),
                    cpu_seconds(pid),
                    int(stats.get("participants", 0)),
                    stats.get("packets_out", 0.0),
                    stats.get("packets_in", 0.0),
                    {k.removeprefix("encodes_"): v for k, v in stats.items() if k.startswith("encodes_")},
                    {k.removeprefix("receivers_"): v for k, v in stats.items() if k.startswith("receivers_")},
                )
            )
        except (OSError, RuntimeError):
            pass
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


#: Variants that add outputs to the ``mcu`` room: ``record`` (MP4 of the composite's own H.264,
#: muxing only) and ``live`` (the same packets to HLS and an RTMP push to a local nginx, if it has
#: the RTMP module, with one Opus-to-AAC transcode).
OUTPUTS = ("record", "live")


async def start_outputs(node: NodeControl, key: str, variant: str, folder: Path, rtmp: str | None) -> None:
    """Start the outputs a variant measures (the node stops them when the room closes)."""
    tag = uuid.uuid4().hex[:6]
    if variant == "record":
        target = str(folder / f"bench-{tag}.part.mp4")
        await node.request(
            lambda i: control.StartOutput(id=i, room=key, output="rec", kind="recording", target=target)
        )
    elif variant == "live":
        hls = str(folder / f"bench-hls-{tag}")
        await node.request(
            lambda i: control.StartOutput(id=i, room=key, output="hls", kind="hls", target=hls)
        )
        if rtmp:
            await node.request(
                lambda i: control.StartOutput(id=i, room=key, output="rtmp", kind="rtmp", target=rtmp)
            )


def window(samples: list[Sample], n: int, warmup: float) -> tuple[Sample, Sample] | None:
    """The first and last sample of the stretch in which all ``n`` were on the node, minus a warm-up."""
    full = [s for s in samples if s.participants >= n]
    if len(full) < 2:
        return None
    start = next((s for s in full if s.at >= full[0].at + warmup), full[0])
    return (start, full[-1]) if full[-1].at - start.at > 1 else (full[0], full[-1])


async def _open_room(
    args: argparse.Namespace, base: str, secret: str, tenant: str, node: NodeControl, variant: str, n: int
) -> tuple[str, list[LoadSpec]]:
    """One MCU room with its outputs started on the node, and the load specs that fill it."""
    slug = f"bench-{variant.replace('_', '-')}-{n}-{uuid.uuid4().hex[:4]}"
    webinar = variant == "webinar"
    viewers = audience(args, n) if webinar else 0
    async with httpx.AsyncClient(
        base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {secret}"}, timeout=30
    ) as api:
        settings = {
            "slug": slug,
            "name": slug,
            "media_mode": "mcu",
            "max_participants": 100,
            "webinar": webinar,
        }
        room = (await api.post("/rooms", json=settings)).json()
    key = f"podium:{room['id']}"
    await node.request(
        lambda i: control.OpenRoom(
            id=i,
            room=key,
            naive=variant == "naive",
            pause_hidden=variant != "mcu_nopause",
            shared_packing=variant != "mcu_aiortcsend",
        )
    )
    await start_outputs(node, key, variant, Path(args.output_dir), args.rtmp)
    identities = [f"p{k:03d}" for k in range(n)]
    # A webinar's stage: moderators (on stage, publishing); its audience: attendees (off stage).
    roles = ["moderator"] * (n - viewers) if webinar else []
    tokens = await mint_tokens(base, secret, slug, identities, roles)
    spec = LoadSpec(
        ws_url=base.replace("http", "ws", 1),
        tenant=tenant,
        room=slug,
        participants=[],
        duration_s=args.duration,
        warmup_s=args.warmup,
        join_interval_s=0.05,
        connect_timeout_s=max(30.0, n * args.rooms * 0.5),
        # A probe decodes the composite and reads every tile of one a second: a fixed budget of
        # probe participants, not one per head.
        latency_hz=1.0,
        audio_levels=variant != "mcu_nolevels",
        dtx=variant not in ("mcu_nodtx", "mcu_nolevels"),
    )
    processes = max(1, args.load_processes // args.rooms)
    people = list(zip(identities, tokens, strict=True))
    probes = max(1, round(args.probes / args.rooms))
    stage = plan(
        spec,
        people,
        processes,
        loud=min(3, n - viewers),
        full_size=args.full_size,
        probes=probes,
        viewers=viewers,
    )
    return key, stage


def audience(args: argparse.Namespace, n: int) -> int:
    """How many of ``n`` the ``webinar`` variant seats off stage: ``--viewers``, else all but 4."""
    wanted = args.viewers if args.viewers is not None else n - 4
    return max(0, min(n - 1, wanted))


async def run_variant(
    args: argparse.Namespace,
    base: str,
    secret: str,
    tenant: str,
    node: NodeControl,
    node_pid: int,
    variant: str,
    n: int,
) -> Result:
    keys: list[str] = []
    specs: list[LoadSpec] = []
    for _ in range(args.rooms):
        key, room_specs = await _open_room(args, base, secret, tenant, node, variant, n)
        keys.append(key)
        specs.extend(room_specs)
    n *= args.rooms
    load_cpus = parse_cpus(args.load_cpus)
    samples: list[Sample] = []
    stop = asyncio.Event()
    sampler = asyncio.get_running_loop().create_task(sample_node(node, node_pid, samples, stop))
    peak_rss = 0.0
    chromium: asyncio.Task[dict[str, Any]] | None = None
    try:
        load_task = asyncio.get_running_loop().create_task(
            run_load(specs, [load_cpus] * len(specs) if load_cpus else None)
        )
        if args.browser:
            # Once the crowd is in (its joins, connections and warm-up), for a part of its window.
            joined_by = n * args.rooms * 0.05 + 15
            chromium = asyncio.get_running_loop().create_task(
                browser_in_room(base, secret, tenant, specs[0].room, "chromium", joined_by, args.duration / 3)
            )
        while not load_task.done():
            peak_rss = max(peak_rss, rss_mb(node_pid))
            await asyncio.sleep(1)
        report = await load_task
        seen = await chromium if chromium is not None else None
    finally:
        stop.set()
        await sampler
        for key in keys:
            await node.request(lambda i, key=key: control.CloseRoom(id=i, room=key))
    span = window(samples, report.connected or n, args.warmup)
    feeds = ""
    if span is None:
        cores = cpu_ms = out_rate = in_rate = 0.0
    else:
        first, last = span
        elapsed = last.at - first.at
        cores = (last.cpu_s - first.cpu_s) / elapsed
        cpu_ms = cores * 1000 / max(1, report.connected)
        out_rate = (last.packets_out - first.packets_out) / elapsed
        in_rate = (last.packets_in - first.packets_in) / elapsed
        feeds = " ".join(
            f"{f} ({int(last.receivers.get(f, 0))})"
            for f, count in sorted(last.encodes.items())
            if count > first.encodes.get(f, 0)
        )
    summary = report.summary()
    return Result(
        variant=variant,
        n=n,
        rooms=args.rooms,
        connected=report.connected,
        server_cores=round(cores, 3),
        cpu_ms_per_participant_s=round(cpu_ms, 1),
        packets_out_per_s=round(out_rate),
        packets_in_per_s=round(in_rate),
        fps_min=summary["fps_min"],
        fps_median=summary["fps_median"],
        latency_p50_ms=summary["latency_p50_ms"],
        latency_p95_ms=summary["latency_p95_ms"],
        audio_received=int(summary["audio_received"]),
        audio_latency_p50_ms=summary["audio_latency_p50_ms"],
        audio_latency_p95_ms=summary["audio_latency_p95_ms"],
        rss_mb=round(peak_rss),
        load_cores=summary["load_cpu_cores"],
        feeds=feeds,
        viewers=audience(args, n // args.rooms) * args.rooms if variant == "webinar" else 0,
        browser=seen,
    )


def table(results: list[Result]) -> str:
    head = (
        "| N | variant | connected | server cores | CPU ms / participant·s | pkts out/s | pkts in/s "
        "| fps min | fps median | latency p50 | latency p95 | audio ok | audio p50 / p95 | RSS MB "
        "| load cores | feeds |"
    )
    lines = [head, "|" + "---:|" * 16]
    rounds = max((r.round_no for r in results), default=1) > 1
    for r in results:
        size = str(r.n) if r.rooms == 1 else f"{r.rooms}x{r.n // r.rooms}"
        variant = f"{r.variant} #{r.round_no}" if rounds else r.variant
        lines.append(
            f"| {size} | {variant} | {r.connected} | {r.server_cores} | {r.cpu_ms_per_participant_s} "
            f"| {r.packets_out_per_s} | {r.packets_in_per_s} | {r.fps_min} | {r.fps_median} "
            f"| {r.latency_p50_ms:.0f} ms | {r.latency_p95_ms:.0f} ms | {r.audio_received} "
            f"| {r.audio_latency_p50_ms:.0f} / {r.audio_latency_p95_ms:.0f} ms | {r.rss_mb} "
            f"| {r.load_cores} | {r.feeds} |"
        )
    lines.extend(f"N={r.n} {r.variant} #{r.round_no}: Chromium {r.browser}" for r in results if r.browser)
    lines.extend(ratios(results))
    return "\n".join(lines)


def _median(runs: list[Result], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in runs))


def ratios(results: list[Result]) -> list[str]:
    """Per N, the ratios between variants: of medians over rounds, and each round's (its noise)."""
    by_n: dict[int, dict[str, list[Result]]] = {}
    for r in results:
        by_n.setdefault(r.n, {}).setdefault(r.variant, []).append(r)
    lines = []
    # naive measured at an N of its own (``--naive-participants``): its cost per participant-second
    # against mcu's at each N.
    for naive_n, naive_runs in by_n.items():
        if "naive" not in naive_runs or "mcu" in naive_runs:
            continue
        naive_ms = _median(naive_runs["naive"], "cpu_ms_per_participant_s")
        for n, runs in by_n.items():
            if runs.get("mcu") and (mcu_ms := _median(runs["mcu"], "cpu_ms_per_participant_s")):
                lines.append(
                    f"\nnaive at N={naive_n} ({naive_ms:.1f} ms per participant-second) / mcu at N={n} "
                    f"({mcu_ms:.1f}) = {naive_ms / mcu_ms:.1f}x"
                )
    for n, runs in by_n.items():
        mcu = runs.get("mcu")
        if not mcu:
            continue
        naive = runs.get("naive")
        if naive and _median(mcu, "cpu_ms_per_participant_s"):
            ratio = _median(naive, "cpu_ms_per_participant_s") / _median(mcu, "cpu_ms_per_participant_s")
            lines.append(f"\nN={n}: naive / mcu CPU per participant-second = {ratio:.1f}x")
        for extra in [v for v in runs if v not in ("mcu", "naive", "webinar")]:
            if not _median(mcu, "server_cores"):
                continue
            added = _median(runs[extra], "server_cores") / _median(mcu, "server_cores") - 1
            line = f"N={n}: {extra} {added:+.1%} media-node CPU against mcu"
            if len(runs[extra]) > 1:
                each = ", ".join(
                    f"{a.server_cores / b.server_cores - 1:+.1%}"
                    for a, b in zip(runs[extra], mcu, strict=False)
                    if b.server_cores
                )
                line += f" (medians of {len(runs[extra])} rounds; round by round {each})"
            lines.append(line)
    return lines + marginal_costs(results)


def marginal_costs(results: list[Result]) -> list[str]:
    """The node's CPU for one more publishing participant (``mcu`` across N) and for one more
    view-only attendee (``webinar`` across N with the same stage), of medians over rounds."""

    def line(variant: str) -> dict[int, tuple[float, int]]:
        by_n: dict[int, list[Result]] = {}
        for r in results:
            if r.variant == variant:
                by_n.setdefault(r.n, []).append(r)
        return {n: (_median(runs, "server_cores"), runs[0].viewers) for n, runs in sorted(by_n.items())}

    mcu, webinar = line("mcu"), line("webinar")
    lines = []
    publisher = viewer = None
    if len(mcu) >= 2:
        (n0, (c0, _)), *_, (n1, (c1, _)) = mcu.items()
        publisher = (c1 - c0) / (n1 - n0) * 1000
        lines.append(
            f"\nper publishing participant (mcu, N={n0}→{n1}): {publisher:.1f} ms of node CPU per second"
        )
    if len(webinar) >= 2:
        (n0, (c0, v0)), *_, (n1, (c1, v1)) = webinar.items()
        if n1 - v1 == n0 - v0 and v1 > v0:  # the same stage: only the audience grew
            viewer = (c1 - c0) / (v1 - v0) * 1000
            lines.append(
                f"per view-only attendee (webinar, {v0}→{v1} viewers): {viewer:.1f} ms of node CPU per second"
            )
    if publisher and viewer:
        lines.append(
            f"a view-only attendee costs the node {viewer / publisher:.0%} of a publishing participant"
        )
    for n, (cores, viewers) in webinar.items():
        if viewers and n in mcu:
            saved = (mcu[n][0] - cores) / viewers * 1000
            lines.append(
                f"N={n}: each of {viewers} view-only attendees saves {saved:.1f} ms/s against publishing"
            )
    return lines


@contextlib.asynccontextmanager
async def media_node(argv: list[str], env: dict[str, str], log: Path, url: str) -> AsyncIterator[int]:
    """A fresh media node for one run (clean CPU and memory figures); yields its pid."""
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(*argv, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                async with connect(url, open_timeout=1):
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"media node did not start; see {log}")
            await asyncio.sleep(0.2)
        # The web node's control connection retries with back-off (at most 5 s): let it reconnect.
        await asyncio.sleep(6)
        yield process.pid  # taskset execs the node, so this is the node's own pid
    finally:
        process.terminate()
        await process.wait()


@dataclass
class Stack:
    """``podium serve`` running (SQLite, in-memory channels) and how to start media nodes for it."""

    base: str
    tenant: dict[str, Any]
    env: dict[str, str]
    media_argv: list[str]
    media_url: str
    workdir: Path


def start_podium(workdir: Path, stack: contextlib.ExitStack, server_cpus: list[int] | None) -> Stack:
    """Migrate, create a tenant and serve from ``workdir`` (stopped with ``stack``); the media
    node's command line, pinned to ``server_cpus``, for ``media_node`` to run."""
    media_port = free_port()
    media_url = f"ws://127.0.0.1:{media_port}"
    media_argv = [sys.executable, "-m", "podium.core.cli", "media", "--port", str(media_port)]
    if server_cpus:
        media_argv = ["taskset", "-c", ",".join(map(str, server_cpus)), *media_argv]
    env = dict(
        os.environ,
        PODIUM_DATA_DIR=str(workdir / "var"),
        PODIUM_LOG_LEVEL="warning",
        PODIUM_MEDIA_URL=media_url,
    )
    podium_cli(env, "migrate", as_json=False)
    tenant = podium_cli(env, "tenant", "create", f"bench-{uuid.uuid4().hex[:6]}")
    base, _ = serve_podium(stack, env, workdir)
    return Stack(base, tenant, env, media_argv, media_url, workdir)


async def bench(args: argparse.Namespace) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="podium-mcu-bench-") as tmp, contextlib.ExitStack() as stack:
        podium = start_podium(Path(tmp), stack, parse_cpus(args.server_cpus))
        base, tenant, env, media_url = podium.base, podium.tenant, podium.env, podium.media_url
        media_argv, workdir = podium.media_argv, podium.workdir
        node = NodeControl(media_url)
        results = []
        # ``--naive-participants``: naive at that N only (at 100 it would only show saturation).
        everywhere = [v for v in args.variants if v != "naive" or not args.naive_participants]
        plan_n = [(n, everywhere) for n in args.participants]
        if args.naive_participants and "naive" in args.variants:
            plan_n.insert(0, (args.naive_participants, ["naive"]))
        for n, variants in plan_n:
            # Variants alternate within each round, so a noisy neighbour hits them alike.
            for round_ in range(1, args.repeat + 1):
                for variant in variants:
                    print(f"N={n} {variant} round {round_}: running…", file=sys.stderr, flush=True)
                    async with media_node(media_argv, env, workdir / "media.log", media_url) as node_pid:
                        result = await run_variant(
                            args, base, tenant["secret"], tenant["tenant"], node, node_pid, variant, n
                        )
                    result.round_no = round_
                    print(json.dumps(asdict(result)), file=sys.stderr, flush=True)
                    results.append(result)
        return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--participants", type=int, nargs="+", default=[10, 20, 30], help="per room")
    parser.add_argument(
        "--rooms", type=int, default=1, help="rooms at once, each with N participants (and its outputs)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["mcu", "naive"],
        choices=[
            "mcu",
            "naive",
            "mcu_nolevels",
            "mcu_nopause",
            "mcu_nodtx",
            "mcu_aiortcsend",
            "webinar",
            *OUTPUTS,
        ],
    )
    parser.add_argument(
        "--viewers",
        type=int,
        help="webinar: view-only attendees of each room's N (default: all but a stage of 4)",
    )
    parser.add_argument(
        "--output-dir", default=tempfile.gettempdir(), help="recordings and HLS of record/live"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of all variants; ratios are of medians over rounds"
    )
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument(
        "--browser",
        action="store_true",
        help="one more participant in real Chromium (bench/mcu_browser.py): what it sees, hears, sends",
    )
    parser.add_argument(
        "--naive-participants",
        type=int,
        help="run naive at this N only (below its saturation), compared with mcu at every N",
    )
    parser.add_argument(
        "--probes",
        type=float,
        default=8.0,
        help="participants (over all rooms) that decode the composite and time it once a second; "
        "the others count its frames",
    )
    parser.add_argument(
        "--full-size",
        type=int,
        help="participants that take the 720p composite; the rest ask for 360p (default: everyone 720p)",
    )
    parser.add_argument("--server-cpus", help="pin the media node, e.g. 0 or 0,1")
    parser.add_argument("--load-cpus", help="pin the load generator, e.g. 1 or 2-15")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument(
        "--rtmp",
        default=os.environ.get("BENCH_RTMP_URL"),
        help="live also pushes RTMP here; 'local': to an nginx-rtmp this run starts (tests/support/rtmp.py)",
    )
    args = parser.parse_args(argv)
    if args.server_cpus is None and args.load_cpus is None and (os.cpu_count() or 1) >= 2:
        args.server_cpus, args.load_cpus = "0", ",".join(map(str, range(1, os.cpu_count() or 2)))
    started = dt.datetime.now(dt.UTC)
    with contextlib.ExitStack() as stack:
        if args.rtmp == "local":
            server = RtmpServer()
            stack.callback(server.stop)
            args.rtmp = server.url("bench")
        results = asyncio.run(bench(args))
    print(f"date: {started:%Y-%m-%d %H:%M} UTC\nmachine: {machine()}\nsoftware: {versions()}")
    print(f"media node pinned to CPUs {args.server_cpus}, load generator to {args.load_cpus}")
    print(f"window: {args.duration:.0f} s after a {args.warmup:.0f} s warm-up\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    medians = [r.cpu_ms_per_participant_s for r in results if r.variant == "mcu"]
    if medians:
        print(f"\nmcu CPU ms per participant-second, median over N: {statistics.median(medians):.1f}")


if __name__ == "__main__":
    main()
