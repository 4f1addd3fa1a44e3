"""MCU failover across media nodes: SIGKILL the node a room is placed on, time until video is back.

Starts a private redis-server, a PostgreSQL database (the machine's server), two
``podium media --advertise`` nodes and one ``podium serve`` with ``PODIUM_MEDIA_URL=registry``.
N synthetic participants (tests/support/synthetic.py) join an MCU room; once each sees
everyone on the composite, the room's media node is killed and a fresh one started in its
place (so the next round has a node to fail over to again). The figure is the time from the
kill until every participant's composite shows everyone again, with frames flowing.

    .venv/bin/python bench/failover.py                        # production defaults: 2 s beat, 6 s TTL
    .venv/bin/python bench/failover.py --heartbeat 0.5 --ttl 2 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

# bench/ is a folder of scripts run by path, which puts bench/ itself, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from redis.asyncio import Redis

from tests.support.analysis import PALETTE, colours_present
from tests.support.client import TenantClient
from tests.support.cluster import MediaNodeProcess, RedisServer
from tests.support.server import Deployment, Node
from tests.support.services import create_database, drop_database
from tests.support.synthetic import SyntheticParticipant

NAMES = list(PALETTE)


async def _placed_url(redis_url: str, prefix: str) -> str:
    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:media:room:*")]
        assert len(keys) == 1, keys
        value = await redis.get(keys[0])
        assert value is not None
        return str(value.decode())
    finally:
        await redis.aclose()


def _sees_everyone(person: SyntheticParticipant, names: set[str]) -> bool:
    frame = person.latest_frame
    return frame is not None and colours_present(frame, {n: PALETTE[n] for n in names}) == names


async def _round(
    client: TenantClient, deployment: Deployment, media: list[MediaNodeProcess], n: int
) -> float:
    room = (await client.room(media_mode="mcu"))["slug"]
    people = [
        await SyntheticParticipant.join(client, room, NAMES[i], PALETTE[NAMES[i]], 440.0 + 55 * i, loud=False)
        for i in range(n)
    ]
    everyone = set(NAMES[:n])
    try:
        await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
        while not all(_sees_everyone(p, everyone) for p in people):  # noqa: ASYNC110 (polling frames)
            await asyncio.sleep(0.1)
        url = await _placed_url(deployment.redis_url, deployment.prefix)
        dying = next(m for m in media if m.url == url)
        before = {p.identity: p.mcu_connections for p in people}
        started = time.monotonic()
        dying.kill()
        while not all(p.mcu_connections > before[p.identity] and _sees_everyone(p, everyone) for p in people):
            if time.monotonic() - started > 60:
                raise RuntimeError("no recovery within 60 s")
            await asyncio.sleep(0.05)
        took = time.monotonic() - started
        media.remove(dying)
        media.append(MediaNodeProcess(deployment))
        return took
    finally:
        await asyncio.gather(*(p.leave() for p in people), return_exceptions=True)
        redis = Redis.from_url(deployment.redis_url)
        await redis.delete(*[k async for k in redis.scan_iter(match=f"{deployment.prefix}:media:room:*")])
        await redis.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--participants", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--heartbeat", type=float, default=2.0)
    parser.add_argument("--ttl", type=float, default=6.0)
    args = parser.parse_args()
    redis = RedisServer()
    deployment = Deployment(
        database_url=await create_database(),
        redis_url=redis.url,
        extra={
            "PODIUM_MEDIA_URL": "registry",
            "PODIUM_MEDIA_HEARTBEAT": str(args.heartbeat),
            "PODIUM_MEDIA_NODE_TTL": str(args.ttl),
        },
    )
    media: list[MediaNodeProcess] = []
    web: Node | None = None
    try:
        deployment.cli("migrate")
        issued = deployment.create_tenant("Bench")
        media = [MediaNodeProcess(deployment), MediaNodeProcess(deployment)]
        web = Node(deployment)
        client = TenantClient(web.url, web.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
        await asyncio.sleep(args.heartbeat * 2)  # both nodes registered
        figures = []
        for index in range(args.repeat):
            took = await _round(client, deployment, media, args.participants)
            figures.append(took)
            print(
                f"round {index + 1}: composite back for all {args.participants} after {took:.2f} s",
                flush=True,
            )
            await asyncio.sleep(args.heartbeat * 2)  # the replacement node registered
        await client.close()
        print(
            f"heartbeat {args.heartbeat} s, ttl {args.ttl} s, {args.participants} participants: "
            f"median {statistics.median(figures):.2f} s, min {min(figures):.2f} s, max {max(figures):.2f} s"
        )
    finally:
        if web is not None:
            web.stop()
        for node in media:
            node.kill()
        redis.stop()
        await drop_database(deployment.database_url)


if __name__ == "__main__":
    asyncio.run(main())
