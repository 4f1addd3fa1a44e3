"""The realtime WebSocket under fuzzing: frames no Podium client would ever send.

Hypothesis builds each corpus (malformed JSON, JSON of the wrong shape, every client message type
with mutated fields, garbage SDP, floods) and a raw WebSocket sends it to a real ``podium serve``.
Every frame is followed by a ``ping``, so the server's direct replies to it are exactly what
arrives before that ping's ``pong``. What must hold, frame after frame:

- every refusal is an ``error`` whose code docs/realtime.md's table lists (never
  ``internal_error``), and the connection goes on; a close only ever carries a documented code;
- a bystander in the room sees nothing of what was refused (and of what was accepted, only its
  documented effect: a chat line, a new name, a signal addressed to it);
- afterwards the server is healthy: ``/healthz`` answers, a fresh participant joins, and in an
  MCU room the media node still composites and answers a real offer.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from podium.core.realtime.protocol import CLIENT_MESSAGES
from tests.hardening.conftest import Tally, examples
from tests.hardening.wire import (
    ERRORS,
    FRAME_BUDGET,
    HOSTILE_TEXT,
    MAX_FRAME,
    MAX_SDP,
    Frame,
    Message,
    accepted,
    corpus,
    documented_closes,
    documented_plugin_errors,
    dumps,
    exchange,
    healthy,
    hostile_values,
    huge_fingerprint,
    many_candidates,
    many_sections,
    mutated,
    overheard,
    real_offer,
    sdp_garbage,
    size_of,
    verdicts,
)
from tests.support.client import TenantClient
from tests.support.server import Deployment, Node
from tests.support.synthetic import SyntheticParticipant

# ---- the corpus of the frames test --------------------------------------------------------------------


def base_messages(ids: list[str], sdp: str) -> dict[str, Message]:
    """A well-formed command of each client message type, to mutate (``ids``: people in the room)."""
    target = ids[0]
    return {
        "chat.send": {"text": "hello", "to": "everyone"},
        "participant.kick": {"participant_id": target},
        "participant.ask_mute": {"participant_id": target, "kind": "audio"},
        "participant.set_role": {"participant_id": target, "role": "moderator"},
        "lobby.admit": {"participant_id": target},
        "lobby.deny": {"participant_id": target},
        "room.end": {},
        "self.update": {"name": "Fuzzy", "audio_muted": True, "hand_raised": True},
        "participant.stage": {"participant_id": target, "on_stage": True},
        "participant.lower_hand": {"participant_id": target},
        "rtc.signal": {"to": target, "instance": "fuzz-1", "description": {"type": "offer", "sdp": sdp}},
        "media.offer": {"sdp": sdp, "max_height": 360},
        "media.receive": {"max_height": 360},
        "plugin": {"plugin": "polls", "action": "vote", "data": {"poll_id": "p", "choices": [0]}},
        "recording.start": {},
        "recording.stop": {},
        "streaming.start": {"destination": "rtmp://127.0.0.1/live/key", "public": True},
        "streaming.stop": {"output": "x"},
        "breakouts.open": {"count": 2, "assignment": "manual", "assignments": {target: 1}, "duration": 60},
        "breakouts.assign": {"participant_id": target, "breakout": 1},
        "breakouts.broadcast": {"text": "hello rooms"},
        "breakouts.close": {},
        "breakout.join": {"breakout": 1},
        "ping": {},
    }


@st.composite
def commands(draw: st.DrawFn, ids: list[str], sdp: str) -> str:
    """A command of any client message type, mutated, with or without a (valid) ``ref``."""
    bases = base_messages(ids, sdp)
    kind = draw(st.sampled_from(sorted(bases)))
    ref = draw(st.sampled_from([{"ref": "r1"}, {}, {"ref": "x" * 65}]))
    message = draw(mutated({"type": kind, **bases[kind], **ref}, ids))
    return dumps(message, ascii_only=draw(st.booleans()))


def frames(ids: list[str], sdp: str) -> st.SearchStrategy[Frame]:
    """Anything a hostile client might put in a frame, under the frame limit."""
    lone_surrogates = st.sampled_from(
        ['{"type":"chat.send","text":"\\ud800"}', '"\\udfff"', '{"type":"\\udbff"}']
    )
    anything: st.SearchStrategy[Frame] = st.one_of(
        st.text(max_size=200),  # mostly not JSON at all
        st.binary(max_size=2_000),  # binary frames are parsed as JSON too; often not even UTF-8
        hostile_values().map(dumps),
        lone_surrogates,
        commands(ids, sdp),
        commands(ids, sdp),
        commands(ids, sdp),
    )
    return anything.filter(lambda frame: size_of(frame) <= FRAME_BUDGET)


def known_nasties(ids: list[str]) -> list[Frame]:
    """Edge cases sent every run, whatever hypothesis draws: depth bombs, NUL bytes, limits + 1."""
    target = ids[0]
    return [
        "[" * 60_000,
        '{"type":"ping","ref":"deep","x":' + "[" * 20_000 + "]" * 20_000 + "}",
        '{"type":"plugin","plugin":"polls","action":"vote","data":'
        + '{"a":' * 10_000
        + "1"
        + "}" * 10_000
        + "}",
        b"\xff\xfe\x00\x00",
        b"",
        "",
        "null",
        '{"type":null}',
        '{"type":"chat.send","text":"nul \\u0000 byte","ref":"n1"}',
        '{"type":"self.update","name":"nul\\u0000name","ref":"n2"}',
        '{"type":"chat.send","text":"to nobody","to":"participant","recipient":"\\u0000","ref":"n3"}',
        json.dumps({"type": "participant.kick", "participant_id": "\u0000", "ref": "n4"}),
        json.dumps(
            {"type": "rtc.signal", "to": "\u0000", "instance": "\u0000", "candidate": {"candidate": ""}}
        ),
        json.dumps(
            {"type": "rtc.signal", "to": target, "instance": "i", "candidate": {"candidate": "x" * 1025}}
        ),
        json.dumps({"type": "media.receive", "max_height": 2**64, "ref": "n5"}),
        json.dumps({"type": "plugin", "plugin": "\u0000", "action": "\u0000", "ref": "n6"}),
        json.dumps({"type": "chat.send", "text": "x" * 2001, "ref": "n7"}),
        json.dumps({"type": "ping", "ref": "r" * 64}),
    ]


# ---- the frames themselves --------------------------------------------------------------------------------


def test_every_client_message_type_has_a_base_to_mutate() -> None:
    """A new client message type joins the fuzz corpus (this fails until it does)."""
    tags = {str(kind.__struct_config__.tag) for kind in CLIENT_MESSAGES}
    assert tags == set(base_messages(["x"], "v=0"))


async def test_fuzzed_frames_get_documented_errors_and_nobody_else_notices(
    acme: TenantClient, tally: Tally
) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    bystander = await acme.join(room, "bea")
    fuzzer = await acme.join(room, "fuzz")
    await bystander.next("participant.joined")
    ids = [bystander.id, fuzzer.id, str(uuid.uuid4()), "x"]
    sent = known_nasties(ids) + await corpus(frames(ids, await real_offer()), examples(250))

    async with overheard(bystander) as seen:
        replies, _ = await exchange(fuzzer, sent)
    verdicts(tally, sent, replies)

    # Accepted commands show their documented effect; refused ones show nothing and store nothing.
    applied = accepted(sent, replies)
    chats = [m for m in applied if m["type"] == "chat.send"]
    chats_seen = [
        m for m in chats if m.get("to", "everyone") == "everyone" or m.get("recipient") == bystander.id
    ]
    signals = [m for m in applied if m["type"] == "rtc.signal" and m.get("to") == bystander.id]
    unexpected = [
        m
        for m in seen
        if not (
            (m["type"] == "chat.message" and m["message"]["sender_id"] == fuzzer.id)
            or (m["type"] == "participant.updated" and m["participant"]["id"] == fuzzer.id)
            or (m["type"] == "rtc.signal" and m["from"] == fuzzer.id)
        )
    ]
    assert unexpected == []
    assert sum(m["type"] == "chat.message" for m in seen) == len(chats_seen)
    assert sum(m["type"] == "rtc.signal" for m in seen) == len(signals)
    assert len((await acme.http.get(f"/rooms/{room}/chat")).json()["messages"]) == len(chats)

    assert (await fuzzer.request({"type": "ping"}))["type"] == "pong"  # the fuzzer's socket lives on
    await healthy(acme, room)


@pytest.mark.parametrize(
    ("kind", "size"),
    [
        ("text", MAX_FRAME + 1),
        ("binary", MAX_FRAME + 1),
        ("multibyte", MAX_FRAME // 2 + 1),  # fewer characters than the limit, more bytes
        ("text", 3 * MAX_FRAME),
        ("text", 4 * MAX_FRAME + 1),  # past the WebSocket layer's own limit
        ("binary", 8 * MAX_FRAME),
    ],
)
async def test_frames_over_the_limit_close_with_1009(
    acme: TenantClient, tally: Tally, kind: str, size: int
) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    bystander = await acme.join(room, "bea")
    big = await acme.join(room, "big")
    await bystander.next("participant.joined")
    text = dumps({"type": "chat.send", "text": ("é" if kind == "multibyte" else "x") * size})
    tally.tried()
    await big.socket.send(text.encode() if kind == "binary" else text)
    code, reason = await big.closed()
    assert code == 1009 and code in documented_closes()
    if size <= 4 * MAX_FRAME:  # Podium read it, and said why before closing (else the WS layer cut it)
        assert reason == "frame_too_large"
        assert [m["code"] for m in big.seen if m["type"] == "error"] == ["frame_too_large"]
    # The room only saw the sender leave; nothing was stored.
    left = await bystander.next("participant.left")
    assert (left["participant_id"], left["reason"]) == (big.id, "disconnected")
    assert await bystander.quiet(0.3) == []
    assert (await acme.http.get(f"/rooms/{room}/chat")).json()["messages"] == []
    await healthy(acme, room)
    tally.held()


async def test_floods_are_rate_limited_and_the_connection_survives(acme: TenantClient, tally: Tally) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    bystander = await acme.join(room, "bea")
    flooder = await acme.join(room, "flood")
    await bystander.next("participant.joined")
    floods: dict[str, list[Frame]] = {
        "chat.send": [dumps({"type": "chat.send", "text": f"spam {i}", "ref": f"c{i}"}) for i in range(60)],
        "self.update": [
            dumps({"type": "self.update", "name": f"Flood {i}", "ref": f"u{i}"}) for i in range(400)
        ],
        "rtc.signal": [
            dumps(
                {
                    "type": "rtc.signal",
                    "to": bystander.id,
                    "instance": "f",
                    "candidate": {"candidate": "c" * 1000},
                }
            )
            for _ in range(400)
        ],
        "plugin": [
            dumps({"type": "plugin", "plugin": "polls", "action": "vote", "ref": f"p{i}"}) for i in range(60)
        ],
    }
    refusals = {"chat.send": {"rate_limited"}, "plugin": {"rate_limited", "plugin_not_enabled"}}
    applied: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    began = loop.time()
    for kind, sent in floods.items():
        replies, _ = await exchange(flooder, sent, pace=1e9)  # as fast as the socket takes them
        verdicts(tally, sent, replies)
        codes = [r[0]["code"] for r in replies if r and r[0]["type"] == "error"]
        assert "rate_limited" in codes and set(codes) <= refusals.get(kind, {"rate_limited"}), kind
        applied[kind] = sum(1 for r in replies if not r or r[0]["type"] == "ack")
    elapsed = loop.time() - began
    # Each budget let its burst through, then its rate: chat 10 then 0.2/s (the test nodes' rate),
    # other commands 200 then 50/s; no plugin command was applied (none is enabled).
    assert 10 <= applied["chat.send"] <= 10 + 0.2 * elapsed + 1
    assert 200 <= applied["self.update"] + applied["rtc.signal"] <= 200 + 50 * elapsed + 1
    assert applied["plugin"] == 0

    # Pongs piling up for a client that doesn't read: all answered, or the client is cut off as a
    # slow consumer (1013), never anything else.
    tally.tried()
    for i in range(5_000):
        await flooder.send({"type": "ping", "ref": f"flood-{i}"})
    try:
        while (await flooder.recv()).get("ref") != "flood-4999":
            pass
    except ConnectionClosed as exc:
        assert exc.rcvd is not None and (exc.rcvd.code, exc.rcvd.reason) == (1013, "slow_consumer")
    tally.held()

    seen = await bystander.quiet(1.0)
    assert {m["type"] for m in seen} <= {
        "chat.message",
        "participant.updated",
        "rtc.signal",
        "participant.left",
    }
    assert sum(m["type"] == "chat.message" for m in seen) == applied["chat.send"]
    assert sum(m["type"] == "rtc.signal" for m in seen) == applied["rtc.signal"]
    await healthy(acme, room)


# ---- plugin commands --------------------------------------------------------------------------------------

PLUGIN_BASES: dict[tuple[str, str], Message] = {
    ("polls", "create"): {"question": "Lunch?", "options": ["Soup", "Salad"], "multiple": False},
    ("polls", "vote"): {"poll_id": "{poll}", "choices": [0]},
    ("polls", "close"): {"poll_id": "{poll}"},
    ("polls", "reveal"): {"poll_id": "{poll}"},
    ("slides", "present"): {"deck_id": "0" * 32, "page": 1},
    ("slides", "page"): {"page": 1},
    ("slides", "stop"): {},
    ("qa", "question.ask"): {"text": "Why?"},
    ("qa", "question.upvote"): {"question_id": "{question}"},
    ("qa", "question.answer"): {"question_id": "{question}"},
    ("qa", "question.dismiss"): {"question_id": "{question}"},
    ("reactions", "send"): {"emoji": "👍"},
    ("layouts", "set"): {"layout": "speaker", "presenter": "{bystander}"},
}


def same_shape(value: Any, people: list[str]) -> st.SearchStrategy[Any]:
    """``value`` with every leaf replaced by a hostile one of the same type: data that passes a
    plugin's schema more often than not, and so reaches the plugin itself."""
    kept = st.just(value)
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return kept | st.integers(-3, 50) | st.sampled_from([2**31, 2**53, 2**63 - 1])
    if isinstance(value, str):
        hostile = st.sampled_from([t[:40] for t in HOSTILE_TEXT]) | st.text(max_size=40)
        return kept | hostile | st.sampled_from(people)
    if isinstance(value, list):
        return kept | st.lists(same_shape(value[0], people) if value else st.none(), max_size=25)
    return st.fixed_dictionaries({key: same_shape(inner, people) for key, inner in value.items()})


