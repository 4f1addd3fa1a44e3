"""Layouts: a host sets the room's layout for everyone; the compositor gets the presentation layout."""

from __future__ import annotations

from podium.core.plugins import BUILTIN_PLUGINS, build_plugin_manager, install_layouts, plugin_layouts
from podium.media.layout import LAYOUTS, LayoutRequest
from podium.plugins.layouts.compose import presentation
from tests.plugins.conftest import TenantFactory, command, event_where, plugin_state


async def test_a_host_sets_the_layout_for_everyone(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(layouts={"default": "speaker", "moderators_may_set": False})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    mo = await acme.join(room, "mo", "moderator")
    state = plugin_state(ann.first or {}, "layouts")
    assert state["layout"] == "speaker" and [x["name"] for x in state["layouts"]] == [
        "grid",
        "speaker",
        "presentation",
    ]

    assert (await command(ann, "layouts", "set", {"layout": "grid"}))["code"] == "forbidden"
    assert (await command(mo, "layouts", "set", {"layout": "grid"}))["code"] == "forbidden"
    assert (await command(host, "layouts", "set", {"layout": "mosaic"}))["code"] == "invalid_message"
    assert (await command(host, "layouts", "set", {"layout": "presentation"}))["type"] == "ack"
    changed = await event_where(ann, "layouts", "changed", lambda d: True)
    assert changed == {"layout": "presentation", "presenter": host.id, "by": "Hana"}

    late = await acme.join(room, "bob")
    assert plugin_state(late.first or {}, "layouts")["layout"] == "presentation"


def test_the_compositor_gets_every_plugin_layout() -> None:
    added = install_layouts(plugin_layouts(build_plugin_manager(BUILTIN_PLUGINS, entry_points_too=False)))
    assert {"grid", "speaker", "presentation"} <= set(added)
    assert LAYOUTS["presentation"] is presentation


def test_the_presentation_layout_puts_the_presenter_large() -> None:
    tiles = presentation(
        LayoutRequest(participants=["p", "a", "b", "c"], speaker="a", width=1280, height=720)
    )
    main, *others = tiles
    assert main.participant_id == "p" and main.w > 900
    assert [t.participant_id for t in others] == ["a", "b", "c"]
    assert all(t.x >= main.x + main.w for t in others)
    assert all(v % 2 == 0 for t in tiles for v in (t.x, t.y, t.w, t.h))
    assert all(t.y + t.h <= 720 and t.x + t.w <= 1280 for t in tiles)
