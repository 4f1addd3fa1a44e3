"""The load generator of ``bench/mcu.py``: synthetic MCU participants, K per process, and what they saw.

One process runs K ``SyntheticParticipant``s (``tests/support/synthetic.py``) on
one event loop: each joins with a token it was given, connects to the MCU, sends
its colour and tone, and records the composite and the mix it gets back. After a
warm-up it measures for ``duration_s`` and prints one JSON ``LoadReport``: per
participant the composite frames per second received, one-way video latencies
read from the timestamps drawn on the composite's tiles, and the audio received
(seconds, and whose tones are audible in it). ``LoadProcess`` starts such a
process (pinned with ``taskset`` when given CPUs), so a bench spreads N
participants over several processes and cores and merges the reports.

    python bench/mcu_load.py < spec.json > report.json     # one process, spec as JSON

**Decoding.** Only a few ``probe`` participants per room decode the composite
and the mix (15 + 50 frames a second), read the composite's timestamps and time
the mix; the rest count both as their RTP packets arrive, without decoding
(``decode=False, rtp_counting=True``: a video frame at its marked packet, no
depayloading, jitter buffer or bandwidth estimate, their RTCP receiver reports
kept): their frame rate and audio are still measured (whose tones they hear is
not), and the node does the same work for them. Each participant still has its
own ICE, DTLS and SRTP.

**No threads.** aiortc decodes in a thread per receiver and encodes video in a
thread pool. In a process pinned to one core, every frame handed to a thread
wakes it, it preempts the event loop while the loop holds the GIL, and the two
take turns through the interpreter's switch interval: ``Queue.put`` and
``ThreadPoolExecutor.submit`` were a third of a load process's time. Probes
decode and cameras encode on the event loop instead (``inline_codecs``; the same
aiortc codecs, bitrate control and keyframes on PLI).

**DTX.** Silent participants honour the answer's Opus ``usedtx=1`` as browsers
do: one packet per 400 ms instead of fifty a second (``LoadSpec.dtx``; the
``mcu_nodtx`` variant of ``bench/mcu.py`` turns it off).

**Encoding.** Audio goes out pre-encoded: each participant's tone is one second
of Opus packets, encoded once and looped (``ToneAudioTrack(encoded=True)``),
which saves aiortc's Opus encode and level metering, ~0.2 ms a packet, 10 ms per
participant-second. Every participant encodes its own camera. One pre-encoded stream
per process, sent by all its participants, would make them all one colour, so
the composite could no longer tell them apart; and it would save little. Measured
on this machine (aiortc's VP8 encoder, the synthetic picture: flat colour plus the
timestamp block), per frame: 0.15 ms to encode and 0.06 ms to draw at 320x180,
0.45 + 0.12 ms at 640x360. A whole participant (both media ways: aiortc's
transport per packet, Opus both ways, decoding the composite) measured 0.063 CPU
cores at 320x180 and 0.077 at 640x360 (6 participants in 2 processes, 10 s).

320x180 is the default because the load generator shares the machine with the
MCU under test. Its price: aiortc's encoder runs libvpx's temporal denoiser
(noise-sensitivity 4), which smears some of the 8 px timestamp cells when only
part of a 16x16 macroblock changes, so 75-85 % of the composite's tiles are read
per probe (640x360, with 16 px cells, one per macroblock: all of them). The CRC
rejects a smeared block, so latency samples stay unbiased (no wrong value in
1,200 frames read offline); set ``width=640, height=360`` to read every tile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import msgspec

# bench/ is a folder of scripts run by path, which puts bench/ itself, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.analysis import PALETTE, TONES_HZ, tones_present
from tests.support.synthetic import AUDIO_RATE, SyntheticParticipant

__all__ = [
    "LoadProcess",
    "LoadReport",
    "LoadSpec",
    "ParticipantResult",
    "ParticipantSpec",
    "merge",
    "mint_tokens",
    "percentile",
    "plan",
    "run_load",
    "run_participants",
]

SCRIPT = Path(__file__).resolve()
#: The ``max_height`` of a small player: the composite's 360p tier.
SMALL_PLAYER = 360


class ParticipantSpec(msgspec.Struct, frozen=True):
    """One synthetic participant: who it is, its join token, what it sends."""

    identity: str
    token: str
    colour: tuple[int, int, int]
    tone_hz: float
    loud: bool = False
    #: The tallest composite it asks for (``media.offer``'s ``max_height``); None: its link decides.
    max_height: int | None = None
    #: Sounds its tone in the first half of every second only, so the others time the mix.
    gated: bool = False
    #: Decodes the composite and the mix, reads the composite's timestamps (``latency_hz``) and
    #: times the mix; the others count both without decoding, so one load core carries more.
    probe: bool = True
    #: A webinar's off-stage attendee: offers to receive only, sends nothing (``view_only``).
    view_only: bool = False


class LoadSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What one load process does: join these participants to one room, measure, leave."""

    ws_url: str
    tenant: str
    room: str
    participants: list[ParticipantSpec]
    #: Measured seconds, after the warm-up.
    duration_s: float = 30.0
    #: Seconds after everyone is connected (or gave up) before measuring: first keyframes, ramp-up.
    warmup_s: float = 3.0
    #: Wall-clock ms at which the measured window starts (at the earliest: after joins and warm-up).
    #: Processes given the same value measure the same seconds; None: right after the warm-up.
    start_at_ms: int | None = None
    #: Seconds to stay after the window before leaving, so that processes whose windows end a
    #: little later still measure a full room (a leave reshuffles everyone's composite).
    linger_s: float = 2.0
    #: How long a participant may take to join and connect to the MCU before it counts as failed.
    connect_timeout_s: float = 30.0
    #: Seconds between two joins of this process (a crowd arriving at once is another benchmark).
    join_interval_s: float = 0.1
    width: int = 320
    height: int = 180
    fps: float = 15.0
    #: Composite frames probed for timestamps per second and probe participant (5 to 10 ms each).
    latency_hz: float = 1.0
    #: Everyone's tone in the room (identity -> Hz), to report whose tones each participant hears.
    room_tones: dict[str, float] = {}
    #: The gated participant's tone: the others time its starts in their mix (audio latency).
    gated_hz: float | None = None
    #: Audio packets carry the sender's level (RFC 6464), as browsers' do; False: a client that
    #: sends none, whose every packet the node must decode.
    audio_levels: bool = True
    #: Silent participants honour the node's Opus DTX (one packet per 400 ms), as browsers do.
    dtx: bool = True


