"""Fuzzing the realtime protocol: corpora from hypothesis, hostile values, garbage SDP, and a
raw client that tells each frame's replies apart (tests/hardening/test_ws_fuzz.py).

The documented error and close codes are read from docs/realtime.md and docs/plugins.md, so a
code the server sends but the docs do not list fails the fuzzers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning

from podium.core.realtime.protocol import decode_client
from tests.hardening.conftest import Tally
from tests.support.client import Member, TenantClient

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: The nodes' defaults (tests/support/server.py keeps them).
MAX_FRAME = 64 * 1024
MAX_SDP = 32 * 1024
#: Generated frames stay under the frame limit, so the connection lives through the whole corpus.
FRAME_BUDGET = MAX_FRAME - 1024
#: Frames in flight before the fuzzer reads the replies.
BATCH = 25
#: Commands a second the fuzzer sends: under the connection's command budget (50 a second after
#: a burst of 200), so the corpus reaches the handlers instead of ``rate_limited``.
PACE = 45.0
T = TypeVar("T")
Frame = str | bytes
Message = dict[str, Any]


# ---- what the docs promise -------------------------------------------------------------------------------


def _section(page: str, title: str) -> str:
    text = (DOCS / page).read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def documented_errors() -> set[str]:
    """The ``error`` codes in docs/realtime.md's table; ``internal_error`` is a bug, never an answer."""
    rows = [line for line in _section("realtime.md", "Error codes").splitlines() if line.startswith("| `")]
    codes = {code for row in rows for code in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    assert {"malformed_json", "invalid_message", "rate_limited"} <= codes, "the error table moved"
    return codes - {"internal_error"}


def documented_plugin_errors() -> set[str]:
    """The built-in plugins' own codes (docs/plugins.md), with the realtime ones."""
    codes = set(re.findall(r"`([a-z]+_[a-z_]+)`", _section("plugins.md", "Built-in plugins")))
    return (codes | documented_errors()) - {"plugin_failed"}


def documented_closes() -> dict[int, str]:
    """Close code → its reasons cell (docs/realtime.md's "Close codes")."""
    closes: dict[int, str] = {}
    for line in _section("realtime.md", "Close codes").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1][:4].isdigit():
            closes[int(cells[1][:4])] = cells[2]
    return closes


ERRORS = documented_errors()


# ---- corpora from hypothesis ----------------------------------------------------------------------------


