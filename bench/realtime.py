"""Realtime benchmark: join latency and chat fan-out over real WebSockets, against a raw ceiling.

N participants (default 100) join one Podium room over WebSockets; the bench
reports join latency (join token in hand → ``welcome`` received), then raises
the room-wide chat rate step by step and reports, per step, deliveries per
second and delivery latency (sender's send → receiver's receipt). The same
clients, rates and frame sizes run against a bare Litestar broadcast endpoint
(``bench/raw_broadcast.py``) in the same run, interleaved step by step, as the
ceiling of the stack Podium is built on (uvicorn, its WebSocket protocol,
uvloop, Litestar).

By default the bench starts both servers itself: ``podium serve`` on a free
port with a temporary SQLite data directory (chat rate limit raised, so the
bench is never throttled) and the raw server. On a machine with two or more
CPUs the servers are pinned to CPU 0 and the load generator (this process) to
CPU 1, so clients and server do not take each other's core. ``--url`` and
``--secret`` measure a Podium server that is already running instead.

    python bench/realtime.py                        # 100 participants at 25, 50, 100, 200, 400 msg/s
    python bench/realtime.py --rates 100 --seconds 10 --repeat 3
    python bench/realtime.py --url http://127.0.0.1:8080 --secret sk_... --room bench

bench/ is a folder of scripts: run them by path. Needs the ``test`` extra
(``websockets``, ``httpx``); uses uvloop when installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import httpx

# bench/ is a folder of scripts run by path, which puts bench/ itself, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.realtime_load import (
    JoinResult,
    Server,
    StepResult,
    join_all,
    leave_all,
    podium_frame,
    raw_frame,
    run_step,
    settle,
)

HERE = Path(__file__).resolve().parent
#: A Podium room holds at most 100 participants.
MAX_PARTICIPANTS = 100
T = TypeVar("T")


# ---- servers under test ----------------------------------------------------------------------------------


def podium_server(base: str, secret: str, room: str) -> Server:
    """Podium reached over its REST API (room, join tokens) and its WebSocket endpoint."""
    ws_base = base.replace("http", "ws", 1)
    run = uuid.uuid4().hex[:6]

    async def mint(count: int) -> list[str]:
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            found = await client.get(f"/api/v1/rooms/{room}")
            if found.status_code == 404:
                body = {"slug": room, "name": "Benchmark", "max_participants": MAX_PARTICIPANTS}
                (await client.post("/api/v1/rooms", json=body)).raise_for_status()
            else:
                found.raise_for_status()
            gate = asyncio.Semaphore(8)

            async def one(i: int) -> str:
                body = {"identity": f"bench-{run}-{i}", "name": f"Bench {i:03d}", "ttl": 3600}
                async with gate:
                    reply = await client.post(f"/api/v1/rooms/{room}/tokens", json=body)
                reply.raise_for_status()
                issued = reply.json()
                # Connect where --url points, whatever public URL the server prints.
                tenant_and_room = issued["websocket_url"].split("/ws/", 1)[1]
                return f"{ws_base}/ws/{tenant_and_room}?token={issued['token']}"

            return list(await asyncio.gather(*(one(i) for i in range(count))))

    return Server("podium", mint, podium_frame)


def raw_server(base: str) -> Server:
    """``bench/raw_broadcast.py``: no tokens, one shared endpoint."""

    async def mint(count: int) -> list[str]:
        return [base.replace("http", "ws", 1) + "/ws"] * count

    return Server("raw", mint, raw_frame)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); its log:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"server at {base} did not become healthy; its log:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def spawned(
    argv: list[str], env: dict[str, str], log: Path, cpu: int | None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server subprocess (pinned to ``cpu`` with taskset), terminated on exit."""
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def podium_cli(env: dict[str, str], *args: str, as_json: bool = True) -> Any:
    """Run a ``podium`` command (with ``--json`` when ``as_json``) and return its parsed output."""
    argv = [sys.executable, "-m", "podium.core.cli", *args, *(["--json"] if as_json else [])]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"podium {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]) if as_json else None