def plugin_commands(ids: dict[str, str]) -> st.SearchStrategy[str]:
    """A built-in plugin's action with its data reshaped, mutated, or replaced by anything at all."""

    def command(key: tuple[str, str]) -> st.SearchStrategy[str]:
        text = dumps(PLUGIN_BASES[key])
        for name, value in ids.items():
            text = text.replace(f"{{{name}}}", value)
        data, people = json.loads(text), list(ids.values())
        anything = st.one_of(
            same_shape(data, people), same_shape(data, people), mutated(data, people), hostile_values()
        )
        return anything.map(
            lambda d: dumps({"type": "plugin", "plugin": key[0], "action": key[1], "data": d, "ref": "p"})
        )

    return st.sampled_from(sorted(PLUGIN_BASES)).flatmap(command).filter(lambda f: size_of(f) <= FRAME_BUDGET)


@pytest.fixture
async def plugin_tenant(deployment: Deployment, node: Node) -> Any:
    """A tenant of its own with every built-in plugin enabled (``acme`` stays as other tests expect)."""
    issued = deployment.create_tenant(f"Fuzz {uuid.uuid4().hex[:6]}")
    tenant = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    plugins = (await tenant.http.get("/plugins")).json()["plugins"]
    for name in sorted({p["name"] for p in plugins}):
        response = await tenant.http.put(f"/plugins/{name}", json={"enabled": True, "config": {}})
        assert response.status_code == 200, response.text
    assert {(p["name"], a["name"]) for p in plugins for a in p["actions"]} == set(PLUGIN_BASES)
    yield tenant
    await tenant.close()


