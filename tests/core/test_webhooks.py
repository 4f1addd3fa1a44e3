"""Signed webhooks against a real local HTTP receiver, on both backends."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.core.webhooks import WebhookVerificationError, verify
from tests.conftest import BACKENDS, dispose, make_deployment
from tests.support.client import Member, TenantClient
from tests.support.server import Deployment, Node
from tests.support.webhooks import Delivery, Receiver

#: The Node.js verification helper the docs point to.
HELPER = Path(__file__).resolve().parents[2] / "core" / "static" / "embed" / "verify-webhook.mjs"
#: Retries every ~0.2 s so a whole schedule runs in about a second.
FAST = {
    "PODIUM_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2,0.2,0.2",
    "PODIUM_WEBHOOK_SWEEP_INTERVAL": "0.5",
    "PODIUM_WEBHOOK_TIMEOUT": "2",
    "PODIUM_WEBHOOK_LEASE": "3",
}


@pytest.fixture(scope="module", params=BACKENDS)
def hooks(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    dep = make_deployment(request.param, **FAST)
    dep.cli("migrate")
    yield dep
    dispose(dep)


@pytest.fixture(scope="module")
def hooks_node(hooks: Deployment) -> Iterator[Node]:
    server = Node(hooks)
    yield server
    server.stop()


async def new_tenant(dep: Deployment, node: Node, development: bool = True) -> TenantClient:
    issued = dep.create_tenant(f"Hooks {uuid.uuid4().hex[:8]}")
    client = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    if development:
        response = await client.http.patch("/tenant", json={"webhook_development": True})
        assert response.json()["webhook_development"] is True
    return client


@pytest.fixture
async def tenant(hooks: Deployment, hooks_node: Node) -> AsyncIterator[TenantClient]:
    client = await new_tenant(hooks, hooks_node)
    yield client
    await client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


async def add_endpoint(client: TenantClient, url: str, **body: Any) -> tuple[str, str]:
    response = await client.http.post("/webhooks/endpoints", json={"url": url, **body})
    assert response.status_code == 201, response.text
    created = response.json()
    return created["endpoint"]["id"], created["secret"]


async def message(client: TenantClient, msg_id: str) -> dict[str, Any]:
    response = await client.http.get(f"/webhooks/messages/{msg_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def settled(client: TenantClient, msg_id: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = await message(client, msg_id)
        if found["status"] != "pending" or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_room_events_arrive_signed_and_verify(tenant: TenantClient, receiver: Receiver) -> None:
    _, secret = await add_endpoint(tenant, receiver.url)
    room = await tenant.room()
    host = await tenant.join(room["slug"], "ada", "host")
    guest = await tenant.join(room["slug"], "max")
    await host.request({"type": "participant.set_role", "participant_id": guest.id, "role": "moderator"})
    await guest.leave()
    await host.next("participant.left")
    await host.leave()

    ended = (await receiver.wait(1, "room.ended"))[0]
    for kind, count in (("participant.joined", 2), ("participant.left", 2), ("participant.role_changed", 1)):
        await receiver.wait(count, kind)
    # Deliveries run in parallel: order is not guaranteed (payloads carry their timestamp).
    started = receiver.of_type("room.started")[0].payload
    assert started["data"]["room"] == {"id": room["id"], "slug": room["slug"], "name": "Test room"}
    assert started["data"]["tenant"] == tenant.slug
    assert started["data"]["participant"]["identity"] == "ada"
    joined = sorted(
        d.payload["data"]["participant"]["identity"] for d in receiver.of_type("participant.joined")
    )
    assert joined == ["ada", "max"]
    assert len(receiver.of_type("room.started")) == 1
    changed = receiver.of_type("participant.role_changed")[0].payload["data"]
    assert (changed["participant"]["id"], changed["participant"]["role"]) == (guest.id, "moderator")
    assert (changed["previous_role"], changed["by"]) == ("attendee", "Ada")
    left = {
        d.payload["data"]["participant"]["identity"]: d.payload["data"]["reason"]
        for d in receiver.of_type("participant.left")
    }
    assert left == {"max": "left", "ada": "left"}
    assert ended.payload["data"]["reason"] == "empty"
    assert not receiver.of_type("chat.message"), "chat is opt-in"

    for delivery in receiver.deliveries:
        assert delivery.id.startswith("msg_")
        assert delivery.headers["content-type"] == "application/json"
        verify(secret, delivery.headers, delivery.body)


async def test_breakout_events_tell_where_people_went(tenant: TenantClient, receiver: Receiver) -> None:
    await add_endpoint(tenant, receiver.url)
    room = (await tenant.room())["slug"]
    host = await tenant.join(room, "ada", "host")
    guest = await tenant.join(room, "max")
    await host.request(
        {"type": "breakouts.open", "count": 2, "assignment": "manual", "assignments": {guest.id: 2}}
    )
    move = await guest.next("breakout.move")
    # The host visits breakout 1: nobody is left in the main room, which is not over for that.
    assert (await host.request({"type": "breakout.join", "breakout": 1}))["type"] == "ack"
    await host.next("breakout.move")
    await receiver.wait(2, "participant.left")
    assert (await tenant.http.post(f"/rooms/{room}/breakouts/close")).status_code == 200
    opened = (await receiver.wait(1, "breakout.opened"))[0].payload["data"]
    assert [b["assigned"] for b in opened["breakouts"]["breakouts"]] == [[], ["max"]]
    assert opened["by"] == "Ada" and opened["room"]["slug"] == room
    moved = (await receiver.wait(1, "breakout.moved"))[0].payload["data"]
    assert (moved["participant"]["identity"], moved["to"], moved["breakout"]) == (
        "max",
        move["room"]["slug"],
        2,
    )
    closed = (await receiver.wait(1, "breakout.closed"))[0].payload["data"]
    assert (closed["reason"], closed["by"]) == ("closed", None)
    left = [d.payload["data"] for d in receiver.of_type("participant.left")]
    assert {(d["participant"]["identity"], d["reason"]) for d in left} >= {("max", "moved"), ("ada", "moved")}
    assert not [d for d in receiver.of_type("room.ended") if d.payload["data"]["room"]["slug"] == room]


async def test_changed_body_or_stale_timestamp_fails_verification(
    tenant: TenantClient, receiver: Receiver
) -> None:
    endpoint_id, secret = await add_endpoint(tenant, receiver.url)
    assert (await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")).status_code == 202
    delivery = (await receiver.wait(1))[0]
    verify(secret, delivery.headers, delivery.body)
    with pytest.raises(WebhookVerificationError):
        verify(secret, delivery.headers, delivery.body.replace(b"webhook.test", b"webhook.tesT"))
    with pytest.raises(WebhookVerificationError):
        verify(secret, delivery.headers, delivery.body, now=int(delivery.headers["webhook-timestamp"]) + 600)
    with pytest.raises(WebhookVerificationError):
        verify(secret, {**delivery.headers, "webhook-id": "msg_other"}, delivery.body)
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    with pytest.raises(WebhookVerificationError):
        verify(other, delivery.headers, delivery.body)


async def test_five_failures_then_success_delivers_once_with_a_stable_id(
    tenant: TenantClient, receiver: Receiver
) -> None:
    endpoint_id, secret = await add_endpoint(tenant, receiver.url)
    receiver.script.extend([500, 500, 500, 500, 500])
    sent = (await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")).json()
    found = await settled(tenant, sent["id"])
    assert found["status"] == "delivered"
    assert found["attempts"] == 6
    assert [a["status_code"] for a in found["attempt_log"]] == [500, 500, 500, 500, 500, 200]
    await asyncio.sleep(1)  # nothing more arrives after the success
    assert len(receiver.deliveries) == 6
    assert {d.id for d in receiver.deliveries} == {sent["id"]}
    # Retries back off: every gap is at least the schedule's 0.2 s less its jitter.
    gaps = [b.at - a.at for a, b in zip(receiver.deliveries, receiver.deliveries[1:], strict=False)]
    assert min(gaps) >= 0.15
    for delivery in receiver.deliveries:
        verify(secret, delivery.headers, delivery.body)

    log = (await tenant.http.get(f"/webhooks/endpoints/{endpoint_id}/messages")).json()["messages"]
    assert [(m["id"], m["status"]) for m in log] == [(sent["id"], "delivered")]


async def test_retries_run_out_then_redeliver_sends_the_same_message(
    tenant: TenantClient, receiver: Receiver
) -> None:
    endpoint_id, _ = await add_endpoint(tenant, receiver.url)
    receiver.script.extend([503] * 6)
    sent = (await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")).json()
    found = await settled(tenant, sent["id"])
    assert (found["status"], found["attempts"], found["last_status_code"]) == ("failed", 6, 503)

    again = await tenant.http.post(f"/webhooks/messages/{sent['id']}/redeliver")
    assert again.status_code == 202
    found = await settled(tenant, sent["id"])
    assert found["status"] == "delivered"
    assert len(receiver.deliveries) == 7
    assert receiver.deliveries[-1].id == sent["id"]
    assert receiver.deliveries[-1].body == receiver.deliveries[0].body


async def test_410_disables_the_endpoint(tenant: TenantClient, receiver: Receiver) -> None:
    endpoint_id, _ = await add_endpoint(tenant, receiver.url)
    receiver.script.append(410)
    sent = (await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")).json()
    found = await settled(tenant, sent["id"])
    assert (found["status"], found["attempts"]) == ("failed", 1)
    endpoint = (await tenant.http.get(f"/webhooks/endpoints/{endpoint_id}")).json()
    assert endpoint["enabled"] is False
    assert "410" in endpoint["disabled_reason"]

    room = await tenant.room()
    member = await tenant.join(room["slug"], "ada")
    await member.leave()
    await asyncio.sleep(1)
    assert len(receiver.deliveries) == 1, "a disabled endpoint gets nothing"
    refused = await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")
    assert refused.json()["error"]["code"] == "webhook_endpoint_disabled"

    back = await tenant.http.patch(f"/webhooks/endpoints/{endpoint_id}", json={"enabled": True})
    assert back.json()["enabled"] is True
    assert (await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")).status_code == 202
    await receiver.wait(2)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
    ],
)
async def test_private_addresses_are_refused_without_the_development_flag(
    hooks: Deployment, hooks_node: Node, url: str
) -> None:
    client = await new_tenant(hooks, hooks_node, development=False)
    try:
        response = await client.http.post("/webhooks/endpoints", json={"url": url})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "webhook_url_private"
        assert (await client.http.get("/webhooks/endpoints")).json() == []
        public = await client.http.post("/webhooks/endpoints", json={"url": "https://93.184.215.14/hooks"})
        assert public.status_code == 201
    finally:
        await client.close()


async def test_an_endpoint_turned_private_is_not_delivered_to(
    hooks: Deployment, hooks_node: Node, receiver: Receiver
) -> None:
    client = await new_tenant(hooks, hooks_node)
    try:
        endpoint_id, _ = await add_endpoint(client, receiver.url)
        await client.http.patch("/tenant", json={"webhook_development": False})
        sent = (await client.http.post(f"/webhooks/endpoints/{endpoint_id}/test")).json()
        found = await message(client, sent["id"])
        deadline = time.monotonic() + 10
        while not found["attempt_log"] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            found = await message(client, sent["id"])
        assert found["attempt_log"][0]["error"].startswith("webhook_url_private")
        assert receiver.deliveries == []
    finally:
        await client.close()


async def test_endpoint_input_is_validated(tenant: TenantClient) -> None:
    short = await tenant.http.post(
        "/webhooks/endpoints", json={"url": "https://example.com/h", "secret": "whsec_c2hvcnQ="}
    )
    assert short.json()["error"]["code"] == "invalid_webhook_secret"
    unknown = await tenant.http.post(
        "/webhooks/endpoints", json={"url": "https://example.com/h", "events": ["room.exploded"]}
    )
    assert unknown.json()["error"]["code"] == "unknown_event_type"
    bad = await tenant.http.post("/webhooks/endpoints", json={"url": "ftp://example.com/h"})
    assert bad.json()["error"]["code"] == "invalid_webhook_url"
    types = {t["name"]: t for t in (await tenant.http.get("/webhooks/event-types")).json()}
    assert {"room.started", "participant.left", "recording.ready", "streaming.failed"} <= set(types)
    assert types["chat.message"]["opt_in"] is True


async def test_chat_is_opt_in_and_private_messages_never_leave(
    tenant: TenantClient, receiver: Receiver
) -> None:
    await add_endpoint(tenant, receiver.url, events=["chat.message"])
    everything = Receiver()
    try:
        await add_endpoint(tenant, everything.url)
        room = await tenant.room()
        ada = await tenant.join(room["slug"], "ada", "host")
        max_ = await tenant.join(room["slug"], "max")
        await ada.request({"type": "chat.send", "text": "hello all"})
        await ada.request({"type": "chat.send", "text": "psst", "to": "participant", "recipient": max_.id})
        await max_.request({"type": "chat.send", "text": "to staff", "to": "moderators"})
        got = await receiver.wait(2)
        await asyncio.sleep(0.5)
        texts = sorted(d.payload["data"]["message"]["text"] for d in receiver.deliveries)
        assert texts == ["hello all", "to staff"]
        assert {d.payload["type"] for d in receiver.deliveries} == {"chat.message"}
        assert {d.payload["data"]["message"]["sender_name"] for d in got} == {"Ada", "Max"}
        await everything.wait(2, "participant.joined")
        assert not everything.of_type("chat.message")
    finally:
        everything.close()


async def test_rotated_secret_signs_alongside_the_old_one(tenant: TenantClient, receiver: Receiver) -> None:
    endpoint_id, old = await add_endpoint(tenant, receiver.url)
    rotated = await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/rotate-secret", json={})
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")
    delivery: Delivery = (await receiver.wait(1))[0]
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    verify(old, delivery.headers, delivery.body)
    verify(new, delivery.headers, delivery.body)


async def test_other_tenants_cannot_see_or_redeliver(
    hooks: Deployment, hooks_node: Node, tenant: TenantClient, receiver: Receiver
) -> None:
    endpoint_id, _ = await add_endpoint(tenant, receiver.url)
    sent = (await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")).json()
    await receiver.wait(1)
    other = await new_tenant(hooks, hooks_node)
    try:
        assert (await other.http.get("/webhooks/endpoints")).json() == []
        for response in (
            await other.http.get(f"/webhooks/endpoints/{endpoint_id}"),
            await other.http.get(f"/webhooks/endpoints/{endpoint_id}/messages"),
            await other.http.post(f"/webhooks/endpoints/{endpoint_id}/test"),
        ):
            assert response.json()["error"]["code"] == "webhook_endpoint_not_found"
        for response in (
            await other.http.get(f"/webhooks/messages/{sent['id']}"),
            await other.http.post(f"/webhooks/messages/{sent['id']}/redeliver"),
        ):
            assert response.json()["error"]["code"] == "webhook_message_not_found"
    finally:
        await other.close()
    await asyncio.sleep(0.5)
    assert len(receiver.deliveries) == 1


async def test_the_documented_node_helper_verifies_real_deliveries(
    tenant: TenantClient, receiver: Receiver, tmp_path: Path
) -> None:
    node_js = shutil.which("node")
    assert node_js is not None, "node is missing; scripts/test-services.sh (make test) installs it"
    endpoint_id, secret = await add_endpoint(tenant, receiver.url)
    await tenant.http.post(f"/webhooks/endpoints/{endpoint_id}/test")
    delivery = (await receiver.wait(1))[0]
    script = tmp_path / "check.mjs"
    script.write_text(
        f"import {{ verifyWebhook }} from {json.dumps(str(HELPER))};\n"
        "const [secret, headers, body] = JSON.parse(process.argv[2]);\n"
        "try { const e = verifyWebhook(secret, headers, body); console.log('ok ' + e.type); }\n"
        "catch (err) { console.log('refused: ' + err.message); }\n"
    )

    def check(secret_: str, headers: dict[str, str], body: bytes) -> str:
        args = json.dumps([secret_, headers, body.decode()])
        done = subprocess.run(
            [node_js, str(script), args], capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout.strip()

    assert check(secret, delivery.headers, delivery.body) == "ok webhook.test"
    assert check(secret, delivery.headers, delivery.body + b" ").startswith("refused: no signature")
    stale = {**delivery.headers, "webhook-timestamp": str(int(delivery.headers["webhook-timestamp"]) - 600)}
    assert check(secret, stale, delivery.body).startswith("refused: webhook-timestamp")


# Several nodes share a deployment only on PostgreSQL + Redis.
@pytest.mark.parametrize("hooks", ["postgres-redis"], indirect=True)
async def test_a_participant_swept_from_a_dead_node_leaves_as_disconnected(
    hooks: Deployment, hooks_node: Node, tenant: TenantClient, receiver: Receiver
) -> None:
    assert hooks.redis_url
    await add_endpoint(tenant, receiver.url, events=["participant.left"])
    room = (await tenant.room())["slug"]
    doomed = Node(hooks)
    try:
        staying = await tenant.join(room, "ada", "host")
        max_ = await Member.connect(doomed.ws_url, tenant.slug, room, await tenant.token(room, "max"))
        await max_.next("welcome")
        doomed.stop(signal.SIGKILL)
        # No node refreshes Max any more: after PODIUM_PRESENCE_TIMEOUT a live node sweeps him out.
        left = (await receiver.wait(1, "participant.left", timeout=30))[0].payload["data"]
        assert left["participant"]["identity"] == "max" and left["reason"] == "disconnected"
        assert left["room"]["slug"] == room
        await staying.leave()
    finally:
        doomed.stop()
