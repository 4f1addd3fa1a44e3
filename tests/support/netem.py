"""The impairing UDP relay behind ``tests.support.network``: ``python -m tests.support.netem``.

A process of its own, so that a busy test or load generator never delays the
packets it holds (its timers are the network's delay), at a higher priority than
the rest where the machine allows it (``NETWORK_NICENESS``): it stands for a network,
and a network's timing does not depend on how busy the endpoints' CPUs are. Commands come as JSON
lines on stdin (``link``, ``set``, ``outage``, ``stats``), replies go to stdout.

Each link listens on a port of 127.0.0.1. Every client address seen there gets a
socket of its own towards the upstream (the TURN server), so a client's several
ICE candidates keep distinct TURN allocations, as they would through a NAT.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import struct
import sys
import time
from typing import Any, cast

import msgspec

from tests.support.network import NETWORK_NICENESS, DirectionStats, Impairment, Profile

Address = tuple[str, int]

#: STUN Send and Data indications carry the peer's datagram in a DATA attribute.
_SEND_INDICATION, _DATA_INDICATION, _DATA_ATTRIBUTE = 0x0016, 0x0017, 0x0013


def _inner(datagram: bytes) -> bytes:
    """The datagram a TURN packet carries (ChannelData or a Send/Data indication), else itself."""
    if len(datagram) >= 4 and 0x40 <= datagram[0] <= 0x7F:  # ChannelData: channel, length
        (length,) = struct.unpack_from("!H", datagram, 2)
        return datagram[4 : 4 + length]
    if len(datagram) >= 20 and datagram[0] < 4:
        kind, length = struct.unpack_from("!HH", datagram)
        if kind in (_SEND_INDICATION, _DATA_INDICATION):
            at = 20
            while at + 4 <= 20 + length:
                attribute, size = struct.unpack_from("!HH", datagram, at)
                if attribute == _DATA_ATTRIBUTE:
                    return datagram[at + 4 : at + 4 + size]
                at += 4 + (size + 3) // 4 * 4
    return datagram


def rtp_payload_type(datagram: bytes) -> int | None:
    """The RTP payload type of what a TURN datagram carries; None for RTCP, DTLS, STUN."""
    inner = _inner(datagram)
    if len(inner) < 12 or not 128 <= inner[0] <= 191 or 192 <= inner[1] <= 223:
        return None
    return inner[1] & 0x7F


class Direction:
    """One way of a link: loss, a rate-limited queue, delay and jitter, outages."""

    def __init__(self, impairment: Impairment, rng: random.Random) -> None:
        self.impairment = impairment
        self.rng = rng
        self.outage_until = 0.0
        #: When the queue in front of the rate cap empties (monotonic seconds).
        self.queue_free_at = 0.0
        self.packets = self.sent = self.lost = self.queue_dropped = self.outage_dropped = 0
        self.bytes_sent = 0

    def departure(self, datagram: bytes, now: float) -> float | None:
        """When ``datagram``, arriving ``now``, comes out the other end; None: it never does."""
        self.packets += 1
        spec = self.impairment
        if spec.spare_payload_types and rtp_payload_type(datagram) in spec.spare_payload_types:
            return self._sent(datagram, now)
        if now < self.outage_until:
            self.outage_dropped += 1
            return None
        if spec.loss and self.rng.random() < spec.loss:
            self.lost += 1
            return None
        at = now
        if spec.rate_bps:
            start = max(now, self.queue_free_at)
            if start - now > spec.queue_ms / 1000:
                self.queue_dropped += 1
                return None
            # UDP/IP headers count against the rate as on a real link.
            self.queue_free_at = at = start + (len(datagram) + 28) * 8 / spec.rate_bps
        delay = spec.delay_ms
        if spec.jitter_ms:
            delay += self.rng.uniform(-spec.jitter_ms, spec.jitter_ms)
        return self._sent(datagram, at + max(delay, 0.0) / 1000)

    def _sent(self, datagram: bytes, at: float) -> float:
        self.sent += 1
        self.bytes_sent += len(datagram)
        return at

    def stats(self) -> DirectionStats:
        return DirectionStats(
            self.packets, self.sent, self.lost, self.queue_dropped, self.outage_dropped, self.bytes_sent
        )


class _Upstream(asyncio.DatagramProtocol):
    """A client's socket towards the TURN server: what comes back goes down the link."""

    def __init__(self, link: Link, client: Address) -> None:
        self.link = link
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None
        #: What the client sent while this socket was being opened.
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's UDP transport is not a DatagramTransport subclass at runtime, hence the cast.
        self.transport = udp = cast(asyncio.DatagramTransport, transport)
        for data in self.pending:
            self.link.pass_on(self.link.up, data, udp.sendto)
        self.pending.clear()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        listener = self.link.listener
        if listener is not None:
            self.link.pass_on(self.link.down, data, lambda d: listener.sendto(d, self.client))