async def test_fuzzed_plugin_commands_never_fail_a_plugin(plugin_tenant: TenantClient, tally: Tally) -> None:
    room = (await plugin_tenant.room(media_mode="p2p"))["slug"]
    bystander = await plugin_tenant.join(room, "bea")
    host = await plugin_tenant.join(room, "hana", "host")
    poll = await host.request(
        {"type": "plugin", "plugin": "polls", "action": "create", "data": PLUGIN_BASES[("polls", "create")]}
    )
    await bystander.request(
        {"type": "plugin", "plugin": "qa", "action": "question.ask", "data": {"text": "Why?"}}
    )
    question = (await bystander.next("plugin.event", plugin="qa", event="questions"))["data"][0]["id"]
    ids = {"poll": str(poll["id"]), "question": question, "bystander": bystander.id, "host": host.id}
    nasties = [
        ("qa", "question.ask", {"text": "nul \u0000 <script>window.__pwned = 1</script>"}),
        ("polls", "create", {"question": "\u0000?", "options": ["\u0000", "<img src=x onerror=alert(1)>"]}),
        ("polls", "vote", {"poll_id": ids["poll"], "choices": [2**63 - 1, -1]}),
        ("slides", "present", {"deck_id": "../../../../../../etc/passwd"}),
        ("layouts", "set", {"layout": "grid", "presenter": "\u0000"}),
    ]
    sent: list[Frame] = [
        dumps({"type": "plugin", "plugin": plugin, "action": action, "data": data, "ref": "n"})
        for plugin, action, data in nasties
    ]
    sent += await corpus(plugin_commands(ids), examples(40))

    # Paced under the plugin command limit (20, then 10 a second), so each reaches its plugin.
    async with overheard(bystander) as seen:
        replies, events = await exchange(host, sent, pace=9.0, batch=5)
    verdicts(tally, sent, replies, documented_plugin_errors())
    # No plugin failed on any of it, so none was switched off for the tenant.
    assert {m["type"] for m in seen + events} <= {"plugin.event", "participant.joined"}
    enabled = {
        p["name"] for p in (await plugin_tenant.http.get("/plugins")).json()["plugins"] if p["enabled"]
    }
    assert enabled == {name for name, _ in PLUGIN_BASES}
    await healthy(plugin_tenant, room)