class ParticipantResult(msgspec.Struct, kw_only=True):
    """What one participant saw during the measured window."""

    identity: str
    connected: bool
    #: Seconds from starting to join to the MCU connection being up.
    connect_s: float | None
    #: Composite frames per second received over the window.
    fps: float
    latencies_ms: list[int]
    #: Frames probed for timestamps in the window (``len(latencies_ms) / probes``: tiles read per frame).
    probes: int
    #: Audio received per second of the window (1.0: all of it).
    audio_ratio: float
    #: Identities whose tones are audible in the last second of the mix.
    heard: list[str]
    #: Sender-to-receiver ms of the gated tone's starts heard in the mix during the window.
    audio_latencies_ms: list[int] = []
    visible: bool | None
    errors: list[str]


class LoadReport(msgspec.Struct, kw_only=True):
    """One load process's participants, and the CPU the process used."""

    participants: list[ParticipantResult]
    #: When the measured window started (wall-clock ms) and how long it was (seconds).
    window_start_ms: int
    window_s: float
    #: CPU seconds (all threads) the load process spent over its whole run, and that run's wall time.
    cpu_s: float
    wall_s: float

    @property
    def connected(self) -> int:
        """Participants whose MCU connection came up."""
        return sum(p.connected for p in self.participants)

    @property
    def fps_min(self) -> float:
        """The lowest composite fps of any participant (0 for one that never connected)."""
        return min((p.fps for p in self.participants), default=0.0)

    @property
    def fps_median(self) -> float:
        """The median composite fps over participants."""
        return statistics.median(p.fps for p in self.participants) if self.participants else 0.0

    def latency_ms(self, q: float) -> float:
        """Nearest-rank percentile ``q`` of every latency sample of every participant."""
        return percentile(sorted(ms for p in self.participants for ms in p.latencies_ms), q)

    def audio_latency_ms(self, q: float) -> float:
        """Nearest-rank percentile ``q`` of the mix's latency (the gated tone's starts)."""
        return percentile(sorted(ms for p in self.participants for ms in p.audio_latencies_ms), q)

    @property
    def audio_received(self) -> int:
        """Participants that received at least 90% of the window's audio."""
        return sum(p.audio_ratio >= 0.9 for p in self.participants)

    def summary(self) -> dict[str, float]:
        """The figures a bench prints: fps min/median, latency p50/p95, counts."""
        return {
            "participants": len(self.participants),
            "connected": self.connected,
            "fps_min": round(self.fps_min, 2),
            "fps_median": round(self.fps_median, 2),
            "latency_p50_ms": self.latency_ms(50),
            "latency_p95_ms": self.latency_ms(95),
            "audio_latency_p50_ms": self.audio_latency_ms(50),
            "audio_latency_p95_ms": self.audio_latency_ms(95),
            "audio_received": self.audio_received,
            "load_cpu_cores": round(self.cpu_s / self.wall_s, 2) if self.wall_s else 0.0,
        }


