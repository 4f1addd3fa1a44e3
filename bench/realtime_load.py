"""The load generator of ``bench/realtime.py``: WebSocket participants, timed joins and chat steps.

Each participant is websockets' sans-I/O ``ClientProtocol`` on a bare asyncio
transport: frames are handled inside ``data_received`` (no reader task, no
queue, no task switch per frame), so one delivery costs the client one frame
parse, one inflate and one JSON decode. The load generator shares a 2-core
machine with the server, so its cost per delivery decides how high a ceiling
the bench can measure at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import msgspec
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

__all__ = [
    "JoinResult",
    "Participant",
    "Server",
    "StepResult",
    "join_all",
    "leave_all",
    "percentile",
    "podium_frame",
    "raw_frame",
    "run_step",
    "settle",
]

CHAT_PREFIX = b'{"type":"chat.message"'
ERROR_PREFIX = b'{"type":"error"'
#: Chat text after the bench's own header, so a message is about as long as a typical chat line.
PAD = "x" * 48
MAX_SENDERS = 400


class _Text(msgspec.Struct):
    text: str


class _ChatFrame(msgspec.Struct):
    message: _Text


_decode_chat = msgspec.json.Decoder(_ChatFrame).decode


def percentile(ascending: list[int], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not ascending:
        return 0.0
    rank = min(len(ascending), max(1, -(-len(ascending) * q // 100)))  # ceil(n * q / 100)
    return float(ascending[int(rank) - 1])


class CpuMeter:
    """CPU seconds (user + system, all threads) of a process, or of this one when ``pid`` is None."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self._tick = os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float | None:
        if self.pid is None:
            return time.process_time()
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self._tick


# ---- results ---------------------------------------------------------------------------------------------


@dataclass
class StepResult:
    """What one (server, rate) step measured; latencies in milliseconds, CPU as a share of one core."""

    server: str
    rate: float
    sent: int
    send_rate: float
    expected: int
    delivered: int
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    server_cpu: float | None
    client_cpu: float

    @property
    def lost(self) -> int:
        """Deliveries that did not arrive before the drain window closed."""
        return self.expected - self.delivered


@dataclass
class JoinResult:
    """Seconds from "join token in hand" to "first frame (welcome) received", per participant."""

    server: str
    latencies_s: list[float]

    def ms(self, q: float) -> float:
        return percentile(sorted(round(v * 1e6) for v in self.latencies_s), q) / 1000


# ---- participants ----------------------------------------------------------------------------------------


class Step:
    """Live counters of one (server, rate) step; participants record into it."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.latencies_ns: list[int] = []
        self.errors = 0
        self.last_receive_ns = 0
        self.expected = -1
        self.complete = asyncio.Event()

    def record(self, text: str, now_ns: int) -> None:
        tag, sent_ns, _ = text.split("|", 2)
        if tag == self.tag:  # a late frame of an earlier step is not this step's delivery
            self.latencies_ns.append(now_ns - int(sent_ns))
            self.last_receive_ns = now_ns
            if len(self.latencies_ns) == self.expected:
                self.complete.set()


@dataclass
class Server:
    """One server under test: how participants join it and what a chat frame for it looks like."""

    name: str
    #: Join URLs (token included) for ``count`` participants, minted before joins are timed.
    mint: Callable[[int], Awaitable[list[str]]]
    #: The frame participant ``index`` sends to chat ``text`` as message number ``seq``.
    frame: Callable[[int, int, str], str]
    #: The server's process when the bench started it (for its CPU use and for settling).
    pid: int | None = None
    step: Step | None = None
    participants: list[Participant] = field(default_factory=list)
    #: When any participant last received anything (to tell when a backlog is drained).
    last_frame_ns: int = 0


class Participant(asyncio.Protocol):
    """One WebSocket client: websockets' sans-I/O protocol driven by an asyncio transport."""

    def __init__(self, server: Server, index: int, url: str, compression: bool) -> None:
        # What a browser offers: permessage-deflate, any client window.
        extensions = [ClientPerMessageDeflateFactory(client_max_window_bits=True)] if compression else None
        self.server = server
        self.index = index
        self.protocol = ClientProtocol(parse_uri(url), extensions=extensions, max_size=2**22)
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        #: The first text frame (``welcome``).
        self.first: asyncio.Future[str] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.writable = asyncio.Event()
        self.writable.set()
        #: Why the connection ended ("code reason"), None while open.
        self.closed: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        self.server.last_frame_ns = now
        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self._text(bytes(event.data), now)
            elif protocol.handshake_exc is not None and not self.first.done():
                self.first.set_exception(protocol.handshake_exc)
        self._flush()  # pongs, close replies

    def _text(self, frame: bytes, now: int) -> None:
        step = self.server.step
        if not self.first.done():
            self.first.set_result(frame.decode())
        elif step is None:
            return
        elif frame.startswith(CHAT_PREFIX):
            step.record(_decode_chat(frame).message.text, now)
        elif frame.startswith(ERROR_PREFIX):
            step.errors += 1

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        close = self.protocol.close_rcvd
        self.closed = f"{close.code} {close.reason}".strip() if close else "connection lost"
        if not self.first.done():
            self.first.set_exception(ConnectionError(self.closed))
        if not self.lost.done():
            self.lost.set_result(None)
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    async def send(self, text: str) -> bool:
        """Send one text frame (waiting while the socket buffer is full); False once closed."""
        if not self.writable.is_set():
            await self.writable.wait()
        if self.closed is not None:
            return False
        self.protocol.send_text(text.encode())
        self._flush()
        return True

    async def close(self) -> None:
        if self.closed is None and self.transport is not None:
            with contextlib.suppress(Exception):
                self.protocol.send_close(1000)
                self._flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.lost), 5)
        if self.transport is not None:
            self.transport.abort()