# ---- session descriptions --------------------------------------------------------------------------------


def signals(to: str, real: str) -> st.SearchStrategy[str]:
    """``rtc.signal``s to ``to`` carrying garbage: descriptions, candidates, stream maps."""
    description = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["offer", "answer", "pranswer", "rollback", "bogus"]),
            "sdp": sdp_garbage(real),
        }
    )
    candidate = st.fixed_dictionaries(
        {"candidate": st.text(max_size=1_100) | st.sampled_from(HOSTILE_TEXT)},
        optional={
            "sdpMid": st.text(max_size=80) | st.none(),
            "sdpMLineIndex": st.integers(-5, 100) | st.none(),
            "usernameFragment": st.text(max_size=300) | st.none(),
        },
    )
    streams = st.none() | st.dictionaries(
        st.text(max_size=70), st.sampled_from(["camera", "screen", "tv"]), max_size=6
    )
    signal = st.builds(
        lambda payload, s: {
            "type": "rtc.signal",
            "to": to,
            "instance": "fuzz",
            **payload,
            **({"streams": s} if s is not None else {}),
            "ref": "s",
        },
        st.one_of(description.map(lambda d: {"description": d}), candidate.map(lambda c: {"candidate": c})),
        streams,
    )
    return signal.map(dumps).filter(lambda f: size_of(f) <= FRAME_BUDGET)


