"""Bad networks on one machine: named impairment profiles, applied per participant and direction.

This kernel has no ``netem``, so the impairment happens in userspace: every
participant under test reaches the TURN server (``tests.support.turn``) through a
link of its own, a UDP relay in a separate process (``tests.support.netem``) that
loses, delays, reorders, rate-limits and cuts the datagrams going each way. The
participant is forced to relay all media through TURN (``iceTransportPolicy:
"relay"``), so the link carries everything it sends (``up``) and receives
(``down``): media, RTCP, DTLS and ICE alike, as a real access network would.

A rate cap works like ``tbf``: packets leave at the link's rate from a queue that
holds at most ``queue_ms`` of them; what does not fit is dropped at the tail.
Jitter draws each packet's delay uniformly from ``delay_ms ± jitter_ms`` and lets
packets overtake each other, as netem's does. ``spare_payload_types`` lets RTP
packets of those payload types (say, the audio's) through untouched: a
video-only outage.

    async with Netem.start() as net:
        link = await net.link("alice", PROFILES["loss5"], upstream=("127.0.0.1", turn.port))
        ice = turn.ice_server("alice", port=link.port)   # alice's RTCIceServer, via her link
        ...
        await net.outage("alice")                         # the profile's outage (burst: 2 s)
        print(await net.stats("alice"))
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec

__all__ = [
    "NETWORK_NICENESS",
    "PROFILES",
    "DirectionStats",
    "Impairment",
    "LinkStats",
    "Netem",
    "NetemLink",
    "Profile",
    "relay_only_script",
]


#: The repository, where ``python -m tests.support.netem`` finds its package.
_ROOT = Path(__file__).resolve().parents[2]


class Impairment(msgspec.Struct, frozen=True, kw_only=True):
    """What one direction of a link does to the datagrams crossing it."""

    #: Share of packets lost, independently of each other.
    loss: float = 0.0
    #: One-way delay, and the half-width of the uniform jitter around it.
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    #: Bits per second the link carries (0: no cap), and the longest a packet may queue for it.
    rate_bps: int = 0
    queue_ms: float = 200.0
    #: RTP payload types never impaired (the audio's, for a video-only outage or loss).
    spare_payload_types: tuple[int, ...] = ()


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """A named network: the participant's uplink and downlink, and an outage to cut on demand."""

    name: str
    up: Impairment = Impairment()
    down: Impairment = Impairment()
    #: Seconds both directions go dark when ``Netem.outage`` is called without a length.
    outage_s: float = 0.0


def _both(name: str, outage_s: float = 0.0, **impairment: Any) -> Profile:
    each = Impairment(**impairment)
    return Profile(name=name, up=each, down=each, outage_s=outage_s)


#: The niceness of the processes that stand for the network (the impairing relay, the TURN
#: server): ahead of the endpoints, whose load must not bend the network's timing. Raising a
#: priority needs the right to (root in CI and here); without it they run as everything else.
NETWORK_NICENESS = -10

#: The profiles of issue 15, by name.
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        _both("good"),
        _both("loss5", loss=0.05),
        _both("loss10", loss=0.10),
        # 300 ms round trip: 150 ms each way, each packet within ±15 ms (30 ms of jitter).
        _both("rtt300", delay_ms=150.0, jitter_ms=15.0),
        Profile(name="cap500k", down=Impairment(rate_bps=500_000)),
        Profile(name="cap250k_up", up=Impairment(rate_bps=250_000)),
        _both("burst", outage_s=2.0),
    )
}


class DirectionStats(msgspec.Struct, frozen=True):
    """Datagrams seen one way: passed on, lost at random, dropped at a full queue, cut by an outage."""

    packets: int
    sent: int
    lost: int
    queue_dropped: int
    outage_dropped: int
    bytes_sent: int


class LinkStats(msgspec.Struct, frozen=True):
    up: DirectionStats
    down: DirectionStats


class NetemLink(msgspec.Struct, frozen=True):
    """A participant's link: point its TURN URL at ``127.0.0.1:port``."""

    name: str
    port: int
    profile: Profile


class Netem:
    """Client of one relay process (``python -m tests.support.netem``): JSON lines over its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, cpus: list[int] | None = None) -> AsyncIterator[Netem]:
        """Start the relay process (pinned to ``cpus`` when given); stop it afterwards."""
        command = [sys.executable, "-m", "tests.support.netem"]
        if cpus:
            command = ["taskset", "-c", ",".join(map(str, cpus)), *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=_ROOT
        )
        net = cls(process)
        try:
            await net._call({"op": "ping"})
            yield net
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        async with self._lock:
            request = {**request, "id": next(self._ids)}
            self._process.stdin.write(msgspec.json.encode(request) + b"\n")
            await self._process.stdin.drain()
            line = await asyncio.wait_for(self._process.stdout.readline(), 10)
        if not line:
            raise RuntimeError("the netem relay process died")
        reply: dict[str, Any] = msgspec.json.decode(line)
        if "error" in reply:
            raise RuntimeError(f"netem: {reply['error']}")
        return reply

    async def link(self, name: str, profile: Profile, upstream: tuple[str, int]) -> NetemLink:
        """A new link ``name`` in front of ``upstream`` (the TURN server), impaired as ``profile``."""
        reply = await self._call(
            {"op": "link", "name": name, "upstream": list(upstream), "profile": msgspec.to_builtins(profile)}
        )
        return NetemLink(name=name, port=int(reply["port"]), profile=profile)

    async def set(self, name: str, profile: Profile) -> None:
        """Change a link's impairment now (a network getting worse, or better)."""
        await self._call({"op": "set", "name": name, "profile": msgspec.to_builtins(profile)})

    async def outage(self, name: str, seconds: float | None = None) -> None:
        """Cut the link both ways for ``seconds`` (default: its profile's ``outage_s``), from now."""
        await self._call({"op": "outage", "name": name, "seconds": seconds})

    async def stats(self, name: str) -> LinkStats:
        reply = await self._call({"op": "stats", "name": name})
        return msgspec.convert(reply["stats"], LinkStats)


def relay_only_script(ice_server: dict[str, Any]) -> str:
    """A browser init script: every ``RTCPeerConnection`` of the page relays all its media through
    ``ice_server`` (TURN) and nothing else, as a participant behind the impaired link."""
    config = msgspec.json.encode(ice_server).decode()
    return f"""(() => {{
  const Native = window.RTCPeerConnection;
  const relay = {config};
  function Relayed(config, ...rest) {{
    return new Native({{ ...(config || {{}}), iceServers: [relay], iceTransportPolicy: "relay" }}, ...rest);
  }}
  Relayed.prototype = Native.prototype;
  Object.setPrototypeOf(Relayed, Native);
  window.RTCPeerConnection = Relayed;
}})();"""
