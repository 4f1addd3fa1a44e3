"""Staff actions sent from below: attendees, lobby waiters, a demoted moderator, and moderators
acting above their rank.

The commands come from the protocol itself (``CLIENT_MESSAGES``, the permission matrix) and from
the plugins' action tables (``GET /api/v1/plugins``): a new staff command or plugin action without
a row here fails ``test_every_staff_action_has_a_row``. Every refused command gets an ``error``
with its stable code, and nothing changes for anyone: nobody else hears a thing, and the room (its
people, lobby, outputs and plugin states) reads the same afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from podium.core.auth.permissions import PERMISSIONS, Action, Role
from podium.core.realtime.protocol import CLIENT_MESSAGES
from tests.hardening.conftest import Tally
from tests.support.client import Member, TenantClient
from tests.support.server import Deployment, Node

#: Each client command → the permission that guards it (``None``: open to everyone joined).
GUARD: dict[str, Action | None] = {
    "chat.send": None,  # chat.everyone / chat.moderators / chat.private: every role has all three
    "participant.kick": Action.KICK,
    "participant.ask_mute": Action.ASK_MUTE,
    "participant.set_role": Action.SET_ROLE,
    "participant.stage": Action.STAGE,
    "participant.lower_hand": Action.LOWER_HAND,  # someone else's hand; one's own is open
    "lobby.admit": Action.ADMIT,
    "lobby.deny": Action.ADMIT,
    "room.end": Action.END_ROOM,
    "self.update": None,
    "rtc.signal": None,
    "media.offer": None,
    "media.receive": None,
    "plugin": None,  # guarded per plugin action: see PLUGIN_SAMPLES
    "recording.start": Action.RECORD,
    "recording.stop": Action.RECORD,
    "streaming.start": Action.STREAM,
    "streaming.stop": Action.STREAM,
    "breakouts.open": Action.BREAKOUTS,
    "breakouts.close": Action.BREAKOUTS,
    "breakouts.assign": Action.BREAKOUTS,
    "breakouts.broadcast": Action.BREAKOUTS,
    "breakout.join": None,  # back to the main room: anyone; into a breakout: staff, or by choice
    "ping": None,
}


@dataclass
class Room:
    """The people of the room under attack, by the part they play."""

    host: Member
    moderator: Member
    moderator2: Member
    attendee: Member  # the attacker
    bystander: Member  # an attendee others target; later promoted, then demoted
    waiter: Member  # knocking in the lobby
    poll: str = ""
    question: str = ""

    def everyone(self) -> list[Member]:
        return [self.host, self.moderator, self.moderator2, self.attendee, self.bystander, self.waiter]


Sample = Callable[[Room], dict[str, Any]]
#: Staff commands, each with fields that would succeed were the guard missing (so an ``ack`` or a
#: different error, never a coincidence, shows through).
SAMPLES: dict[str, list[Sample]] = {
    "participant.kick": [
        lambda r: {"participant_id": r.bystander.id},
        lambda r: {"participant_id": r.host.id},
    ],
    "participant.ask_mute": [lambda r: {"participant_id": r.bystander.id, "kind": "video"}],
    "participant.set_role": [
        lambda r: {"participant_id": r.attendee.id, "role": "host"},
        lambda r: {"participant_id": r.bystander.id, "role": "moderator"},
    ],
    # Not a webinar: the guard answers before the room would (``not_webinar``).
    "participant.stage": [lambda r: {"participant_id": r.bystander.id, "on_stage": False}],
    "participant.lower_hand": [lambda r: {"participant_id": r.moderator2.id}],
    "lobby.admit": [lambda r: {"participant_id": r.waiter.id}],
    "lobby.deny": [lambda r: {"participant_id": r.waiter.id}],
    "room.end": [lambda r: {}],
    "recording.start": [lambda r: {}],
    "recording.stop": [lambda r: {}],
    "streaming.start": [
        lambda r: {"public": True},
        lambda r: {"destination": "rtmp://a.rtmp.youtube.com/live2/k"},
    ],
    "streaming.stop": [lambda r: {}],
    "breakouts.open": [
        lambda r: {"count": 2},
        lambda r: {"count": 1, "assignment": "manual", "assignments": {r.bystander.id: 1}},
    ],
    "breakouts.close": [lambda r: {}],
    "breakouts.assign": [lambda r: {"participant_id": r.bystander.id, "breakout": 1}],
    "breakouts.broadcast": [lambda r: {"text": "Everyone back in 5"}],
}
#: Plugin actions only staff may send, with data that would succeed.
PLUGIN_SAMPLES: dict[tuple[str, str], Sample] = {
    ("polls", "create"): lambda r: {"question": "Pizza?", "options": ["yes", "no"]},
    ("polls", "close"): lambda r: {"poll_id": r.poll},
    ("polls", "reveal"): lambda r: {"poll_id": r.poll},
    ("slides", "present"): lambda r: {"deck_id": uuid.uuid4().hex},
    ("slides", "page"): lambda r: {"page": 2},
    ("slides", "stop"): lambda r: {},
    ("layouts", "set"): lambda r: {"layout": "speaker"},
    ("qa", "question.answer"): lambda r: {"question_id": r.question},
    ("qa", "question.dismiss"): lambda r: {"question_id": r.question},
}
#: Moderators above their rank (docs/realtime.md#permissions), and plugins' own rank rules.
OVERREACH: list[tuple[str, Sample, str]] = [
    ("participant.kick", lambda r: {"participant_id": r.host.id}, "forbidden"),
    ("participant.kick", lambda r: {"participant_id": r.moderator2.id}, "forbidden"),
    ("participant.ask_mute", lambda r: {"participant_id": r.host.id}, "forbidden"),
    ("participant.set_role", lambda r: {"participant_id": r.host.id, "role": "attendee"}, "forbidden"),
    ("participant.set_role", lambda r: {"participant_id": r.moderator2.id, "role": "attendee"}, "forbidden"),
    ("participant.set_role", lambda r: {"participant_id": r.bystander.id, "role": "host"}, "forbidden"),
    ("participant.set_role", lambda r: {"participant_id": r.moderator.id, "role": "host"}, "invalid_target"),
    ("room.end", lambda r: {}, "forbidden"),
]
#: Plugins on, with the layouts plugin's own rank rule: only hosts set the layout.
PLUGINS = {"polls": {}, "slides": {}, "qa": {}, "layouts": {"moderators_may_set": False}, "reactions": {}}
MODERATOR_PLUGIN_OVERREACH: list[tuple[tuple[str, str], Sample]] = [
    (("layouts", "set"), lambda r: {"layout": "speaker"})
]


def _tag(message: type) -> str:
    return str(message.__struct_config__.tag)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def tenant(deployment: Deployment, node: Node) -> dict[str, Any]:
    """A tenant of its own with every built-in plugin on (its switches never reach other tests)."""
    issued = deployment.create_tenant(f"Hooli {uuid.uuid4().hex[:6]}")
    auth = {"Authorization": f"Bearer {issued['secret']}"}
    with httpx.Client(base_url=node.url + "/api/v1", headers=auth, timeout=30) as http:
        for name, config in PLUGINS.items():
            response = http.put(f"/plugins/{name}", json={"enabled": True, "config": config})
            assert response.status_code == 200, response.text
    return issued


@pytest.fixture
async def client(node: Node, tenant: dict[str, Any]) -> AsyncIterator[TenantClient]:
    made = TenantClient(node.url, node.ws_url, tenant["tenant"], tenant["key_id"], tenant["secret"])
    yield made
    await made.close()


async def test_every_staff_action_has_a_row(client: TenantClient) -> None:
    """The tables above cover every command the protocol has and every staff plugin action."""
    tags = {_tag(message) for message in CLIENT_MESSAGES}
    assert tags == set(GUARD), f"commands without a decision here: {tags ^ set(GUARD)}"
    staff_only = {action for action, roles in PERMISSIONS.items() if Role.ATTENDEE not in roles}
    assert staff_only <= set(GUARD.values()), f"permissions no command here exercises: {staff_only}"
    unsampled = [tag for tag, action in GUARD.items() if action in staff_only and tag not in SAMPLES]
    assert not unsampled, f"staff commands without a sample: {unsampled}"
    listing = (await client.http.get("/plugins")).json()["plugins"]
    staff_actions = {
        (plugin["name"], action["name"])
        for plugin in listing
        for action in plugin["actions"]
        if "attendee" not in action["roles"]
    }
    assert staff_actions == set(PLUGIN_SAMPLES), (
        f"plugin staff actions vs rows: {staff_actions ^ set(PLUGIN_SAMPLES)}"
    )
    assert {p["name"] for p in listing} >= set(PLUGINS)


def _command(tag: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": tag, **fields}


def _plugin(key: tuple[str, str], data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "plugin", "plugin": key[0], "action": key[1], "data": data}


async def _room(client: TenantClient) -> tuple[str, Room]:
    """A lobby room: a host, two moderators, two admitted attendees and one still knocking."""
    slug = (await client.room(lobby=True))["slug"]
    host = await client.join(slug, "hana", "host")
    moderator = await client.join(slug, "mo", "moderator")
    moderator2 = await client.join(slug, "max", "moderator")
    inside = []
    for name in ("mallory", "bea"):
        member = await client.join(slug, name, expect="lobby.waiting")
        assert (await client.http.post(f"/rooms/{slug}/lobby/{member.id}/admit")).status_code == 204
        await member.next("welcome")
        inside.append(member)
    waiter = await client.join(slug, "walt", expect="lobby.waiting")
    room = Room(host, moderator, moderator2, inside[0], inside[1], waiter)
    # What the staff-only actions would act on: a poll, a question, a raised hand.
    create = _plugin(("polls", "create"), {"question": "Lunch?", "options": ["a", "b"]})
    room.poll = (await host.request(create))["id"]
    asked = await room.bystander.request(_plugin(("qa", "question.ask"), {"text": "When is lunch?"}))
    room.question = asked["id"]
    assert (await room.moderator2.request({"type": "self.update", "hand_raised": True}))["type"] == "ack"
    # The bystander was a moderator for a moment: a demotion takes every power away at once.
    for role in ("moderator", "attendee"):
        change = {"type": "participant.set_role", "participant_id": room.bystander.id, "role": role}
        assert (await host.request(change))["type"] == "ack"
        await room.bystander.next("participant.role_changed", role=role)
    return slug, room


async def _state(client: TenantClient, slug: str) -> dict[str, Any]:
    """The room as the tenant and a host joining now see it."""
    get = client.http.get
    auditor = await client.join(slug, "auditor", "host")
    plugins = {p["name"]: p["state"] for p in (auditor.first or {})["plugins"]}
    await auditor.leave()
    return {
        "room": (await get(f"/rooms/{slug}")).json(),
        "participants": sorted(
            (
                p["identity"],
                p["role"],
                p["audio_muted"],
                p["video_muted"],
                p["on_stage"],
                bool(p["hand_raised_at"]),
            )
            for p in (await get(f"/rooms/{slug}/participants")).json()
            if p["identity"] != "auditor"  # on its way out
        ),
        "lobby": [p["identity"] for p in (await get(f"/rooms/{slug}/lobby")).json()],
        "streams": (await get(f"/rooms/{slug}/streams")).json(),
        "recordings": (await get("/recordings", params={"room": slug})).json()["recordings"],
        "plugins": plugins,
    }


async def test_staff_actions_from_below_are_refused_and_change_nothing(
    client: TenantClient, tally: Tally
) -> None:
    slug, room = await _room(client)
    staff_commands = [(tag, sample) for tag, samples in SAMPLES.items() for sample in samples]
    plugin_commands = list(PLUGIN_SAMPLES.items())
    rows: list[tuple[str, Member, dict[str, Any], str]] = []
    for who, member in (("attendee", room.attendee), ("demoted moderator", room.bystander)):
        rows += [(who, member, _command(tag, sample(room)), "forbidden") for tag, sample in staff_commands]
        rows += [(who, member, _plugin(key, sample(room)), "forbidden") for key, sample in plugin_commands]
    # A waiter may only ping: whatever it sends is refused as in_lobby, before any permission.
    rows += [
        ("waiter", room.waiter, _command(tag, sample(room)), "in_lobby") for tag, sample in staff_commands
    ]
    rows += [
        ("waiter", room.waiter, _plugin(key, sample(room)), "in_lobby") for key, sample in plugin_commands
    ]
    rows += [
        ("moderator", room.moderator, _command(tag, sample(room)), code) for tag, sample, code in OVERREACH
    ]
    rows += [
        ("moderator", room.moderator, _plugin(key, sample(room)), "forbidden")
        for key, sample in MODERATOR_PLUGIN_OVERREACH
    ]
    await asyncio.gather(*(member.quiet(0.3) for member in room.everyone()))
    before = await _state(client, slug)
    await asyncio.gather(*(member.quiet(0.3) for member in room.everyone()))

    wrong = []
    for who, member, command, code in rows:
        reply = await member.request(command)
        tally.tried()
        if reply["type"] == "error" and reply["code"] == code:
            tally.held()
        else:
            wrong.append(f"{who} sent {command}: expected {code}, got {reply}")
    heard = await asyncio.gather(*(member.quiet(0.7) for member in room.everyone()))
    after = await _state(client, slug)
    tally.tried()
    quiet = not any(heard) and after == before
    tally.held(int(quiet))
    assert not wrong, "\n".join(wrong)
    assert not any(heard), f"refused commands still reached people: {heard}"
    assert after == before
    await asyncio.gather(*(member.leave() for member in room.everyone()))