async def test_garbage_signals_are_relayed_verbatim_to_their_target_alone(
    acme: TenantClient, tally: Tally
) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    bystander = await acme.join(room, "bea")
    target = await acme.join(room, "tom")
    fuzzer = await acme.join(room, "fuzz")
    sent = await corpus(signals(target.id, await real_offer()), examples(80))

    async with overheard(target) as heard, overheard(bystander) as overheard_by_bystander:
        replies, _ = await exchange(fuzzer, sent)
    verdicts(tally, sent, replies)
    for frame, reply in zip(sent, replies, strict=True):
        if reply[0]["type"] == "error" and reply[0]["code"] == "sdp_too_large":
            assert size_of(json.loads(frame)["description"]["sdp"]) > MAX_SDP
    # Podium relays signalling as it came (the browsers judge it), to the one it was for.
    applied = accepted(sent, replies)
    got = [m for m in heard if m["type"] == "rtc.signal"]
    assert len(got) == len(applied)
    for message, relayed in zip(applied, got, strict=True):
        assert relayed["from"] == fuzzer.id
        if "description" in message:
            assert relayed["description"] == message["description"]
        else:
            assert {k: v for k, v in relayed["candidate"].items() if v is not None} == {
                k: v for k, v in message["candidate"].items() if v is not None
            }
    assert [m for m in overheard_by_bystander if m["type"] != "participant.joined"] == []
    assert (await bystander.request({"type": "chat.send", "text": "still here"}))["type"] == "ack"
    await healthy(acme, room)