def percentile(ascending: Sequence[int], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0 when empty)."""
    if not ascending:
        return 0.0
    rank = min(len(ascending), max(1, -(-len(ascending) * q // 100)))  # ceil(n * q / 100)
    return float(ascending[int(rank) - 1])


def merge(reports: Sequence[LoadReport]) -> LoadReport:
    """Several processes' reports as one (CPU added up; latest window start, shortest window, longest run)."""
    return LoadReport(
        participants=[p for r in reports for p in r.participants],
        window_start_ms=max((r.window_start_ms for r in reports), default=0),
        window_s=min((r.window_s for r in reports), default=0.0),
        cpu_s=sum(r.cpu_s for r in reports),
        wall_s=max((r.wall_s for r in reports), default=0.0),
    )


# ---- planning --------------------------------------------------------------------------------------------


async def mint_tokens(
    base_url: str, api_secret: str, room: str, identities: Sequence[str], roles: Sequence[str] = ()
) -> list[str]:
    """Join tokens for ``identities`` (``roles[i]``, attendee where none is given), minted through the
    REST API with the tenant's secret."""
    async with httpx.AsyncClient(
        base_url=f"{base_url}/api/v1", headers={"Authorization": f"Bearer {api_secret}"}, timeout=30
    ) as api:
        tokens = []
        for i, identity in enumerate(identities):
            role = roles[i] if i < len(roles) else "attendee"
            response = await api.post(
                f"/rooms/{room}/tokens", json={"identity": identity, "name": identity.title(), "role": role}
            )
            response.raise_for_status()
            tokens.append(str(response.json()["token"]))
        return tokens


def plan(
    base: LoadSpec,
    tokens: Sequence[tuple[str, str]],
    processes: int,
    loud: int = 3,
    full_size: int | None = None,
    probes: int | None = None,
    viewers: int = 0,
) -> list[LoadSpec]:
    """Spread (identity, token) pairs over ``processes`` copies of ``base``; the first ``loud`` speak.

    The first ``full_size`` take the composite at whatever size their link allows (720p on
    loopback), the others ask for 360p (small players); None: everyone full size. The
    ``probes`` after the first (whose tone is gated) decode the composite and the mix and time
    them; the rest only count their frames (None: everyone decodes). The last ``viewers`` are
    view-only (a webinar's audience: they send nothing). Colours and tones go round the palette
    (ten of each), so with more than ten participants some share a colour."""
    people = [
        ParticipantSpec(
            identity=identity,
            token=token,
            colour=list(PALETTE.values())[i % len(PALETTE)],
            tone_hz=TONES_HZ[i % len(TONES_HZ)],
            loud=i < loud,
            max_height=None if full_size is None or i < full_size else SMALL_PLAYER,
            gated=i == 0 and loud > 0,
            # The gated speaker cannot time its own tone: the probes are the ones after it.
            probe=probes is None or 1 <= i <= probes or len(tokens) == 1,
            view_only=i >= len(tokens) - viewers,
        )
        for i, (identity, token) in enumerate(tokens)
    ]
    room_tones = {p.identity: p.tone_hz for p in people if p.loud}
    gated = next((p.tone_hz for p in people if p.gated), None)
    shares = [people[i::processes] for i in range(processes)]
    return [
        msgspec.structs.replace(base, participants=s, room_tones=room_tones, gated_hz=gated)
        for s in shares
        if s
    ]


