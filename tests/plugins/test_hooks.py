"""Every hook, through a real server with the probe test plugin loaded (PODIUM_PLUGINS).

tests/plugins/test_docs.py checks that each hook in core/hookspecs.py is named in a test here
or in another plugin test, and documented in docs/plugins.md.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.plugins.conftest import TenantFactory, command, plugin_state
from tests.support.client import TenantClient
from tests.support.server import Node


async def _log(node: Node, room: str, *want: str) -> list[str]:
    """The probe's hook log for ``room`` once it holds ``want`` (hooks run after the room moves on)."""
    async with httpx.AsyncClient(base_url=node.url) as http:
        for _ in range(100):
            seen: list[str] = (await http.get(f"/api/v1/plugins/probe/log/{room}")).json()
            if all(w in seen for w in want):
                return seen
            await asyncio.sleep(0.05)
    raise AssertionError(f"probe saw {seen}, not {want}")


async def test_lifecycle_and_participant_hooks(new_tenant: TenantFactory, test_plugins_node: Node) -> None:
    # podium_room_created, podium_room_started, podium_participant_joined,
    # podium_participant_role_changed, podium_participant_left, podium_room_ended
    acme = await new_tenant(on=test_plugins_node, probe={})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    await host.request({"type": "participant.set_role", "participant_id": ann.id, "role": "moderator"})
    await ann.leave()
    # The leave must reach the server before the end, or Ann would leave as "ended".
    await host.next("participant.left", participant_id=ann.id)
    await host.request({"type": "room.end"})
    log = await _log(test_plugins_node, room, "room_ended", "left:ann:left")
    assert log[:3] == ["room_created", "room_started", "joined:hana"]
    assert (
        log.index("joined:ann")
        < log.index("role:moderator")
        < log.index("left:ann:left")
        < log.index("room_ended")
    )
    assert log.count("room_started") == 1


async def test_breakout_hooks_run_with_the_main_rooms_context(
    new_tenant: TenantFactory, test_plugins_node: Node
) -> None:
    # podium_breakouts_opened, podium_participant_moved, podium_breakouts_closed
    acme = await new_tenant(on=test_plugins_node, probe={})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    await host.request(
        {"type": "breakouts.open", "count": 2, "assignment": "manual", "assignments": {ann.id: 2}}
    )
    move = await ann.next("breakout.move")
    await host.request({"type": "breakouts.close"})
    log = await _log(test_plugins_node, room, "breakouts_closed:closed")
    suffix = move["room"]["slug"].split("~")[1]
    assert (
        log.index("breakouts_opened:2")
        < log.index(f"moved:ann:{suffix}")
        < log.index("breakouts_closed:closed")
    )
    # Ann was not connected to her breakout when it closed, so nobody had to come back.
    assert "moved:ann:main" not in log