@pytest.mark.embedded_only
async def test_garbage_offers_leave_the_mcu_and_its_room_working(
    acme: TenantClient, people: list[SyntheticParticipant], tally: Tally
) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    bea = await SyntheticParticipant.join(acme, room, "bea", (40, 90, 200), 440.0, loud=False, max_height=360)
    people.append(bea)
    await bea.wait_mcu_connected(30)
    await bea.wait_frames(10)
    fuzzer = await acme.join(room, "fuzz")
    real = await real_offer()
    offers = [
        "",
        "v=0\r\n",
        real.replace("m=audio", "m=video"),
        many_candidates(real, 400),
        many_sections(real, 400),
        huge_fingerprint(real, 9_000),
        *(await corpus(sdp_garbage(real), examples(40))),
    ]
    sent: list[Frame] = [dumps({"type": "media.offer", "sdp": sdp, "ref": "o"}) for sdp in offers]
    sent = [frame for frame in sent if size_of(frame) <= FRAME_BUDGET]

    before = bea.frames_received
    replies, events = await exchange(fuzzer, sent, pace=10.0)
    # The media node refuses what it cannot use (``invalid_sdp``) and is never gone
    # (``media_unavailable`` would mean it died or hung).
    verdicts(tally, sent, replies, ERRORS - {"media_unavailable"})
    answers = [e for e in events if e["type"] == "media.answer"]
    assert len(answers) == sum(1 for r in replies if r[0]["type"] == "ack")

    # The well-behaved participant never noticed: its composite kept coming, its media
    # connection never failed, and it still chats and gets an answer to a real offer.
    await bea.wait_frames(before + 30)
    assert bea.errors == [] and bea.mcu_connected
    noticed = [m for m in await bea.member.quiet(0.5) if m["type"] in ("error", "media.failed", "rtc.signal")]
    assert noticed == []
    assert (await bea.member.request({"type": "chat.send", "text": "still here"}))["type"] == "ack"
    assert (await bea.member.request({"type": "media.offer", "sdp": await real_offer()}))["type"] == "ack"
    assert (await bea.member.next("media.answer"))["sdp"].startswith("v=0")
    await healthy(acme, room)
