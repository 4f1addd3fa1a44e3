"""``/api/v1/plugins``: what a server offers, and a tenant's switches and validated config."""

from __future__ import annotations

from tests.plugins.conftest import TenantFactory, command
from tests.support.client import TenantClient

BUILTINS = {"layouts", "polls", "qa", "reactions", "slides"}


async def test_plugins_are_listed_with_their_config_schema(new_tenant: TenantFactory) -> None:
    acme: TenantClient = await new_tenant()
    listed = {p["name"]: p for p in (await acme.http.get("/plugins")).json()["plugins"]}
    assert set(listed) >= BUILTINS
    polls = listed["polls"]
    assert polls["enabled"] is False and polls["builtin"] is True
    assert polls["config_schema"]["properties"]["max_options"]["default"] == 10
    assert polls["config"] == {"max_options": 10, "allow_anonymous": True, "live_results": True}
    assert {a["name"]: a["roles"] for a in polls["actions"]}["create"] == ["host", "moderator"]
    assert polls["webhook_events"] == ["plugin.polls.closed"]
    assert listed["layouts"]["layouts"] == ["grid", "speaker", "presentation"]


async def test_enabling_validates_the_config(new_tenant: TenantFactory) -> None:
    acme: TenantClient = await new_tenant()
    bad = await acme.http.put("/plugins/polls", json={"enabled": True, "config": {"max_options": 99}})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_config"
    assert "max_options" in bad.json()["error"]["message"] and "20" in bad.json()["error"]["message"]
    unknown = await acme.http.put("/plugins/polls", json={"enabled": True, "config": {"colour": "red"}})
    assert unknown.status_code == 422 and "colour" in unknown.json()["error"]["message"]
    assert (await acme.http.get("/plugins/polls")).json()["enabled"] is False

    ok = await acme.http.put("/plugins/polls", json={"enabled": True, "config": {"max_options": 4}})
    assert ok.status_code == 200 and ok.json()["config"]["max_options"] == 4
    # Switching off keeps the config for next time.
    off = (await acme.http.put("/plugins/polls", json={"enabled": False})).json()
    assert off["enabled"] is False and off["config"]["max_options"] == 4


async def test_unknown_plugins_and_other_tenants(new_tenant: TenantFactory) -> None:
    a: TenantClient = await new_tenant(polls={})
    b: TenantClient = await new_tenant()
    assert (await a.http.put("/plugins/nope", json={"enabled": True})).status_code == 404
    assert (await b.http.get("/plugins/polls")).json()["enabled"] is False
    assert (await a.http.get("/plugins/polls")).json()["enabled"] is True
    anonymous = await a.http.get("/plugins", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_switching_a_plugin_reaches_rooms_in_session(new_tenant: TenantFactory) -> None:
    acme: TenantClient = await new_tenant()
    other: TenantClient = await new_tenant()
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    bystander = await other.join((await other.room())["slug"], "olga", "host")
    assert [p["name"] for p in (host.first or {})["plugins"]] == []

    on = await acme.http.put("/plugins/polls", json={"enabled": True, "config": {"max_options": 3}})
    assert on.status_code == 200
    for member in (host, ann):
        changed = await member.next("plugins.changed")
        polls = next(p for p in changed["plugins"] if p["name"] == "polls")
        assert polls["client"]["module"].endswith("polls.js") and polls["state"] is not None
    create = {"question": "Lunch?", "options": ["Soup", "Salad"]}
    assert (await command(host, "polls", "create", create))["type"] == "ack"

    await acme.http.put("/plugins/polls", json={"enabled": False})
    changed = await ann.next("plugins.changed")
    assert "polls" not in [p["name"] for p in changed["plugins"]]
    refused = await command(host, "polls", "create", create)
    assert refused["code"] == "plugin_not_enabled"
    # Another tenant's rooms hear nothing of it.
    await bystander.request({"type": "ping"})
    assert not [m for m in bystander.seen if m["type"] == "plugins.changed"]
