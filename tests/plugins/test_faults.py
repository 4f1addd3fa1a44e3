"""Faulty plugins (raising, hanging, returning garbage) never break a room; repeat offenders are
switched off for the tenant, and the room's hosts hear about it."""

from __future__ import annotations

import time

import pytest

from tests.plugins.conftest import TenantFactory, command, plugin_state
from tests.support.server import Node


@pytest.mark.parametrize("mode", ["raise", "hang", "garbage"])
async def test_a_faulty_plugin_does_not_break_the_room(
    new_tenant: TenantFactory, test_plugins_node: Node, mode: str
) -> None:
    acme = await new_tenant(on=test_plugins_node, faulty={"mode": mode}, probe={})
    room = (await acme.room())["slug"]
    started = time.monotonic()
    host = await acme.join(room, "hana", "host")
    # The faulty plugin is listed without state; the well-behaved one next to it is unharmed.
    assert plugin_state(host.first or {}, "faulty") is None
    assert plugin_state(host.first or {}, "probe")["hello"] == "Hana"
    assert time.monotonic() - started < 5  # a hang costs one hook budget (0.5 s here), not the room

    # A command the plugin fails on is refused; nothing else changes.
    poke = await command(host, "faulty", "poke", {})
    assert poke["type"] == "error" and poke["code"] == "plugin_failed"

    ann = await acme.join(room, "ann")
    sent = time.monotonic()
    assert (await ann.request({"type": "chat.send", "text": "still here"}))["type"] == "ack"
    assert time.monotonic() - sent < 2.5  # even a blocking synchronous chat filter is cut off
    assert (await host.next("chat.message"))["message"]["text"] == "still here"
    assert (await command(ann, "probe", "echo", {"text": "ok"}))["type"] == "ack"


async def test_a_plugin_failing_again_and_again_is_switched_off(
    new_tenant: TenantFactory, test_plugins_node: Node
) -> None:
    acme = await new_tenant(on=test_plugins_node, faulty={"mode": "raise"})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")  # welcome + joined: two failures
    ann = await acme.join(room, "ann")  # the third (PODIUM_PLUGIN_MAX_FAILURES=3)
    disabled = await host.next("plugin.disabled")
    assert disabled["plugin"] == "faulty" and "failures in a row" in disabled["reason"]
    await ann.next("plugin.disabled")

    listing = (await acme.http.get("/plugins/faulty")).json()
    assert listing["enabled"] is False and "RuntimeError" in listing["disabled_reason"]
    assert (await command(ann, "faulty", "poke", {}))["code"] == "plugin_not_enabled"
    assert (await ann.request({"type": "chat.send", "text": "fine"}))["type"] == "ack"

    # Another tenant with the same plugin is not affected; re-enabling clears the reason.
    listing = (
        await acme.http.put("/plugins/faulty", json={"enabled": True, "config": {"mode": "ok"}})
    ).json()
    assert listing["enabled"] is True and listing["disabled_reason"] is None
