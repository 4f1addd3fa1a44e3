"""Bad frames get an error with a stable code, change nothing, and never crash the connection."""

from __future__ import annotations

import json

import pytest

from tests.support.client import TenantClient


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "malformed_json"),
        ("[1, 2, 3]", "invalid_message"),
        ('{"text": "no type"}', "invalid_message"),
        ('{"type": "launch.missiles"}', "unknown_type"),
        ('{"type": "chat.send", "text": 42}', "invalid_message"),
        ('{"type": "chat.send", "text": "hi", "to": "martians"}', "invalid_message"),
        ('{"type": "chat.send", "text": "hi", "sneaky": true}', "invalid_message"),
        ('{"type": "participant.kick"}', "invalid_message"),
        ('{"type": "participant.set_role", "participant_id": "x", "role": "emperor"}', "invalid_message"),
        ('{"type": "ping", "ref": "' + "r" * 100 + '"}', "invalid_message"),
    ],
)
async def test_invalid_frames_get_stable_errors(acme: TenantClient, frame: str, code: str) -> None:
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    await host.socket.send(frame)
    error = await host.next("error")
    assert error["code"] == code
    # The connection still works and nothing was stored.
    assert (await host.request({"type": "ping"}))["type"] == "pong"
    assert (await acme.http.get(f"/rooms/{room}/chat")).json()["messages"] == []


async def test_binary_frames_are_parsed_like_text(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    await host.socket.send(json.dumps({"type": "ping", "ref": "b"}).encode())
    assert (await host.next("pong"))["ref"] == "b"


async def test_oversized_frame_is_refused_and_closed(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    await ann.send({"type": "chat.send", "text": "x" * 70_000})
    assert (await ann.next("error"))["code"] == "frame_too_large"
    assert await ann.closed() == (1009, "frame_too_large")
    assert (await host.next("participant.left"))["participant_id"] == ann.id
    assert (await acme.http.get(f"/rooms/{room}/chat")).json()["messages"] == []