async def corpus(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` examples of ``strategy``: hypothesis generates them, the test sends them itself.

    Generated in a thread: thousands of examples take seconds, during which the test's open
    sockets must go on answering the server's (and their own) keepalive pings."""
    return await asyncio.to_thread(_collect, strategy, count)


def _collect(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    found: list[T] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: T) -> None:
        found.append(example)

    with warnings.catch_warnings():  # strategies holding a real SDP have long reprs; no matter
        warnings.simplefilter("ignore", HypothesisWarning)
        collect()
    return found


class _Bomb:
    """Nesting thousands deep, spliced into the JSON text (``json.dumps`` itself would recurse)."""

    def __init__(self, depth: int, kind: str) -> None:
        self.text = "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth
        self.marker = f"@@bomb-{uuid.uuid4().hex}@@"


def dumps(message: Any, ascii_only: bool = False) -> str:
    """JSON text for ``message``, bombs spliced in."""
    bombs: list[_Bomb] = []

    def default(value: Any) -> str:
        if isinstance(value, _Bomb):
            bombs.append(value)
            return value.marker
        raise TypeError(type(value))

    text = json.dumps(message, default=default, ensure_ascii=ascii_only)
    for bomb in bombs:
        text = text.replace(json.dumps(bomb.marker), bomb.text)
    return text


HOSTILE_TEXT = [
    "",
    " \t\r\n",
    "\u0000",
    "nul\u0000inside",
    "\u202eevil.exe",
    "\ufeff",
    "\u200d" * 300,
    "e\u0301" * 500,
    "\U0001d54f" * 2000,
    "\U0010ffff",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "../../../../etc/passwd",
    "x" * 16_000,
    "\u03a9" * 10_000,
]


def hostile_values() -> st.SearchStrategy[Any]:
    """Values of every wrong type: huge and negative numbers, odd text, deep and wide containers."""
    numbers = st.sampled_from([-1, 0, 2**31, 2**63, 2**64, -(2**63) - 1, 10**40, 1e308, -1e308, 5e-324, -0.0])
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        numbers,
        st.integers(),
        st.floats(),  # NaN and Infinity are not JSON: the frame is malformed
        st.text(max_size=50),
        st.sampled_from(HOSTILE_TEXT),
    )
    containers = st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
        max_leaves=12,
    )
    bombs = st.builds(_Bomb, st.sampled_from([50, 500, 5_000, 12_000]), st.sampled_from(["array", "object"]))
    wide = st.integers(1_000, 6_000).map(lambda n: list(range(n)))
    return st.one_of(leaves, containers, bombs, wide)


@st.composite
def mutated(draw: st.DrawFn, base: Message, ids: list[str]) -> Message:
    """``base`` with one to three fields set to hostile values (or people's ids), dropped or added."""
    message = dict(base)
    names = st.sampled_from([*message, "type", "from", "__proto__", "sender_id", "role"]) | st.text(
        max_size=12
    )
    for _ in range(draw(st.integers(1, 3))):
        field = draw(names)
        if field in message and draw(st.booleans()):
            del message[field]
        else:
            message[field] = draw(st.sampled_from(ids) | hostile_values())
    return message


def many_candidates(real: str, n: int) -> str:
    """``real`` with ``n`` more host candidates (on a documentation network nothing answers on)."""
    return real + "".join(
        f"a=candidate:{i} 1 udp {2130706431 - i} 192.0.2.{i % 250 + 1} {1024 + i} typ host\r\n"
        for i in range(n)
    )


def many_sections(real: str, n: int) -> str:
    """``real``'s session lines with ``n`` audio sections."""
    head = "".join(f"{line}\r\n" for line in real.split("\r\n") if line[:2] in ("v=", "o=", "s=", "t="))
    section = (
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:{}\r\na=rtpmap:111 opus/48000/2\r\n"
    )
    return head + "".join(section.format(i) for i in range(n))


def huge_fingerprint(real: str, n: int) -> str:
    """``real`` with a fingerprint of ``n`` bytes instead of 32."""
    fingerprint = next(line for line in real.split("\r\n") if line.startswith("a=fingerprint:"))
    return real.replace(fingerprint, "a=fingerprint:sha-256 " + ":".join(["AB"] * n))


def sdp_garbage(real: str) -> st.SearchStrategy[str]:
    """Session descriptions from a hostile client: noise, broken real offers, and offers that are
    all too much (thousands of candidates or sections, a fingerprint of kilobytes)."""
    lines = [line for line in real.split("\r\n") if line]

    odd_lines = st.sampled_from(
        [
            "c=IN IP4 999.999.999.999",
            "c=IN IP6 ::::",
            "m=video 70000 RTP/AVP 96",
            "a=rtpmap:96 VP8/-1",
            "a=ssrc:99999999999 cname:x",
            "a=setup:bogus",
            "a=ice-ufrag:",
            "a=candidate:x 1 udp x 1.2.3.4 x typ x",
        ]
    )
    return st.one_of(
        st.binary(max_size=3_000).map(lambda b: b.decode("latin-1")),
        st.text(max_size=1_000),
        st.integers(0, len(real) - 1).map(lambda n: real[:n]),
        st.lists(st.sampled_from(lines), min_size=1, max_size=60).map(lambda ls: "\r\n".join(ls) + "\r\n"),
        st.integers(200, 3_000).map(lambda n: many_candidates(real, n)),
        st.integers(2, 600).map(lambda n: many_sections(real, n)),
        st.integers(10, 12_000).map(lambda n: huge_fingerprint(real, n)),
        st.text(max_size=300).map(
            lambda junk: real.replace("a=candidate:", "a=candidate:" + junk.replace("\n", ""), 1)
        ),
        odd_lines.map(lambda line: real.replace("a=mid:0", f"{line}\r\na=mid:0", 1)),
    )


# ---- talking to the server --------------------------------------------------------------------------------


def size_of(frame: Frame) -> int:
    return len(frame if isinstance(frame, bytes) else frame.encode())


@contextlib.asynccontextmanager
async def overheard(*members: Member) -> AsyncIterator[list[Message]]:
    """Everything ``members`` receive while the block runs, read as it arrives.

    A socket nobody reads stops reading the wire once its buffer fills, and with it the
    keepalive pongs: over a long fuzz run, a bystander left unread would time out."""
    heard: list[Message] = []

    async def read(member: Member) -> None:
        while True:
            heard.append(await member.recv(3600))

    tasks = [asyncio.create_task(read(m)) for m in members]
    try:
        yield heard
    finally:
        for task in tasks:
            task.cancel()  # websockets' recv() may be cancelled without losing a message
        await asyncio.gather(*tasks, return_exceptions=True)
    for member in members:
        heard.extend(await member.quiet(1.0))


async def exchange(
    member: Member, sent: Sequence[Frame], pace: float = PACE, batch: int = BATCH
) -> tuple[list[list[Message]], list[Message]]:
    """Send each frame followed by a ``ping``, at most ``pace`` frames a second; each frame's direct
    replies (``error``, ``ack``, ``pong``), and every other message (events) that came meanwhile."""
    replies: list[list[Message]] = [[] for _ in sent]
    events: list[Message] = []
    tag = uuid.uuid4().hex[:8]
    loop = asyncio.get_running_loop()
    for start in range(0, len(sent), batch):
        began = loop.time()
        indexes = range(start, min(start + batch, len(sent)))
        for index in indexes:
            await member.socket.send(sent[index])
            await member.send({"type": "ping", "ref": f"{tag}-{index}"})
        index = start
        while index < indexes.stop:
            message = await member.recv()
            if message["type"] == "pong" and message.get("ref") == f"{tag}-{index}":
                index += 1
            elif message["type"] in ("error", "ack", "pong"):
                replies[index].append(message)
            else:
                events.append(message)
        await asyncio.sleep(max(0.0, len(indexes) / pace - (loop.time() - began)))
    return replies, events


def accepted_silently(frame: Frame) -> bool:
    """A valid command without ``ref``: the server applies it and says nothing."""
    try:
        command = decode_client(frame)
    except (msgspec.MsgspecError, RecursionError):
        return False
    return command.ref is None


def judge(frame: Frame, replies: list[Message], errors: set[str] = ERRORS) -> str | None:
    """Why the server's replies to ``frame`` break the protocol, or None when they hold."""
    if len(replies) > 1:
        return f"{len(replies)} replies: {replies}"
    if not replies:
        return None if accepted_silently(frame) else "no reply to a refused frame"
    reply = replies[0]
    if reply["type"] == "error" and reply.get("code") not in errors:
        return f"undocumented error code {reply.get('code')!r}: {reply.get('message')}"
    return None


def verdicts(
    tally: Tally, sent: Sequence[Frame], replies: list[list[Message]], errors: set[str] = ERRORS
) -> None:
    """Count each frame as tried and, if the server's replies to it hold, held; fail on any that didn't."""
    broken = []
    for frame, answer in zip(sent, replies, strict=True):
        why = judge(frame, answer, errors)
        if why is not None:
            shown = frame[:160] if isinstance(frame, str) else repr(frame[:120])
            broken.append(f"{why} ← {shown!r}")
    tally.tried(len(sent))
    tally.held(len(sent) - len(broken))
    assert not broken, "\n".join(broken[:20])


def accepted(sent: Sequence[Frame], replies: list[list[Message]]) -> list[Message]:
    """The commands the server applied (acknowledged, or valid without ``ref``)."""
    applied = [
        json.loads(f) for f, r in zip(sent, replies, strict=True) if (r and r[0]["type"] == "ack") or not r
    ]
    return [m for m in applied if isinstance(m, dict)]


async def healthy(tenant: TenantClient, room: str) -> None:
    """The server answers its health check and lets a fresh participant in."""
    async with httpx.AsyncClient(base_url=tenant.base_url, timeout=10) as http:
        assert (await http.get("/healthz")).status_code == 200
    fresh = await tenant.join(room, f"fresh-{uuid.uuid4().hex[:6]}")
    assert (await fresh.request({"type": "ping"}))["type"] == "pong"
    await fresh.leave()


async def real_offer() -> str:
    """An aiortc offer as a browser sends it to the MCU: audio and video, ICE gathered."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    pc.addTransceiver("audio", direction="sendrecv")
    pc.addTransceiver("video", direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    assert pc.localDescription is not None
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp
