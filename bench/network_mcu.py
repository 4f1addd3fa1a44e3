"""The MCU cells of ``bench/network.py``: 8 synthetic participants in one MCU room, participant 0 impaired.

Podium (embedded defaults) and a media node (pinned to the server CPUs) start
once, as in ``bench/mcu.py``; each cell opens a fresh room. Participant 0 relays
all its media through TURN over a link of its own (``SyntheticParticipant(relay=…)``);
participants 1 and 2 connect directly and are measured too (they decode the
composite, read its timestamps, and follow participant 0's tile in it); the
other five run in a load process (``bench/mcu_load.py``) and only count frames.
Everyone sends 640x360 at 15 fps (every timestamp readable in the composite)
and a tone; 0, 1 and 2 speak. The measured ones receive through the project's
buffers, as the peer-to-peer cells do (the mix through ``buffer_audio``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.mcu import NodeControl, media_node, start_podium
from bench.mcu_load import LoadReport, LoadSpec, ParticipantSpec, mint_tokens, run_load
from bench.network_measure import AudioLog, Probes, VideoLog
from podium.media import control
from podium.media.audio_jitter import buffer_audio
from tests.support.analysis import PALETTE, TONES_HZ
from tests.support.network import PROFILES, Netem
from tests.support.synthetic import SyntheticParticipant
from tests.support.turn import TurnServer

__all__ = ["McuRoom", "Podium", "mcu_room", "podium"]

PARTICIPANTS = 8
#: Participants measured in this process (the impaired one first); the rest count frames elsewhere.
MEASURED = 3
_COLOURS = list(PALETTE.values())
_cells = itertools.count(1)


@dataclass
class Podium:
    """A running Podium server and media node."""

    base: str
    secret: str
    tenant: str
    node: NodeControl
    node_pid: int


@contextlib.asynccontextmanager
async def podium(server_cpus: list[int] | None) -> AsyncIterator[Podium]:
    """``podium serve`` (SQLite, in-memory channels) and a ``podium media`` node, as ``bench/mcu.py``
    starts them."""
    with tempfile.TemporaryDirectory(prefix="podium-net-bench-") as tmp, contextlib.ExitStack() as stack:
        started = start_podium(Path(tmp), stack, server_cpus)
        base, tenant = started.base, started.tenant
        media_argv, env, media_url = started.media_argv, started.env, started.media_url
        workdir = started.workdir
        async with media_node(media_argv, env, workdir / "media.log", media_url) as node_pid:
            yield Podium(base, tenant["secret"], tenant["tenant"], NodeControl(media_url), node_pid)


@dataclass
class McuRoom:
    """A running cell: participant 0 (impaired, ``link``), the measured others, the counting rest."""

    link: str
    key: str
    impaired: SyntheticParticipant
    others: list[SyntheticParticipant]
    load: asyncio.Task[LoadReport]
    #: Wall-clock ms at which the counting participants start measuring: the window's start.
    starts_at_ms: int
    videos: dict[str, VideoLog] = field(default_factory=dict)
    audios: dict[str, AudioLog] = field(default_factory=dict)

    async def settle(self, within_s: float, for_s: float = 2.0) -> bool:
        """Wait (at most ``within_s``) until every measured participant has had the 720p tier for
        ``for_s``: a receiver that dropped while everyone joined retries it only after 10 s."""
        deadline = time.monotonic() + within_s
        while not all(v.on_high_tier(for_s) for v in self.videos.values()):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.2)
        return True

    async def wait_flowing(self, within_s: float) -> None:
        """Wait until every measured participant decodes the composite and the mix."""
        deadline = time.monotonic() + within_s
        while any(not (v.frames and self.audios[k].frames) for k, v in self.videos.items()):
            if time.monotonic() > deadline or self.load.done():
                silent = [k for k, v in self.videos.items() if not v.frames]
                errors = [e for p in (self.impaired, *self.others) for e in p.errors]
                raise RuntimeError(f"no composite within {within_s}s at {silent}; errors {errors}")
            await asyncio.sleep(0.2)


async def _open_room(pod: Podium) -> tuple[str, str, list[str]]:
    slug = f"net-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(
        base_url=f"{pod.base}/api/v1", headers={"Authorization": f"Bearer {pod.secret}"}, timeout=30
    ) as api:
        settings = {"slug": slug, "name": slug, "media_mode": "mcu", "max_participants": 100}
        response = await api.post("/rooms", json=settings)
        response.raise_for_status()
        room = response.json()
    key = f"podium:{room['id']}"
    await pod.node.request(lambda i: control.OpenRoom(id=i, room=key))
    identities = [f"p{k}" for k in range(PARTICIPANTS)]
    return slug, key, await mint_tokens(pod.base, pod.secret, slug, identities)


def _logged(p: SyntheticParticipant, video: VideoLog, audio: AudioLog) -> None:
    """Record ``p``'s composite and mix with the bench's recorders (before its tracks arrive), the
    mix through the node's audio buffer, as the peer-to-peer cells do (``SyntheticParticipant``
    gives its video receiver the node's video buffer itself)."""
    assert p.video_in._task is None, "the composite arrived before the swap"
    assert p.audio_in._task is None, "the mix arrived before the swap"
    p.video_in, p.audio_in = video, audio

    def buffer_mix() -> None:
        assert p.pc is not None
        buffer_audio(next(t.receiver for t in p.pc.getTransceivers() if t.kind == "audio"))

    audio.on_track = buffer_mix


