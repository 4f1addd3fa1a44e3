"""Slides in MCU rooms: the page is a tile of the composite everyone receives (and outputs keep).

A real media node (``podium serve``'s own) and a real aiortc participant; the deck's pages
are solid colours, so the test finds the slide in the composite it receives.
"""

from __future__ import annotations

import pytest

from tests.plugins.conftest import TenantFactory, command
from tests.plugins.pdf import make_colour_pdf, ready_deck
from tests.support.analysis import PALETTE, TONES_HZ
from tests.support.synthetic import SyntheticParticipant

SLIDES = {"orange": (250, 140, 0), "teal": (0, 128, 128)}
COLOURS = {**SLIDES, "maroon": PALETTE["maroon"]}


pytestmark = pytest.mark.embedded_only


async def test_the_presented_page_is_a_tile_of_the_composite(
    new_tenant: TenantFactory, people: list[SyntheticParticipant]
) -> None:
    # podium_media_started: the deck is presented before the room's media session exists;
    # the media node's fresh session gets the page (and the layout) when it opens.
    acme = await new_tenant(slides={}, layouts={})
    room = (await acme.room(media_mode="mcu"))["slug"]
    host = await acme.join(room, "hana", "host")
    deck = await ready_deck(acme, room, host, make_colour_pdf(list(SLIDES.values())))
    assert (await command(host, "layouts", "set", {"layout": "presentation"}))["type"] == "ack"
    assert (await command(host, "slides", "present", {"deck_id": deck["id"]}))["type"] == "ack"

    viewer = await SyntheticParticipant.join(
        acme, room, "maroon", PALETTE["maroon"], TONES_HZ[0], latency_hz=0
    )
    people.append(viewer)
    await viewer.wait_mcu_connected(30)
    # Presentation layout: the slide is the large tile (~3/5 of the canvas), the camera beside it.
    await viewer.wait_shares(
        COLOURS, {"orange": (0.4, 0.8), "maroon": (0.02, 0.3), "teal": (0, 0)}, "page 1, presentation"
    )

    assert (await command(host, "slides", "page", {"page": 2}))["type"] == "ack"
    await viewer.wait_shares(COLOURS, {"teal": (0.4, 0.8), "orange": (0, 0.001)}, "page 2")

    assert (await command(host, "layouts", "set", {"layout": "grid"}))["type"] == "ack"
    # Grid: the slide still leads (on top, letterboxed whole), the camera in a strip below it.
    await viewer.wait_shares(COLOURS, {"teal": (0.3, 0.7), "maroon": (0.005, 0.1)}, "page 2, grid")

    assert (await command(host, "slides", "stop"))["type"] == "ack"
    await viewer.wait_shares(COLOURS, {"teal": (0, 0.001), "maroon": (0.4, 1.0)}, "stopped")