async def test_stage_changes_reach_plugins_in_order(
    new_tenant: TenantFactory, test_plugins_node: Node
) -> None:
    # podium_participant_stage_changed
    acme = await new_tenant(on=test_plugins_node, probe={})
    room = (await acme.room(webinar=True))["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    for on in (True, True, False):  # the second is no change: no hook
        change = {"type": "participant.stage", "participant_id": ann.id, "on_stage": on}
        assert (await host.request(change))["type"] == "ack"
    log = await _log(test_plugins_node, room, "stage:ann:off")
    assert [entry for entry in log if entry.startswith("stage:")] == ["stage:ann:on", "stage:ann:off"]


async def test_plugin_messages_welcome_and_webhooks(
    new_tenant: TenantFactory, test_plugins_node: Node
) -> None:
    # podium_plugin_actions, podium_plugin_message, podium_welcome,
    # podium_webhook_events, podium_config_schema
    acme = await new_tenant(on=test_plugins_node, probe={"greeting": "hi"})
    async with httpx.AsyncClient(base_url=test_plugins_node.url) as http:
        await http.get("/api/v1/plugins/probe/webhooks")  # the probe captures webhook events from now on
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    assert plugin_state(ann.first or {}, "probe") == {"hello": "Ann", "greeting": "hi", "tenant": acme.slug}
    entry = next(p for p in (ann.first or {})["plugins"] if p["name"] == "probe")
    assert entry["actions"] == {
        "echo": ["attendee", "host", "moderator"],
        "staff_only": ["host", "moderator"],
        "content": ["attendee", "host", "moderator"],
    }

    ack = await command(ann, "probe", "echo", {"text": "hey"})
    assert ack == {"type": "ack", "ref": ack["ref"], "id": "echoed"}
    echoed = await host.next("plugin.event", plugin="probe", event="echo")
    assert echoed["data"] == {"action": "echo", "data": {"text": "hey"}, "from": "Ann"}

    too_long = await command(ann, "probe", "echo", {"text": "much too long"})
    assert too_long["code"] == "invalid_message" and "text" in too_long["message"]
    assert (await command(ann, "probe", "staff_only", {}))["code"] == "forbidden"
    assert (await command(ann, "probe", "nope", {}))["code"] == "unknown_action"
    assert (await command(ann, "nosuch", "echo", {}))["code"] == "plugin_not_enabled"
    # ctx.set_media_content: nothing to show it on in a peer-to-peer room; an oversized image is
    # refused before it reaches a media node.
    assert (await command(ann, "probe", "content", {"size": 1000}))["id"] == "False"
    huge = await command(ann, "probe", "content", {"size": 1024 * 1024 + 1})
    assert huge["code"] == "content_too_large" and "1048576" in huge["message"]

    async with httpx.AsyncClient(base_url=test_plugins_node.url) as http:
        hooks = (await http.get("/api/v1/plugins/probe/webhooks")).json()
    assert {
        "tenant": acme.slug,
        "type": "plugin.probe.echoed",
        "data": {"room": hooks[-1]["data"]["room"], "text": "hey"},
    } in hooks


async def test_chat_filters_rewrite_and_reject(new_tenant: TenantFactory, test_plugins_node: Node) -> None:
    # podium_chat_message
    acme = await new_tenant(on=test_plugins_node, probe={"banned": "darn"})
    room = (await acme.room())["slug"]
    ann = await acme.join(room, "ann")
    refused = await ann.request({"type": "chat.send", "text": "oh darn it"})
    assert refused["type"] == "error" and refused["code"] == "chat_rejected" and "darn" in refused["message"]
    assert (await ann.request({"type": "chat.send", "text": "shout:hello"}))["type"] == "ack"
    message = await ann.next("chat.message")
    assert message["message"]["text"] == "HELLO"
    history = (await acme.http.get(f"/rooms/{room}/chat")).json()["messages"]
    assert [m["text"] for m in history] == ["HELLO"]  # the rejected one was never stored


async def test_recording_hooks(new_tenant: TenantFactory, test_plugins_node: Node) -> None:
    # podium_recording_started, podium_recording_stopped: the recording feature calls
    # PluginHost.recording_started/stopped; the probe's route stands in for it here.
    acme = await new_tenant(on=test_plugins_node, probe={})
    room = (await acme.room())["slug"]
    async with httpx.AsyncClient(base_url=test_plugins_node.url) as http:
        for what in ("start", "stop"):
            assert (
                await http.post(f"/api/v1/plugins/probe/recording/{acme.slug}/{room}/{what}")
            ).status_code == 204
    log = await _log(test_plugins_node, room, "recording_stopped:recording")
    assert log.index("recording_started:recording") < log.index("recording_stopped:recording")


async def test_layouts_routes_and_client_assets_are_offered(
    new_tenant: TenantFactory, test_plugins_node: Node
) -> None:
    # podium_layouts, podium_routes, podium_client_assets
    acme: TenantClient = await new_tenant(on=test_plugins_node, probe={})
    listing = (await acme.http.get("/plugins/probe")).json()
    assert listing["layouts"] == ["probe-diagonal"] and listing["slots"] == ["stage_overlay"]
    room = (await acme.room())["slug"]
    ann = await acme.join(room, "ann")
    client = next(p for p in (ann.first or {})["plugins"] if p["name"] == "probe")["client"]
    assert client["module"] == "/plugins/probe/assets/probe.js" and client["slots"] == ["stage_overlay"]
    async with httpx.AsyncClient(base_url=test_plugins_node.url) as http:
        script = await http.get(client["module"])
        assert script.status_code == 200 and "export default function setup" in script.text
        assert (await http.get(f"/api/v1/plugins/probe/log/{room}")).status_code == 200


async def test_the_other_tenants_rooms_are_invisible(
    new_tenant: TenantFactory, test_plugins_node: Node
) -> None:
    with_probe = await new_tenant(on=test_plugins_node, probe={})
    without = await new_tenant(on=test_plugins_node)
    room = (await without.room())["slug"]
    ann = await without.join(room, "ann")
    await ann.request({"type": "chat.send", "text": "oh darn"})  # the probe would refuse this
    await ann.leave()
    other = (await with_probe.room())["slug"]
    await with_probe.join(other, "bob")
    await _log(test_plugins_node, other, "joined:bob")
    async with httpx.AsyncClient(base_url=test_plugins_node.url) as http:
        assert (await http.get(f"/api/v1/plugins/probe/log/{room}")).json() == []


async def test_plugin_commands_are_rate_limited_per_connection(
    new_tenant: TenantFactory, test_plugins_node: Node
) -> None:
    acme = await new_tenant(on=test_plugins_node, probe={})
    room = (await acme.room())["slug"]
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")
    replies = [await command(ann, "probe", "echo", {"text": str(i)}) for i in range(30)]
    codes = [r.get("code", "ack") for r in replies]
    assert codes[:20] == ["ack"] * 20 and "rate_limited" in codes[20:]
    assert (await command(bob, "probe", "echo", {"text": "me too"}))["type"] == "ack"  # per connection