@contextlib.asynccontextmanager
async def mcu_room(
    pod: Podium,
    turn: TurnServer,
    net: Netem,
    probes: Probes,
    latency_hz: float,
    measure_s: float,
    settle_s: float,
    load_cpus: list[int] | None,
) -> AsyncIterator[McuRoom]:
    """A room of ``PARTICIPANTS``, participant 0 through a ``good`` link that the caller impairs
    (``McuRoom.link``) once media flows; the counting participants measure from ~15 s on."""
    cell = next(_cells)
    slug, key, tokens = await _open_room(pod)
    ws_url = pod.base.replace("http", "ws", 1)
    name = f"mcu{cell}-0"
    link = await net.link(name, PROFILES["good"], ("127.0.0.1", turn.port))
    rest = [
        ParticipantSpec(f"p{k}", tokens[k], _COLOURS[k], TONES_HZ[k], loud=False, probe=False)
        for k in range(MEASURED, PARTICIPANTS)
    ]
    # The window starts when everyone should be in and warmed up (joining through TURN takes a few s).
    starts_at_ms = time.time_ns() // 1_000_000 + 15_000
    spec = LoadSpec(
        ws_url=ws_url,
        tenant=pod.tenant,
        room=slug,
        participants=rest,
        # Longer than ours, so that they stay while we measure even when our window starts late.
        duration_s=measure_s + settle_s + 10,
        warmup_s=0.0,
        start_at_ms=starts_at_ms,
        width=640,
        height=360,
        latency_hz=0.0,
        join_interval_s=0.1,
    )
    load = asyncio.get_running_loop().create_task(run_load([spec], [load_cpus] if load_cpus else None))
    joined: list[SyntheticParticipant] = []
    room: McuRoom | None = None
    try:
        for k in range(MEASURED):
            p = await SyntheticParticipant.connect(
                ws_url,
                pod.tenant,
                slug,
                tokens[k],
                f"p{k}",
                _COLOURS[k],
                TONES_HZ[k],
                True,
                width=640,
                height=360,
                latency_hz=latency_hz,
                relay=turn.ice_server(name, port=link.port) if k == 0 else None,
            )
            joined.append(p)
            video = VideoLog(probes, latency_hz, watch=None if k == 0 else _COLOURS[0])
            _logged(p, video, audio := AudioLog())
            if room is None:
                room = McuRoom(name, key, p, [], load, starts_at_ms)
            else:
                room.others.append(p)
            room.videos[p.identity], room.audios[p.identity] = video, audio
        assert room is not None
        yield room
    finally:
        for p in joined:
            with contextlib.suppress(Exception):
                await p.leave()
        if not load.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(load, measure_s + 60)
        with contextlib.suppress(Exception):
            await pod.node.request(lambda i: control.CloseRoom(id=i, room=key))
