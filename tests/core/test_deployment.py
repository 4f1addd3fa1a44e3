"""A scaled-out deployment as real processes: two ``podium serve``, ``podium worker``, two media nodes.

PostgreSQL is the machine's; Redis is a private ``redis-server`` the tests stop and start.
Media nodes register in Redis; MCU rooms are placed on them (``PODIUM_MEDIA_URL=registry``).
"""

from __future__ import annotations

import asyncio
import io
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any

import av
import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import dispose
from tests.support.analysis import PALETTE, colours_present
from tests.support.client import Member, TenantClient
from tests.support.cluster import MediaNodeProcess, RedisServer, WorkerProcess
from tests.support.hls import live_playlist, resumed_segments, segments, wait_stream_state
from tests.support.server import Deployment, Node
from tests.support.services import create_database, require_servers
from tests.support.synthetic import SyntheticParticipant

NAMES = list(PALETTE)
#: Media nodes beat twice a second and are dead after 2 s of silence (production: 2 s and 6 s).
FAST_FAILOVER = {"PODIUM_MEDIA_HEARTBEAT": "0.5", "PODIUM_MEDIA_NODE_TTL": "2"}


class Cluster:
    def __init__(self) -> None:
        require_servers()
        self.redis = RedisServer()
        self.deployment = Deployment(
            database_url=asyncio.run(create_database()),
            redis_url=self.redis.url,
            extra={"PODIUM_MEDIA_URL": "registry", "PODIUM_SERVE_RUNS_JOBS": "false", **FAST_FAILOVER},
        )
        self.deployment.cli("migrate")
        self.issued = self.deployment.create_tenant("Umbrella")
        self.media = [MediaNodeProcess(self.deployment), MediaNodeProcess(self.deployment)]
        self.worker = WorkerProcess(self.deployment)
        self.web = [Node(self.deployment), Node(self.deployment)]

    def client(self, index: int) -> TenantClient:
        node, issued = self.web[index], self.issued
        return TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])

    def close(self) -> None:
        for node in self.web:
            node.stop()
        for media in self.media:
            media.stop(signal.SIGKILL)
        self.worker.stop()
        self.redis.stop()
        dispose(self.deployment)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    built = Cluster()
    yield built
    built.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> float:
    """Poll ``check`` until it holds; the seconds it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"{what}: not within {within}s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def status(url: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        try:
            return (await http.get(url)).status_code
        except httpx.HTTPError:
            return 0


async def placements(cluster: Cluster) -> dict[str, str]:
    """Room key → media node URL, as stored in Redis."""
    redis = Redis.from_url(cluster.redis.url)
    try:
        prefix = f"{cluster.deployment.prefix}:media:room:"
        keys = [k.decode() async for k in redis.scan_iter(match=prefix + "*")]
        values = await redis.mget(keys) if keys else []
        return {k[len(prefix) :]: v.decode() for k, v in zip(keys, values, strict=True) if v is not None}
    finally:
        await redis.aclose()


async def shows_everyone(person: SyntheticParticipant, names: set[str]) -> bool:
    frame = person.latest_frame
    return frame is not None and colours_present(frame, {n: PALETTE[n] for n in names}) == names


async def test_participants_on_different_web_nodes_share_chat_presence_and_moderation(
    cluster: Cluster,
) -> None:
    via_a, via_b = cluster.client(0), cluster.client(1)
    try:
        room = (await via_a.room())["slug"]
        host = await via_a.join(room, "hana", "host")
        ann = await via_b.join(room, "ann")
        assert ann.first is not None
        assert {p["identity"] for p in ann.first["participants"]} == {"hana", "ann"}
        await host.next("participant.joined")
        assert (await ann.request({"type": "chat.send", "text": "from B"}))["type"] == "ack"
        assert (await host.next("chat.message"))["message"]["text"] == "from B"
        await host.request({"type": "participant.kick", "participant_id": ann.id})
        assert await ann.closed() == (4411, "kicked")
        await host.leave()
        # Every role reports: web nodes the deployment (the arq queue included), the worker itself.
        async with httpx.AsyncClient(timeout=5) as http:
            web = (await http.get(cluster.web[1].url + "/metrics")).text
            assert "podium_job_queue_depth 0.0" in web
            worker_url = f"http://127.0.0.1:{cluster.worker.metrics_port}/metrics"

            async def worker_metrics() -> bool:
                try:
                    return "podium_webhook_delivery_failures" in (await http.get(worker_url)).text
                except httpx.HTTPError:
                    return False

            await eventually(worker_metrics, 15, f"podium worker's /metrics; log: {cluster.worker.output()}")
    finally:
        await via_a.close()
        await via_b.close()


async def test_an_mcu_room_and_its_live_stream_move_to_another_media_node_when_its_node_dies(
    cluster: Cluster, people: list[SyntheticParticipant]
) -> None:
    via_a, via_b = cluster.client(0), cluster.client(1)
    web = httpx.AsyncClient(base_url=cluster.web[1].url, timeout=10)
    try:
        room = (await via_a.room(media_mode="mcu"))["slug"]
        for index in range(3):
            tenant = via_a if index % 2 == 0 else via_b
            people.append(
                await SyntheticParticipant.join(
                    tenant, room, NAMES[index], PALETTE[NAMES[index]], 440.0 + index * 110, loud=False
                )
            )
        everyone = set(NAMES[:3])
        await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
        for person in people:
            await eventually(partial(shows_everyone, person, everyone), 30, f"{person.identity} composite")

        placed = await placements(cluster)
        assert len(placed) == 1, placed
        ((key, first_url),) = placed.items()
        dying = next(m for m in cluster.media if m.url == first_url)

        # /metrics on either web node shows the node's load from its heartbeat.
        async def node_metrics_show_the_room() -> bool:
            async with httpx.AsyncClient(timeout=5) as http:
                text = (await http.get(cluster.web[1].url + "/metrics")).text
            values = {
                line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("podium_media_node") and f'node="{first_url}"' in line
            }
            return (
                values.get(f'podium_media_node_participants{{node="{first_url}"}}') == 3
                and values.get(f'podium_media_node_encoders{{node="{first_url}"}}', 0) >= 1
                and values.get(f'podium_media_node_packets_total{{direction="in",node="{first_url}"}}', 0) > 0
            )

        await eventually(node_metrics_show_the_room, 10, "the media node's load in /metrics")
        survivor = next(m for m in cluster.media if m.url != first_url)

        # The room is live over HLS, watched through the other web node.
        hls = await via_a.http.post(f"/rooms/{room}/streams", json={})
        assert hls.status_code == 201, hls.text
        viewer = await via_a.http.post(f"/rooms/{room}/viewer-tokens", json={"identity": "fan"})
        token, watch = viewer.json()["token"], hls.json()["watch_url"]
        listed = segments(await live_playlist(web, watch, token))

        before = {p.identity: p.mcu_connections for p in people}
        started = time.monotonic()
        dying.kill()

        async def everyone_back() -> bool:
            for p in people:
                if p.mcu_connections <= before[p.identity] or not await shows_everyone(p, everyone):
                    return False
            return True

        await eventually(everyone_back, 40, "composite video with everyone after the media node died")
        frames = {p.identity: p.frames_received for p in people}
        for person in people:
            await person.wait_frames(frames[person.identity] + 10, timeout=15)
        recovered = time.monotonic() - started
        print(f"\nMCU failover: composite back for everyone {recovered:.1f}s after SIGKILL")
        assert recovered < 30, f"failover took {recovered:.1f}s"
        assert (await placements(cluster))[key] == survivor.url
        # The stream started again on the survivor: its playlist goes on after a discontinuity.
        resumed = await resumed_segments(web, watch, token)
        assert min(resumed) > max(listed), (listed, resumed)
        await wait_stream_state(via_b, room, hls.json()["id"], "live")
        assert (await via_b.http.post(f"/rooms/{room}/streams/stop")).status_code == 200

        # A fresh node (the survivor is busy) takes the next new room.
        fresh = MediaNodeProcess(cluster.deployment)
        cluster.media.append(fresh)
        metrics_url = cluster.web[1].url + "/metrics"

        async def fresh_registered() -> bool:
            async with httpx.AsyncClient(timeout=5) as http:
                return f'node="{fresh.url}"' in (await http.get(metrics_url)).text

        await eventually(fresh_registered, 20, "the new media node in /metrics")
        other = (await via_b.room(media_mode="mcu"))["slug"]
        people.append(
            await SyntheticParticipant.join(via_b, other, NAMES[4], PALETTE[NAMES[4]], 880.0, loud=False)
        )
        await people[-1].wait_mcu_connected(30)
        new_placements = {k: v for k, v in (await placements(cluster)).items() if k != key}
        assert list(new_placements.values()) == [fresh.url]
    finally:
        await web.aclose()
        await via_a.close()
        await via_b.close()


async def test_a_room_on_a_registered_media_node_is_recorded_and_stopped_from_another_web_node(
    cluster: Cluster, people: list[SyntheticParticipant]
) -> None:
    via_a, via_b = cluster.client(0), cluster.client(1)
    try:
        room = (await via_a.room(media_mode="mcu"))["slug"]
        person = await SyntheticParticipant.join(via_a, room, NAMES[6], PALETTE[NAMES[6]], 550.0)
        people.append(person)
        await person.wait_mcu_connected(30)
        started = await via_a.http.post(f"/rooms/{room}/recordings")
        assert started.status_code == 201, started.text
        await asyncio.sleep(4)
        stopped = await via_b.http.post(f"/rooms/{room}/recordings/stop")
        assert stopped.status_code == 200, stopped.text

        async def ready() -> bool:
            body = (await via_b.http.get(f"/recordings/{started.json()['id']}")).json()
            assert body["state"] != "failed", body
            return bool(body["state"] == "ready")

        await eventually(ready, 60, f"the recording ready; worker log: {cluster.worker.output()}")
        download = await via_b.http.get(f"/recordings/{started.json()['id']}/download")
        with av.open(io.BytesIO(download.content), mode="r") as container:
            frames = list(container.decode(video=0))
        assert len(frames) > 20
        assert colours_present(frames[-1], {NAMES[6]: PALETTE[NAMES[6]]}) == {NAMES[6]}
    finally:
        await via_a.close()
        await via_b.close()


async def test_redis_restart_during_a_live_room(cluster: Cluster, people: list[SyntheticParticipant]) -> None:
    via_a, via_b = cluster.client(0), cluster.client(1)
    try:
        room = (await via_a.room(media_mode="mcu"))["slug"]
        host = await via_a.join(room, "hana", "host")
        ann = await via_b.join(room, "ann")
        person = await SyntheticParticipant.join(via_a, room, NAMES[5], PALETTE[NAMES[5]], 660.0, loud=False)
        people.append(person)
        await person.wait_mcu_connected(30)
        for node in cluster.web:
            assert await status(node.url + "/readyz") == 200

        cluster.redis.stop()
        for node in cluster.web:
            await eventually(
                partial(_status_is, node.url + "/readyz", 503), 10, "readyz 503 while Redis is down"
            )
            assert await status(node.url + "/healthz") == 200
        # Live media does not touch Redis: the composite keeps coming.
        frames = person.frames_received
        await person.wait_frames(frames + 15, timeout=10)
        # A chat message that cannot be fanned out is not acknowledged.
        refused = await ann.request({"type": "chat.send", "text": "during the outage"})
        assert refused["type"] == "error"

        cluster.redis.start()
        for node in cluster.web:
            await eventually(partial(_status_is, node.url + "/readyz", 200), 20, "readyz 200 again")

        # Fan-out between the web nodes works again, without restarting anything.
        async def chat_crosses_nodes() -> bool:
            reply = await ann.request({"type": "chat.send", "text": "after the outage"})
            return bool(reply["type"] == "ack")

        await eventually(chat_crosses_nodes, 15, "chat acknowledged after Redis came back")
        await _until_text(host, "after the outage")
        # Media nodes registered again. Redis came back empty, placements included: someone
        # joining now through the other web node lands on the node that holds the room.
        await eventually(lambda: _has_nodes(cluster), 10, "media nodes registered again")
        frames = person.frames_received
        await person.wait_frames(frames + 10, timeout=10)
        late = await SyntheticParticipant.join(via_b, room, NAMES[1], PALETTE[NAMES[1]], 770.0, loud=False)
        people.append(late)
        await late.wait_mcu_connected(30)
        both = {NAMES[5], NAMES[1]}
        for each in (person, late):
            await eventually(partial(shows_everyone, each, both), 20, f"{each.identity} sees both")
        await host.leave()
        await ann.leave()
    finally:
        await via_a.close()
        await via_b.close()


async def test_a_draining_media_node_takes_no_new_rooms_and_exits_when_its_rooms_end(
    cluster: Cluster, people: list[SyntheticParticipant]
) -> None:
    via_a = cluster.client(0)
    try:
        first = (await via_a.room(media_mode="mcu"))["slug"]
        people.append(await SyntheticParticipant.join(via_a, first, NAMES[6], PALETTE[NAMES[6]], 550.0))
        await people[-1].wait_mcu_connected(30)
        placed = await placements(cluster)
        (url,) = {v for k, v in placed.items() if k.endswith(":" + str(await _room_id(cluster, first)))}
        draining = next(m for m in cluster.media if m.url == url)
        draining.process.send_signal(signal.SIGTERM)

        async def marked_draining() -> bool:
            async with httpx.AsyncClient(timeout=5) as http:
                text = (await http.get(cluster.web[0].url + "/metrics")).text
            return f'podium_media_node_draining{{node="{url}"}} 1.0' in text

        await eventually(marked_draining, 10, "the node reported as draining")
        second = (await via_a.room(media_mode="mcu"))["slug"]
        people.append(await SyntheticParticipant.join(via_a, second, NAMES[7], PALETTE[NAMES[7]], 990.0))
        await people[-1].wait_mcu_connected(30)
        second_key = f"{cluster.deployment.prefix}:{await _room_id(cluster, second)}"
        assert (await placements(cluster))[second_key] != url
        # Its room is still served; when the last participant leaves, the node exits on its own.
        assert draining.process.poll() is None
        frames = people[0].frames_received
        await people[0].wait_frames(frames + 10, timeout=10)
        await people.pop(0).leave()
        await eventually(partial(_exited, draining), 15, "the drained media node exiting")
        assert draining.process.returncode == 0, draining.output()[-2000:]
    finally:
        await via_a.close()


async def _exited(media: MediaNodeProcess) -> bool:
    return media.process.poll() is not None


async def _room_id(cluster: Cluster, slug: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(
            f"{cluster.web[0].url}/api/v1/rooms/{slug}",
            headers={"Authorization": f"Bearer {cluster.issued['secret']}"},
        )
    return int(response.json()["id"])


async def test_sigterm_on_a_web_node_sends_its_participants_to_the_other(cluster: Cluster) -> None:
    via_a, via_b = cluster.client(0), cluster.client(1)
    try:
        room = (await via_a.room())["slug"]
        host = await via_a.join(room, "hana", "host")
        tokens = [await via_b.token(room, name) for name in ("bob", "cy")]
        members = [await Member.connect(cluster.web[1].ws_url, via_b.slug, room, t) for t in tokens]
        for member in members:
            await member.next("welcome")

        started = time.monotonic()
        cluster.web[1].process.send_signal(signal.SIGTERM)
        for member in members:
            assert await member.closed() == (1012, "reconnect")
        # What the web client does on 1012: reconnect at once with the same token (here the
        # load balancer's choice is the remaining node).
        moved = [await Member.connect(cluster.web[0].ws_url, via_a.slug, room, t) for t in tokens]
        for member in moved:
            welcome = await member.next("welcome")
            assert {p["identity"] for p in welcome["participants"]} >= {"hana", welcome["you"]["identity"]}
        back = {(await host.next("participant.joined"))["participant"]["identity"] for _ in range(2)}
        assert back == {"bob", "cy"}
        took = time.monotonic() - started
        assert took < 15, f"moving took {took:.1f}s"
        assert cluster.web[1].process.wait(timeout=15) is not None
        await host.request({"type": "chat.send", "text": "still here"})
        for member in moved:
            await _until_text(member, "still here")
    finally:
        await via_a.close()
        await via_b.close()


async def _status_is(url: str, expected: int) -> bool:
    return await status(url) == expected


async def _has_nodes(cluster: Cluster) -> bool:
    redis = Redis.from_url(cluster.redis.url)
    try:
        live = [k async for k in redis.scan_iter(match=f"{cluster.deployment.prefix}:media:node:*")]
        return len(live) >= 2
    finally:
        await redis.aclose()


async def _until_text(member: Member, text: str) -> dict[str, Any]:
    while True:
        message = await member.next("chat.message", timeout=10)
        if message["message"]["text"] == text:
            return message