def serve_podium(
    stack: contextlib.ExitStack, env: dict[str, str], workdir: Path, cpu: int | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """``podium serve`` on a free port (log in ``workdir``, stopped with ``stack``), once healthy:
    its base URL and process."""
    port = free_port()
    log = workdir / "podium.log"
    argv = [sys.executable, "-m", "podium.core.cli", "serve", "--port", str(port)]
    proc = stack.enter_context(spawned(argv, env, log, cpu))
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, proc, log)
    return base, proc


def start_podium(stack: contextlib.ExitStack, workdir: Path, room: str, cpu: int | None) -> Server:
    """A fresh ``podium serve``: SQLite under ``workdir`` unless PODIUM_DATABASE_URL is set."""
    env = dict(
        os.environ,
        PODIUM_DATA_DIR=str(workdir / "var"),
        # Senders take turns, so 200 msg/s over 100 participants is 2/s each; raised anyway
        # so that only the server's speed shows, never the limiter.
        PODIUM_CHAT_RATE_PER_SECOND="1000",
        PODIUM_CHAT_RATE_BURST="1000",
        PODIUM_LOG_LEVEL="warning",
    )
    podium_cli(env, "migrate", as_json=False)
    tenant = podium_cli(env, "tenant", "create", f"bench-{uuid.uuid4().hex[:6]}")
    podium_cli(env, "room", "create", tenant["tenant"], room, "--name", "Benchmark")
    base, proc = serve_podium(stack, env, workdir, cpu)
    server = podium_server(base, tenant["secret"], room)
    server.pid = proc.pid
    return server


def start_raw(stack: contextlib.ExitStack, workdir: Path, cpu: int | None) -> Server:
    port = free_port()
    log = workdir / "raw.log"
    argv = [sys.executable, str(HERE / "raw_broadcast.py"), "--port", str(port)]
    proc = stack.enter_context(spawned(argv, dict(os.environ), log, cpu))
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, proc, log)
    server = raw_server(base)
    server.pid = proc.pid
    return server


# ---- measuring -------------------------------------------------------------------------------------------


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def measure(
    servers: list[Server], args: argparse.Namespace
) -> tuple[list[list[JoinResult]], list[list[StepResult]]]:
    """Per repeat: join everyone, warm up, then every rate on every server (interleaved)."""
    compression = args.compression == "deflate"
    joins: list[list[JoinResult]] = []
    sweeps: list[list[StepResult]] = []
    for repeat in range(args.repeat):
        joins.append([await join_all(s, args.participants, args.join_batch, compression) for s in servers])
        for s in servers:  # warm-up, not reported
            await run_step(s, f"warm{repeat}", min(args.rates), 1.0, args.drain)
        await settle(servers)
        order = servers if repeat % 2 == 0 else servers[::-1]  # alternate who goes first
        sweep: list[StepResult] = []
        for i, rate in enumerate(args.rates):
            for s in order:
                result = await run_step(s, f"r{repeat}s{i}", rate, args.seconds, args.drain)
                progress(
                    f"  run {repeat + 1}/{args.repeat} {rate:>5g} msg/s {s.name:<6}: "
                    f"{result.deliveries_per_s:8.0f} deliveries/s, "
                    f"p99 {result.p99_ms:7.1f} ms, lost {result.lost}"
                )
                sweep.append(result)
                await settle(servers)
        sweep.sort(key=lambda r: (r.rate, r.server != "podium"))
        sweeps.append(sweep)
        for s in servers:
            dropped = await leave_all(s)
            if dropped:
                progress(f"  {s.name}: the server closed {len(dropped)} connections, e.g. {dropped[0]!r}")
    return joins, sweeps