class Link(asyncio.DatagramProtocol):
    """One participant's link: listens for the client, relays to ``upstream`` through impairments."""

    def __init__(self, name: str, upstream: Address, profile: Profile, seed: int) -> None:
        self.name = name
        self.upstream = upstream
        self.profile = profile
        rng = random.Random(seed)
        self.up = Direction(profile.up, rng)
        self.down = Direction(profile.down, rng)
        self.listener: asyncio.DatagramTransport | None = None
        self.clients: dict[Address, _Upstream] = {}
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.listener = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        client = self.clients.get(addr)
        if client is None:
            client = self.clients[addr] = _Upstream(self, addr)
            self.loop.create_task(self._connect(client))
        if client.transport is None:
            client.pending.append(data)
        else:
            self.pass_on(self.up, data, client.transport.sendto)

    async def _connect(self, client: _Upstream) -> None:
        await self.loop.create_datagram_endpoint(lambda: client, remote_addr=self.upstream)

    def pass_on(self, direction: Direction, data: bytes, send: Any) -> None:
        now = time.monotonic()
        at = direction.departure(data, now)
        if at is None:
            return
        if at - now < 0.0005:
            send(data)
        else:
            self.loop.call_at(self.loop.time() + (at - now), send, data)

    def apply(self, profile: Profile) -> None:
        self.profile = profile
        self.up.impairment, self.down.impairment = profile.up, profile.down

    def cut(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        self.up.outage_until = self.down.outage_until = until


class Relay:
    """The links of this process, by name, driven by the commands on stdin."""

    def __init__(self) -> None:
        self.links: dict[str, Link] = {}

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {}
        name = str(request.get("name"))
        if op == "link":
            profile = msgspec.convert(request["profile"], Profile)
            host, port = request["upstream"]
            loop = asyncio.get_running_loop()
            link = Link(name, (host, int(port)), profile, seed=len(self.links) + 1)
            transport, _ = await loop.create_datagram_endpoint(lambda: link, local_addr=("127.0.0.1", 0))
            self.links[name] = link
            return {"port": transport.get_extra_info("sockname")[1]}
        link = self.links[name]
        if op == "set":
            link.apply(msgspec.convert(request["profile"], Profile))
            return {}
        if op == "outage":
            seconds = request.get("seconds")
            link.cut(float(seconds if seconds is not None else link.profile.outage_s))
            return {}
        if op == "stats":
            return {"stats": {"up": link.up.stats(), "down": link.down.stats()}}
        raise ValueError(f"unknown op {op!r}")


async def main() -> None:
    with contextlib.suppress(PermissionError):
        os.nice(NETWORK_NICENESS)
    relay = Relay()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        request = msgspec.json.decode(line)
        try:
            reply = await relay.handle(request)
        except Exception as exc:  # the caller raises it; the relay goes on
            reply = {"error": repr(exc)}
        sys.stdout.buffer.write(msgspec.json.encode({**reply, "id": request.get("id")}) + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    asyncio.run(main())