def podium_frame(index: int, seq: int, text: str) -> str:
    """Podium's ``chat.send`` (the bench's text needs no JSON escaping)."""
    return '{"type":"chat.send","text":"' + text + '"}'


_SENDER_IDS = [str(uuid.uuid4()) for _ in range(MAX_SENDERS)]


def raw_frame(index: int, seq: int, text: str) -> str:
    """A frame shaped and sized like the ``chat.message`` Podium delivers for the same text."""
    return (
        f'{{"type":"chat.message","message":{{"id":{seq + 1},"sender_id":"{_SENDER_IDS[index]}",'
        f'"sender_name":"Bench {index:03d}","sender_role":"attendee","to":"everyone","recipient_id":null,'
        f'"recipient_name":null,"text":"{text}","sent_at":"2026-11-23T12:00:00.000000Z"}}}}'
    )


# ---- joining ---------------------------------------------------------------------------------------------


async def open_participant(server: Server, index: int, url: str, compression: bool) -> float:
    """Connect and wait for the first frame, which must be ``welcome``; returns the seconds it took."""
    uri = parse_uri(url)
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    _, client = await loop.create_connection(
        lambda: Participant(server, index, url, compression), uri.host, uri.port
    )
    first = await asyncio.wait_for(client.first, 30)
    elapsed = time.perf_counter() - start
    if not first.startswith('{"type":"welcome"'):
        await client.close()
        raise RuntimeError(f"{server.name}: expected welcome, got {first[:200]}")
    server.participants.append(client)
    return elapsed


async def join_all(server: Server, count: int, batch: int, compression: bool) -> JoinResult:
    """Join ``count`` participants, ``batch`` at a time; tokens are minted before timing starts."""
    urls = await server.mint(count)
    latencies: list[float] = []
    for first in range(0, count, batch):
        group = range(first, min(count, first + batch))
        latencies += await asyncio.gather(*(open_participant(server, i, urls[i], compression) for i in group))
    server.participants.sort(key=lambda p: p.index)
    return JoinResult(server.name, latencies)


async def leave_all(server: Server) -> list[str]:
    """Close every participant; returns why the server had closed some of them earlier."""
    dropped = [p.closed for p in server.participants if p.closed is not None]
    await asyncio.gather(*(p.close() for p in server.participants))
    server.participants.clear()
    return dropped


# ---- chat steps ------------------------------------------------------------------------------------------


async def run_step(server: Server, tag: str, rate: float, seconds: float, drain: float) -> StepResult:
    """Send ``rate`` messages/s room-wide for ``seconds``, then wait up to ``drain`` s for deliveries.

    Open loop: message ``n`` is due at ``n / rate`` s whatever happened to the
    earlier ones (a server that falls behind is not given a break). Senders
    take turns, so each participant sends ``rate / N`` messages/s; every
    participant, the sender included, should receive every message.
    """
    participants = [p for p in server.participants if p.closed is None]
    count = len(participants)
    total = max(1, round(rate * seconds))
    interval = 1e9 / rate
    step = Step(tag)
    server.step = step
    # The server's CPU is known only for a server the bench started (CpuMeter(None) is this process).
    server_meter = None if server.pid is None else CpuMeter(server.pid)
    client_meter = CpuMeter(None)
    server_cpu0 = None if server_meter is None else server_meter.seconds()
    client_cpu0 = client_meter.seconds()
    start = time.perf_counter_ns()
    sent = 0
    for seq in range(total):
        delay = start + seq * interval - time.perf_counter_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        sender = participants[seq % count]
        text = f"{tag}|{time.perf_counter_ns()}|{PAD}"
        if await sender.send(server.frame(sender.index, seq, text)):
            sent += 1
    # The schedule spans total / rate seconds; a sender that was held back stretches it.
    send_end = max(time.perf_counter_ns(), start + round(total * interval))
    step.expected = sent * count
    if len(step.latencies_ns) < step.expected:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(step.complete.wait(), drain)
    server.step = None
    server_cpu1 = None if server_meter is None else server_meter.seconds()
    client_cpu1 = client_meter.seconds()
    window = (max(step.last_receive_ns, send_end) - start) / 1e9
    latencies = sorted(step.latencies_ns)
    server_cpu = None
    if server_cpu0 is not None and server_cpu1 is not None:
        server_cpu = (server_cpu1 - server_cpu0) / window
    return StepResult(
        server=server.name,
        rate=rate,
        sent=sent,
        send_rate=sent / ((send_end - start) / 1e9),
        expected=step.expected,
        delivered=len(latencies),
        deliveries_per_s=len(latencies) / window,
        p50_ms=percentile(latencies, 50) / 1e6,
        p99_ms=percentile(latencies, 99) / 1e6,
        max_ms=latencies[-1] / 1e6 if latencies else 0.0,
        errors=step.errors,
        server_cpu=server_cpu,
        client_cpu=((client_cpu1 or 0.0) - (client_cpu0 or 0.0)) / window,
    )


async def settle(servers: list[Server], quiet: float = 0.5, limit: float = 60.0) -> None:
    """Wait until no frames arrive and the bench's own servers idle: an overloaded step leaves a backlog.

    Both servers share one CPU, so a backlog left by one would slow the next step of the other.
    """
    meters = [CpuMeter(s.pid) for s in servers if s.pid is not None]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = [m.seconds() or 0.0 for m in meters]
        await asyncio.sleep(quiet)
        busy = sum((m.seconds() or 0.0) - b for m, b in zip(meters, before, strict=True)) / quiet
        silent = all(time.perf_counter_ns() - s.last_frame_ns > quiet * 1e9 for s in servers)
        if silent and busy < 0.1:
            return