def median_results(runs: list[list[StepResult]]) -> list[StepResult]:
    """Per (server, rate): the median of each figure across repeats."""
    out = []
    for cells in zip(*runs, strict=True):

        def med(get: Callable[[StepResult], float], cells: tuple[StepResult, ...] = cells) -> float:
            return float(statistics.median(get(c) for c in cells))

        cpus = [c.server_cpu for c in cells if c.server_cpu is not None]
        out.append(
            StepResult(
                server=cells[0].server,
                rate=cells[0].rate,
                sent=round(med(lambda c: c.sent)),
                send_rate=med(lambda c: c.send_rate),
                expected=round(med(lambda c: c.expected)),
                delivered=round(med(lambda c: c.delivered)),
                deliveries_per_s=med(lambda c: c.deliveries_per_s),
                p50_ms=med(lambda c: c.p50_ms),
                p99_ms=med(lambda c: c.p99_ms),
                max_ms=med(lambda c: c.max_ms),
                errors=round(med(lambda c: c.errors)),
                server_cpu=statistics.median(cpus) if cpus else None,
                client_cpu=med(lambda c: c.client_cpu),
            )
        )
    return out


# ---- reporting -------------------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or "unknown model"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}"


def versions() -> str:
    found = [f"Python {platform.python_version()}"]
    for name in ("podium", "litestar", "uvicorn", "websockets", "uvloop"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


def join_table(joins: list[list[JoinResult]]) -> str:
    rows = [f"{'server':<7} {'joins':>5} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"]
    for per_run in zip(*joins, strict=True):
        every = [v * 1000 for j in per_run for v in j.latencies_s]
        p50 = statistics.median(j.ms(50) for j in per_run)
        p99 = statistics.median(j.ms(99) for j in per_run)
        rows.append(f"{per_run[0].server:<7} {len(every):>5} {p50:>7.1f} {p99:>7.1f} {max(every):>7.1f}")
    return "\n".join(rows)


def chat_table(results: list[StepResult]) -> str:
    head = (
        f"{'msg/s':>6} {'server':<7} {'sent/s':>7} {'deliv/s':>8} {'expected':>9} {'lost':>6} "
        f"{'p50 ms':>7} {'p99 ms':>8} {'max ms':>8} {'err':>4} {'srv cpu':>7} {'gen cpu':>7} {'pod/raw':>7}"
    )
    raw = {r.rate: r.deliveries_per_s for r in results if r.server == "raw"}
    rows = [head, "-" * len(head)]
    for r in results:
        ratio = f"{r.deliveries_per_s / raw[r.rate]:.2f}" if r.server == "podium" and raw.get(r.rate) else ""
        cpu = "-" if r.server_cpu is None else f"{r.server_cpu:.0%}"
        rows.append(
            f"{r.rate:>6g} {r.server:<7} {r.send_rate:>7.1f} {r.deliveries_per_s:>8.0f} {r.expected:>9} "
            f"{r.lost:>6} {r.p50_ms:>7.1f} {r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.errors:>4} {cpu:>7} "
            f"{r.client_cpu:>7.0%} {ratio:>7}"
        )
    return "\n".join(rows)


def verdict(results: list[StepResult], participants: int) -> str:
    podium = {r.rate: r for r in results if r.server == "podium"}
    raw = {r.rate: r for r in results if r.server == "raw"}
    lines = []
    if podium and raw:
        best_podium = max(r.deliveries_per_s for r in podium.values())
        best_raw = max(r.deliveries_per_s for r in raw.values())
        lines.append(
            f"best deliveries/s: podium {best_podium:.0f}, raw {best_raw:.0f}, "
            f"ratio {best_podium / best_raw:.2f} (target >= 0.5)"
        )
    at = podium.get(100.0)
    if at is not None and participants == MAX_PARTICIPANTS:
        met = at.p99_ms < 50 and at.lost == 0
        lines.append(
            f"target at 100 participants, 100 msg/s (p99 < 50 ms, nothing lost): "
            f"{'met' if met else 'missed'} (p99 {at.p99_ms:.1f} ms, lost {at.lost})"
        )
    return "\n".join(lines)


# ---- command line ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an already running Podium server (http://host:port); needs --secret")
    parser.add_argument("--secret", help="a tenant API secret for --url")
    parser.add_argument("--room", default="bench", help="room slug (created over the API when missing)")
    parser.add_argument("--raw-url", help="an already running bench/raw_broadcast.py (http://host:port)")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw ceiling")
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--rates", default="25,50,100,200,400", help="room-wide messages/s, comma separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="sending time per step")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds to wait for late deliveries")
    parser.add_argument("--repeat", type=int, default=1, help="repeat joins and sweep; tables show medians")
    parser.add_argument("--join-batch", type=int, default=10, help="participants joining at once")
    parser.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="offer permessage-deflate as browsers do (default), or not",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers to CPU 0, clients to CPU 1")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if args.url and not args.secret:
        parser.error("--url needs --secret")
    if not 1 <= args.participants <= MAX_PARTICIPANTS:
        parser.error(f"--participants must be 1..{MAX_PARTICIPANTS} (a room's largest size)")
    try:
        args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        parser.error("--rates must be numbers separated by commas")
    if not args.rates or min(args.rates) <= 0 or args.seconds <= 0 or args.repeat < 1 or args.join_batch < 1:
        parser.error("--rates, --seconds, --repeat and --join-batch must be positive")
    return args


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when installed (a cheaper client), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    server_cpu = 0 if pin else None
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="podium-bench-")))
        if args.url:
            servers = [podium_server(args.url.rstrip("/"), args.secret, args.room)]
            where = f"podium at {args.url} (started elsewhere, not pinned)"
        else:
            servers = [start_podium(stack, workdir, args.room, server_cpu)]
            database = "PostgreSQL" if os.environ.get("PODIUM_DATABASE_URL") else "SQLite in a temp dir"
            fanout = "Redis" if os.environ.get("PODIUM_REDIS_URL") else "in-memory"
            where = f"podium serve ({database}, {fanout} fan-out)"
        if args.raw_url:
            servers.append(raw_server(args.raw_url.rstrip("/")))
        elif not args.no_raw:
            servers.append(start_raw(stack, workdir, server_cpu))
        if pin:
            os.sched_setaffinity(0, {1})
        print(f"# Podium realtime benchmark, {dt.date.today().isoformat()}")
        print(f"machine: {machine()}")
        print(f"software: {versions()}")
        print(f"servers: {where}; raw ceiling: {'off' if args.no_raw else 'bench/raw_broadcast.py'}")
        print(
            f"pinning: {'servers on CPU 0, load generator on CPU 1' if pin else 'none'}; "
            f"compression: {args.compression}; {args.participants} participants; "
            f"{args.seconds:g} s per step; {args.repeat} run(s)",
            flush=True,
        )
        joins, sweeps = run_async(measure(servers, args))
        results = median_results(sweeps)
        runs = f"median of {args.repeat} runs" if args.repeat > 1 else "one run"
        print(f"\njoin latency: join token in hand -> welcome received, {args.join_batch} at a time ({runs})")
        print(join_table(joins))
        print(f"\nchat fan-out: latency from the sender's send to each receipt ({runs})")
        print(chat_table(results))
        print()
        print(verdict(results, args.participants))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            payload = {
                "date": dt.date.today().isoformat(),
                "machine": machine(),
                "software": versions(),
                "args": {
                    k: v if isinstance(v, int | float | list) else str(v) for k, v in vars(args).items()
                },
                "joins": [[asdict(j) for j in run] for run in joins],
                "runs": [[asdict(r) for r in run] for run in sweeps],
                "median": [asdict(r) for r in results],
            }
            args.json.write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
