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
        self.arrived = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        (number,) = struct.unpack_from("!I", data, 12)
        self.back[number] = time.monotonic()
        self.arrived.set()


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
    """Send ``count`` datagrams through ``link`` to the echo; when each left, when each came back.

    Paced on a deadline (a late loop catches up, as a real sender's frames queue up), then
    waits until nothing has come back for 0.6 s: a busy machine delays, it does not lose."""
    loop = asyncio.get_running_loop()
    client = _Client()
    transport, _ = await loop.create_datagram_endpoint(lambda: client, remote_addr=("127.0.0.1", link.port))
    sent: dict[int, float] = {}
    start = time.monotonic()
    for number in range(count):
        sent[number] = time.monotonic()
        transport.sendto(_datagram(number, payload_type, size))
        await asyncio.sleep(max(0.0, start + (number + 1) * every_s - time.monotonic()))
    while True:
        client.arrived.clear()
        try:
            await asyncio.wait_for(client.arrived.wait(), 0.6)
        except TimeoutError:
            break
    transport.close()
    return sent, client.back


async def _beside_a_clean_link(
    emulator: Netem, link: NetemLink, echo: tuple[str, int], count: int, every_s: float, size: int = 200
) -> tuple[tuple[dict[int, float], dict[int, float]], float]:
    """``_send`` through ``link`` and, at the same moments, through an unimpaired link; with the
    longest round trip the clean one took: what this machine's scheduling alone added."""
    clean = await emulator.link(f"{link.name}-clean", Profile(name="clean"), upstream=echo)
    impaired, (clean_sent, clean_back) = await asyncio.gather(
        _send(link, count, every_s, size=size), _send(clean, count, every_s, size=size)
    )
    assert len(clean_back) == count
    return impaired, max(clean_back[n] - clean_sent[n] for n in clean_back)


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
    (sent, back), slack = await _beside_a_clean_link(emulator, link, echo, 100, 0.005)
    rtts = [back[n] - sent[n] for n in back]
    assert len(rtts) == 100  # delay loses nothing
    # Never sooner than 150 ms less 15 ms of jitter each way; no later than 150 ms plus 15 each
    # way plus what the machine added to the clean link beside it (an idle one: a few ms).
    assert min(rtts) >= 0.270, f"{min(rtts) * 1000:.0f} ms"
    assert max(rtts) <= 0.330 + slack + 0.01, f"{max(rtts) * 1000:.0f} ms with {slack * 1000:.0f} ms of slack"
    assert 0.290 <= statistics.median(rtts) <= 0.310 + slack, f"{statistics.median(rtts) * 1000:.0f} ms"
    assert sorted(back, key=back.__getitem__) != sorted(back)  # jitter lets packets overtake


async def test_a_rate_cap_queues_then_drops_what_does_not_fit(net: tuple[Netem, tuple[str, int]]) -> None:
    emulator, echo = net
    capped = Profile(name="cap", up=Impairment(rate_bps=400_000, queue_ms=100))
    link = await emulator.link("carol", capped, upstream=echo)
    # 1,228-byte datagrams (with UDP/IP headers) every 10 ms: ~1 Mbit/s into a 400 kbit/s link.
    (sent, back), slack = await _beside_a_clean_link(emulator, link, echo, 200, 0.01, size=1200)
    arrivals = sorted(back.values())
    bits, span = (len(arrivals) - 1) * 1228 * 8, arrivals[-1] - arrivals[0]
    # The cap's rate, within what the machine's own lateness (the clean link's) can stretch or
    # squeeze the span between the first arrival and the last.
    assert bits / (span + slack) <= 420_000 and bits / max(span - slack, 0.1) >= 340_000, (
        f"{bits / span:.0f} bit/s over {span:.2f} s, {slack * 1000:.0f} ms of slack"
    )
    stats = await emulator.stats("carol")
    assert stats.up.queue_dropped >= 80 and stats.up.lost == 0
    # Nothing waits much longer than the queue holds (100 ms, plus its own 25 ms on the wire and
    # the machine's lateness); unbounded, the last datagrams would wait over a second.
    assert max(back[n] - sent[n] for n in back) <= 0.125 + slack + 0.05


async def test_an_outage_cuts_both_ways_then_the_link_comes_back(net: tuple[Netem, tuple[str, int]]) -> None:
    emulator, echo = net
    link = await emulator.link("dave", PROFILES["burst"], upstream=echo)
    task = asyncio.create_task(_send(link, 150, 0.02))  # 3 s of datagrams
    await asyncio.sleep(0.5)
    asked = time.monotonic()
    await emulator.outage("dave")
    cut = time.monotonic()  # the 2 s began between ``asked`` and now
    sent, back = await task
    lost = {n for n in sent if n not in back}
    # What was sent inside the 2 s was lost, both ways, and nothing outside them (give or take
    # half a second: the relay may handle a datagram late on a busy machine).
    inside = {n for n in sent if cut + 0.05 <= sent[n] <= asked + 1.5}
    assert len(inside) >= 50 and inside <= lost, sorted(inside - lost)
    assert all(asked - 0.5 <= sent[n] <= cut + 2.5 for n in lost), sorted(lost)
    assert max(back) == 149
    stats = await emulator.stats("dave")
    assert stats.up.outage_dropped >= len(inside), stats  # cut on the way up (nothing came back to cut)


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
