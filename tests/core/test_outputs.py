"""Recording and streaming from the room and the API: who may, what is refused, what everyone sees.

The media here is a room nobody publishes to (the recording then holds only the composite's
placeholder background), so this runs on both backends quickly; tests/media records real media.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.client import Member, TenantClient, refused


async def _recording(acme: TenantClient, rec_id: str, states: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = (await acme.http.get(f"/recordings/{rec_id}")).json()
        if body["state"] in states:
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.3)


async def _start(host: Member) -> dict[str, Any]:
    """``recording.start``, retried while the node's own media node is still starting (a busy machine)."""
    deadline = time.monotonic() + 30
    while True:
        reply = await host.request({"type": "recording.start"})
        if reply.get("code") != "media_unavailable" or time.monotonic() > deadline:
            return reply
        await asyncio.sleep(0.5)


async def test_hosts_and_moderators_record_attendees_cannot_and_everyone_sees_it(acme: TenantClient) -> None:
    room = (await acme.room(media_mode="mcu"))["slug"]
    host = await acme.join(room, "hana", "host")
    guest = await acme.join(room, "gus", "attendee")

    refused = await guest.request({"type": "recording.start"})
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    refused = await guest.request({"type": "streaming.start"})
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    nothing = await host.request({"type": "recording.stop"})
    assert nothing["type"] == "error" and nothing["code"] == "recording_not_running"

    started = await _start(host)
    assert started["type"] == "ack", started
    seen = await guest.next("outputs", recording=True)
    assert seen["live"] is False and seen["outputs"][0]["kind"] == "recording"
    twice = await host.request({"type": "recording.start"})
    assert twice["type"] == "error" and twice["code"] == "recording_running"
    # Someone joining now is told in welcome.
    late = await Member.connect(acme.ws_url, acme.slug, room, await acme.token(room, "lou"))
    welcome = await late.next("welcome")
    assert welcome["outputs"]["recording"] is True

    listed = (await acme.http.get("/recordings", params={"room": room})).json()["recordings"]
    assert [r["state"] for r in listed] == ["recording"] and listed[0]["started_by"] == "Hana"
    assert (await acme.http.get(f"/recordings/{listed[0]['id']}/download")).status_code == 409
    busy = await acme.http.delete(f"/recordings/{listed[0]['id']}")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "recording_busy"

    await asyncio.sleep(1.5)
    stopped = await host.request({"type": "recording.stop"})
    assert stopped["type"] == "ack", stopped
    await guest.next("outputs", recording=False)
    # The job finishes the file whichever way jobs run (in-process, or arq with Redis).
    done = await _recording(acme, listed[0]["id"], {"ready", "failed"})
    assert done["state"] == "ready", done
    assert done["duration"] > 0.5 and done["size"] > 0


async def test_bad_outputs_are_refused_with_clear_errors(acme: TenantClient, globex: TenantClient) -> None:
    room = (await acme.room())["slug"]
    post = acme.http.post
    for url, code in [
        ("https://a.rtmp.youtube.com/live2/key", "invalid_rtmp_url"),
        ("rtmp://a.rtmp.youtube.com", "invalid_rtmp_url"),
        ("rtmp://user:pw@a.rtmp.youtube.com/live2/key", "invalid_rtmp_url"),
        ("rtmp://a.rtmp.youtube.com/live2/key", "rtmp_host_not_allowed"),
    ]:
        reply = await post(f"/rooms/{room}/streams", json={"destination": url})
        assert reply.status_code == 422 and reply.json()["error"]["code"] == code, (url, reply.text)
    bad_host = await acme.http.put("/streaming/hosts", json={"hosts": ["not a host"]})
    assert bad_host.status_code == 422 and bad_host.json()["error"]["code"] == "invalid_streaming_host"
    hosts = await acme.http.put("/streaming/hosts", json={"hosts": ["*.rtmp.example.com", "A.Example.org"]})
    assert hosts.json() == {"hosts": ["*.rtmp.example.com", "a.example.org"]}
    # The allow-list is the tenant's own.
    assert (await globex.http.get("/streaming/hosts")).json() == {"hosts": []}
    not_running = await post(f"/rooms/{room}/streams/stop")
    assert not_running.status_code == 409 and not_running.json()["error"]["code"] == "stream_not_running"
    assert (await post(f"/rooms/{room}/recordings/stop")).json()["error"]["code"] == "recording_not_running"
    assert (await acme.http.get("/recordings/rec_nope")).status_code == 404
    # Another tenant's recordings are invisible.
    assert (await globex.http.get("/recordings")).json()["recordings"] == []
    off = (await acme.room(recording_allowed=False))["slug"]
    denied = await post(f"/rooms/{off}/recordings")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "recording_not_allowed"


async def test_viewer_tokens_watch_but_do_not_join(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    issued = (await acme.http.post(f"/rooms/{room}/viewer-tokens", json={"identity": "fan"})).json()
    assert issued["watch_url"] is None  # not live
    _, _, error = await refused(acme.ws_url, acme.slug, room, issued["token"])
    assert error["code"] == "token_viewer_only"