# ---- inside a load process -------------------------------------------------------------------------------


async def _join(
    spec: LoadSpec, who: ParticipantSpec
) -> tuple[SyntheticParticipant | None, float | None, str]:
    started = time.monotonic()
    participant = None
    try:
        participant = await SyntheticParticipant.connect(
            spec.ws_url,
            spec.tenant,
            spec.room,
            who.token,
            who.identity,
            who.colour,
            who.tone_hz,
            who.loud,
            timeout=spec.connect_timeout_s,
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            latency_hz=spec.latency_hz if who.probe else 0.0,
            decode=who.probe,
            rtp_counting=not who.probe,
            inline_codecs=True,
            max_height=who.max_height,
            encoded_audio=True,
            audio_levels=spec.audio_levels,
            dtx=spec.dtx,
            gated_audio=who.gated,
            onset_hz=None if who.gated or not who.probe else spec.gated_hz,
            view_only=who.view_only,
        )
        await participant.wait_mcu_connected(spec.connect_timeout_s - (time.monotonic() - started))
        return participant, time.monotonic() - started, ""
    except Exception as exc:  # one participant failing to join is a result, not the end of the run
        return participant, None, f"{type(exc).__name__}: {exc}"[:500]


async def run_participants(spec: LoadSpec) -> LoadReport:
    """Join, warm up, measure for ``duration_s``, leave: this process's part of the load."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    joins = []
    for index, who in enumerate(spec.participants):
        if index:
            await asyncio.sleep(spec.join_interval_s)
        joins.append(asyncio.create_task(_join(spec, who)))
    joined = await asyncio.gather(*joins)
    await asyncio.sleep(spec.warmup_s)
    if spec.start_at_ms is not None:
        await asyncio.sleep(max(0.0, (spec.start_at_ms - time.time_ns() // 1_000_000) / 1000))

    present = [p for p, _, _ in joined if p is not None]
    frames0 = {id(p): p.frames_received for p in present}
    samples0 = {id(p): len(p.latencies_ms) for p in present}
    probes0 = {id(p): p.video_in.probes for p in present}
    audio0 = {id(p): p.audio_in.seconds_received for p in present}
    onsets0 = {id(p): len(p.audio_in.onset_latencies_ms) for p in present}
    window0, window_start_ms = time.monotonic(), time.time_ns() // 1_000_000
    await asyncio.sleep(spec.duration_s)
    window = time.monotonic() - window0

    results = []
    for who, (p, connect_s, error) in zip(spec.participants, joined, strict=True):
        if p is None:
            results.append(
                ParticipantResult(
                    identity=who.identity,
                    connected=False,
                    connect_s=None,
                    fps=0.0,
                    latencies_ms=[],
                    probes=0,
                    audio_ratio=0.0,
                    heard=[],
                    visible=None,
                    errors=[error],
                )
            )
            continue
        others = {name: hz for name, hz in spec.room_tones.items() if name != who.identity}
        heard = tones_present(p.audio_samples(1.0), AUDIO_RATE, others) if others and who.probe else set()
        results.append(
            ParticipantResult(
                identity=who.identity,
                connected=connect_s is not None,
                connect_s=connect_s,
                fps=(p.frames_received - frames0[id(p)]) / window,
                latencies_ms=p.latencies_ms[samples0[id(p)] :],
                probes=p.video_in.probes - probes0[id(p)],
                audio_ratio=(p.audio_in.seconds_received - audio0[id(p)]) / window,
                heard=sorted(heard),
                audio_latencies_ms=p.audio_in.onset_latencies_ms[onsets0[id(p)] :],
                visible=p.visible,
                errors=[error] * bool(error) + [f"{e.get('code')}: {e.get('message', '')}" for e in p.errors],
            )
        )
    await asyncio.sleep(spec.linger_s)
    for p in present:
        with contextlib.suppress(Exception):  # a participant the server dropped has nothing to close
            await p.leave()
    return LoadReport(
        participants=results,
        window_start_ms=window_start_ms,
        window_s=window,
        cpu_s=time.process_time() - cpu0,
        wall_s=time.monotonic() - wall0,
    )


# ---- from the bench's side -------------------------------------------------------------------------------


class LoadProcess:
    """A load process running one ``LoadSpec``, optionally pinned to CPUs with ``taskset``."""

    def __init__(self, process: asyncio.subprocess.Process, spec: LoadSpec) -> None:
        self.process = process
        self.spec = spec
        self._result: asyncio.Task[tuple[bytes, bytes]] | None = None

    @classmethod
    async def start(cls, spec: LoadSpec, cpus: Sequence[int] | None = None) -> LoadProcess:
        """Start ``python bench/mcu_load.py`` with ``spec`` on its stdin."""
        argv = [sys.executable, str(SCRIPT)]
        if cpus:
            argv = ["taskset", "-c", ",".join(map(str, cpus)), *argv]
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        me = cls(process, spec)
        me._result = asyncio.get_running_loop().create_task(process.communicate(msgspec.json.encode(spec)))
        return me

    @property
    def pid(self) -> int:
        """The load process's id."""
        return self.process.pid

    def time_limit(self) -> float:
        """How long the process may take: joins, connects, warm-up, window, leaving."""
        spec = self.spec
        joins = len(spec.participants) * spec.join_interval_s + spec.connect_timeout_s
        wait = 0.0 if spec.start_at_ms is None else max(0.0, spec.start_at_ms / 1000 - time.time())
        return joins + spec.warmup_s + wait + spec.duration_s + spec.linger_s + 30

    async def wait(self) -> LoadReport:
        """The process's report; raises ``RuntimeError`` (with its stderr) if it failed or overran."""
        assert self._result is not None
        try:
            out, err = await asyncio.wait_for(asyncio.shield(self._result), self.time_limit())
        except TimeoutError:
            self.kill()
            _, err = await self._result
            raise RuntimeError(f"load process {self.pid} overran:\n{_tail(err)}") from None
        if self.process.returncode != 0:
            raise RuntimeError(f"load process {self.pid} exited {self.process.returncode}:\n{_tail(err)}")
        return msgspec.json.decode(out, type=LoadReport)

    def kill(self) -> None:
        """Stop the process now (its report is lost)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it exited since
                self.process.kill()


def _tail(stderr: bytes) -> str:
    return stderr.decode(errors="replace")[-3000:]


async def run_load(
    specs: Sequence[LoadSpec], cpus: Sequence[Sequence[int] | None] | None = None
) -> LoadReport:
    """Run one process per spec at once (``cpus[i]`` pins process ``i``) and merge their reports."""
    processes = [await LoadProcess.start(spec, cpus[i] if cpus else None) for i, spec in enumerate(specs)]
    try:
        return merge(await asyncio.gather(*(p.wait() for p in processes)))
    finally:
        for p in processes:
            p.kill()


def main(argv: list[str] | None = None) -> None:
    """CLI of a load process: a ``LoadSpec`` as JSON on stdin (or ``--spec FILE``), the report on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--spec", type=Path, help="read the LoadSpec from this file instead of stdin")
    args = parser.parse_args(argv)
    raw = args.spec.read_bytes() if args.spec else sys.stdin.buffer.read()
    report = asyncio.run(run_participants(msgspec.json.decode(raw, type=LoadSpec)))
    sys.stdout.buffer.write(msgspec.json.encode(report) + b"\n")


if __name__ == "__main__":
    main()
