"""The impairment harness (tests/support/network.py, netem.py) does to datagrams what its
profiles say: the network figures and tests of issue 15 stand on it."""

from __future__ import annotations

import asyncio
import statistics
import struct
import time
from collections.abc import AsyncIterator

import pytest

from tests.support.network import PROFILES, Impairment, Netem, NetemLink, Profile


class _Echo(asyncio.DatagramProtocol):
    """The far end (where the TURN server would be): sends every datagram straight back."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)  # type: ignore[attr-defined]


class _Client(asyncio.DatagramProtocol):
    """The participant's end: notes when each numbered datagram came back."""

    def __init__(self) -> None:
        self.back: dict[int, float] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        (number,) = struct.unpack_from("!I", data, 12)
        self.back[number] = time.monotonic()


@pytest.fixture
async def net() -> AsyncIterator[tuple[Netem, tuple[str, int]]]:
    loop = asyncio.get_running_loop()
    echo, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    async with Netem.start() as emulator:
        yield emulator, echo.get_extra_info("sockname")
    echo.close()


def _datagram(number: int, payload_type: int = 96, size: int = 200) -> bytes:
    """An RTP-looking datagram (version 2, ``payload_type``) carrying ``number``."""
    return (
        struct.pack("!BBHII", 0x80, payload_type, number & 0xFFFF, 0, 0)
        + struct.pack("!I", number)
        + bytes(size)
    )


async def _send(
    link: NetemLink, count: int, every_s: float, payload_type: int = 96, size: int = 200
) -> tuple[dict[int, float], dict[int, float]]:
    """Send ``count`` datagrams through ``link`` to the echo; when each left, when each came back."""
    loop = asyncio.get_running_loop()
    client = _Client()
    transport, _ = await loop.create_datagram_endpoint(lambda: client, remote_addr=("127.0.0.1", link.port))
    sent: dict[int, float] = {}
    for number in range(count):
        sent[number] = time.monotonic()
        transport.sendto(_datagram(number, payload_type, size))
        await asyncio.sleep(every_s)
    await asyncio.sleep(0.6)
    transport.close()
    return sent, client.back


async def test_loss_drops_its_share_each_way(net: tuple[Netem, tuple[str, int]]) -> None:
    emulator, echo = net
    link = await emulator.link("alice", PROFILES["loss10"], upstream=echo)
    sent, back = await _send(link, 1000, 0.001)
    stats = await emulator.stats("alice")
    # Each way loses ~10 % (binomial: 1000 packets, 5 standard deviations either side).
    assert 50 <= stats.up.lost <= 150, stats
    assert 40 <= stats.down.lost <= 140, stats
    assert len(back) == stats.down.sent
    assert 0.74 <= len(back) / len(sent) <= 0.88


async def test_delay_and_jitter_stretch_the_round_trip(net: tuple[Netem, tuple[str, int]]) -> None:
    emulator, echo = net
    link = await emulator.link("bob", PROFILES["rtt300"], upstream=echo)
    sent, back = await _send(link, 100, 0.005)
    rtts = [1000 * (back[n] - sent[n]) for n in back]
    assert len(rtts) == 100  # delay loses nothing
    assert 290 <= statistics.median(rtts) <= 330
    assert min(rtts) >= 270 and max(rtts) <= 360  # 150 ± 15 ms each way, plus scheduling
    assert sorted(back, key=back.__getitem__) != sorted(back)  # jitter lets packets overtake


async def test_a_rate_cap_queues_then_drops_what_does_not_fit(net: tuple[Netem, tuple[str, int]]) -> None:
    emulator, echo = net
    capped = Profile(name="cap", up=Impairment(rate_bps=400_000, queue_ms=100))
    link = await emulator.link("carol", capped, upstream=echo)
    # 1,228-byte datagrams (with UDP/IP headers) every 10 ms: ~1 Mbit/s into a 400 kbit/s link.
    sent, back = await _send(link, 200, 0.01, size=1200)
    arrivals = sorted(back.values())
    carried = (len(arrivals) - 1) * 1228 * 8 / (arrivals[-1] - arrivals[0])
    assert 340_000 <= carried <= 420_000
    stats = await emulator.stats("carol")
    assert stats.up.queue_dropped >= 80 and stats.up.lost == 0
    # Nothing waits much longer than the queue holds (100 ms, plus its own 25 ms on the wire and
    # a busy machine); unbounded, the last datagrams would wait over a second.
    assert max(back[n] - sent[n] for n in back) <= 0.25


async def test_an_outage_cuts_both_ways_then_the_link_comes_back(net: tuple[Netem, tuple[str, int]]) -> None:
    emulator, echo = net
    link = await emulator.link("dave", PROFILES["burst"], upstream=echo)
    task = asyncio.create_task(_send(link, 150, 0.02))  # 3 s of datagrams
    await asyncio.sleep(0.5)
    cut_at = time.monotonic()
    await emulator.outage("dave")
    sent, back = await task
    lost = [n for n in sent if n not in back]
    assert lost, "the outage dropped nothing"
    # What was lost was sent in the 2 s of the outage, and everything after it came back.
    assert all(cut_at - 0.05 <= sent[n] <= cut_at + 2.05 for n in lost)
    assert 80 <= len(lost) <= 105
    assert max(back) == 149


async def test_spared_payload_types_pass_a_video_only_outage(net: tuple[Netem, tuple[str, int]]) -> None:
    emulator, echo = net
    audio_only = Impairment(spare_payload_types=(111,))
    profile = Profile(name="video-outage", up=audio_only, down=audio_only, outage_s=2.0)
    link = await emulator.link("erin", profile, upstream=echo)
    await emulator.outage("erin")
    _, audio_back = await _send(link, 20, 0.01, payload_type=111)
    _, video_back = await _send(link, 20, 0.01, payload_type=96)
    assert len(audio_back) == 20 and not video_back
    assert (await emulator.stats("erin")).up.outage_dropped == 20
