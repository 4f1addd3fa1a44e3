"""Webinars over the wire: who is on stage, who may put people there, raised hands in order,
the REST API and the webhook (media: tests/media/test_webinar_media.py; the web client:
tests/browser/test_webinar_ui.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from podium.core.auth.permissions import Role
from podium.core.errors import PodiumError
from podium.core.realtime.protocol import ParticipantInfo
from podium.core.rooms import RoomInfo
from podium.core.settings import Settings, SettingsError
from podium.core.webinar import Stage
from tests.support.client import Member, TenantClient
from tests.support.server import Deployment, Node
from tests.support.webhooks import Receiver

STAGE = "participant.stage"


def _stage(who: Member, on: bool = True) -> dict[str, Any]:
    return {"type": STAGE, "participant_id": who.id, "on_stage": on}


async def _updated(member: Member, who: Member, **want: Any) -> dict[str, Any]:
    """The next ``participant.updated`` about ``who`` whose fields match ``want``."""
    for _ in range(10):
        got = (await member.next("participant.updated"))["participant"]
        if got["id"] == who.id and all(got[k] == v for k, v in want.items()):
            return dict(got)
    raise AssertionError(f"no participant.updated for {who.id} with {want}")


@pytest.fixture
async def dev_tenant(deployment: Deployment, node: Node) -> AsyncIterator[TenantClient]:
    """A tenant of its own whose webhooks may go to a receiver on loopback."""
    issued = deployment.create_tenant(f"Webinar {uuid.uuid4().hex[:8]}")
    client = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    assert (await client.http.patch("/tenant", json={"webhook_development": True})).status_code == 200
    yield client
    await client.close()


async def test_staff_join_on_stage_attendees_off_and_media_is_the_mcu(acme: TenantClient) -> None:
    room = await acme.room(webinar=True, media_mode="p2p")
    assert room["webinar"] is True
    host = await acme.join(room["slug"], "hana", "host")
    mod = await acme.join(room["slug"], "mo", "moderator")
    ann = await acme.join(room["slug"], "ann")
    assert host.first is not None and mod.first is not None and ann.first is not None
    assert host.first["you"]["on_stage"] and mod.first["you"]["on_stage"]
    assert ann.first["you"]["on_stage"] is False and ann.first["you"]["viewer"] is False
    # A webinar's media is the MCU whatever media_mode says: one composite for the audience.
    assert {m.first["media_mode"] for m in (host, mod, ann) if m.first} == {"mcu"}
    assert ann.first["watch"] is None
    listed = {
        p["identity"]: p["on_stage"]
        for p in (await acme.http.get(f"/rooms/{room['slug']}/participants")).json()
    }
    assert listed == {"hana": True, "mo": True, "ann": False}

    # Outside webinars nothing changes: everyone is on stage.
    plain = (await acme.room())["slug"]
    bob = await acme.join(plain, "bob")
    assert bob.first is not None and bob.first["you"]["on_stage"] is True
    assert (await bob.request({"type": "participant.lower_hand", "participant_id": bob.id}))["type"] == "ack"
    hana = await acme.join(plain, "hana2", "host")
    refused = await hana.request(_stage(bob, False))
    assert refused["code"] == "not_webinar"

    # The setting is changed like any other.
    patched = await acme.http.patch(f"/rooms/{plain}", json={"webinar": True})
    assert patched.json()["webinar"] is True


async def test_only_hosts_and_moderators_move_people_on_and_off_stage(acme: TenantClient) -> None:
    room = (await acme.room(webinar=True))["slug"]
    host = await acme.join(room, "hana", "host")
    mod = await acme.join(room, "mo", "moderator")
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")
    assert ann.first is not None and "participant.stage" not in ann.first["permissions"]
    assert host.first is not None and {"participant.stage", "participant.lower_hand"} <= set(
        host.first["permissions"]
    )

    # An attendee cannot put themselves (or anyone) on stage; nothing changes.
    assert (await ann.request(_stage(ann)))["code"] == "forbidden"
    assert (await ann.request(_stage(bob)))["code"] == "forbidden"
    assert (await mod.request(_stage(host, False)))["code"] == "forbidden"  # rank rules
    assert (await host.request(_stage(host, False)))["code"] == "invalid_target"
    unknown = {"type": STAGE, "participant_id": str(uuid.uuid4()), "on_stage": True}
    assert (await host.request(unknown))["code"] == "participant_not_found"
    assert (await host.request({"type": STAGE, "participant_id": ann.id}))["code"] == "invalid_message"
    assert all(m["type"] != "participant.updated" for m in await bob.quiet(0.3))

    assert (await mod.request(_stage(ann)))["type"] == "ack"
    for member in (host, ann, bob):
        assert (await _updated(member, ann, on_stage=True))["role"] == "attendee"
    assert (await mod.request(_stage(ann)))["type"] == "ack"  # twice: no second event
    assert all(m["type"] != "participant.updated" for m in await bob.quiet(0.3))
    assert (await host.request(_stage(ann, False)))["type"] == "ack"
    await _updated(bob, ann, on_stage=False)


async def test_raised_hands_queue_in_order_and_going_on_stage_lowers_one(acme: TenantClient) -> None:
    room = (await acme.room(webinar=True))["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")
    cat = await acme.join(room, "cat")
    for who in (bob, ann, cat, bob):  # bob again: still first
        assert (await who.request({"type": "self.update", "hand_raised": True}))["type"] == "ack"
    queue = (await acme.http.get(f"/rooms/{room}/hands")).json()
    assert [p["identity"] for p in queue] == ["bob", "ann", "cat"]
    assert all(p["hand_raised_at"] for p in queue)

    # Attendees lower only their own hand; staff lower anyone's.
    lower = {"type": "participant.lower_hand", "participant_id": cat.id}
    assert (await ann.request(lower))["code"] == "forbidden"
    assert (await cat.request(lower))["type"] == "ack"
    assert (await host.request({"type": "participant.lower_hand", "participant_id": ann.id}))["type"] == "ack"
    await _updated(bob, ann, hand_raised_at=None)
    # Called on stage: the hand goes down with it.
    assert (await host.request(_stage(bob)))["type"] == "ack"
    got = await _updated(ann, bob, on_stage=True)
    assert got["hand_raised_at"] is None
    assert (await acme.http.get(f"/rooms/{room}/hands")).json() == []


async def test_the_tenant_moves_people_through_rest_and_hears_of_it(dev_tenant: TenantClient) -> None:
    receiver = Receiver()
    try:
        endpoint = await dev_tenant.http.post("/webhooks/endpoints", json={"url": receiver.url})
        assert endpoint.status_code == 201, endpoint.text
        room = (await dev_tenant.room(webinar=True))["slug"]
        host = await dev_tenant.join(room, "hana", "host")
        ann = await dev_tenant.join(room, "ann")
        await ann.request({"type": "self.update", "hand_raised": True})
        path = f"/rooms/{room}/participants/{ann.id}"
        put_on = await dev_tenant.http.post(f"{path}/stage", json={"on_stage": True})
        assert put_on.status_code == 200, put_on.text
        assert (put_on.json()["on_stage"], put_on.json()["hand_raised_at"]) == (True, None)
        await _updated(host, ann, on_stage=True)
        bad = await dev_tenant.http.post(f"{path}/stage", json={"on_stage": "yes"})
        assert bad.status_code == 400
        await ann.request({"type": "self.update", "hand_raised": True})
        assert (await dev_tenant.http.delete(f"{path}/hand")).status_code == 204
        await _updated(host, ann, hand_raised_at=None)
        missing = await dev_tenant.http.post(
            f"/rooms/{room}/participants/{uuid.uuid4()}/stage", json={"on_stage": True}
        )
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "participant_not_found"
        assert (await dev_tenant.http.post(f"{path}/stage", json={"on_stage": False})).status_code == 200

        changes = await receiver.wait(2, "participant.stage_changed")
        seen = sorted((d.payload["data"]["on_stage"], d.payload["data"]["by"]) for d in changes)
        assert seen == [(False, None), (True, None)]
        assert {d.payload["data"]["participant"]["identity"] for d in changes} == {"ann"}
    finally:
        receiver.close()


async def test_a_speaker_whose_connection_drops_comes_back_on_stage(acme: TenantClient) -> None:
    room = (await acme.room(webinar=True))["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    assert (await host.request(_stage(ann)))["type"] == "ack"
    # The same identity again (a reload, a new network): the old session is replaced.
    again = await acme.join(room, "ann")
    assert again.first is not None and again.first["you"]["on_stage"] is True
    # Leaving on purpose, then coming back: in the audience again.
    await again.leave()
    await host.next("participant.left", participant_id=again.id)
    back = await acme.join(room, "ann")
    assert back.first is not None and back.first["you"]["on_stage"] is False


class _Seats:
    """Presence as ``Stage.seat`` reads it: so many on WebRTC seats, so many watching the stream."""

    def __init__(self, interactive: int, viewers: int) -> None:
        self.counts = {False: interactive, True: viewers}

    async def count_joined(self, room_id: int, *, viewers: bool | None = None) -> int:
        assert viewers is not None
        return self.counts[viewers]

    async def was_on_stage(self, room_id: int, identity: str, within: float) -> bool:
        return False


@pytest.mark.parametrize(
    ("role", "interactive", "viewers", "seat"),
    [
        ("host", 1, 0, (True, False)),
        ("attendee", 1, 0, (False, False)),
        ("attendee", 2, 0, (False, True)),  # past the interactive seats: the live stream
        ("attendee", 2, 1, "room_full"),  # past PODIUM_WEBINAR_MAX_VIEWERS too
        ("moderator", 2, 0, "room_full"),  # staff always need a WebRTC seat
    ],
)
async def test_seats_fill_webrtc_then_the_stream_then_refuse(
    role: str, interactive: int, viewers: int, seat: tuple[bool, bool] | str
) -> None:
    stage = Stage(Settings(webinar_max_viewers=1), _Seats(interactive, viewers), None, None, None)  # type: ignore[arg-type]
    room = RoomInfo(
        id=1,
        tenant="acme",
        slug="w",
        name="W",
        max_participants=2,
        media_mode="auto",
        lobby=False,
        recording_allowed=True,
        created_at=datetime.now(UTC),
        webinar=True,
    )
    me = ParticipantInfo(id="p", identity="i", name="I", role=Role(role), joined_at=datetime.now(UTC))
    if isinstance(seat, str):
        with pytest.raises(PodiumError) as refused:
            await stage.seat(room, me)
        assert refused.value.code == seat
    else:
        got = await stage.seat(room, me)
        assert (got.on_stage, got.viewer) == seat


def test_a_negative_viewer_limit_is_refused() -> None:
    with pytest.raises(SettingsError, match="WEBINAR_MAX_VIEWERS"):
        Settings.from_env({"PODIUM_WEBINAR_MAX_VIEWERS": "-1"})
