"""Slides: upload limits with clear errors, rendering by a job, everyone follows the presenter."""

from __future__ import annotations

import asyncio

import httpx

from tests.plugins.conftest import TenantFactory, command, event_where, plugin_state
from tests.plugins.pdf import make_pdf, ready_deck, upload_deck


async def test_the_presenter_turns_pages_and_everyone_follows(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(slides={})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    deck = await ready_deck(acme, room, host, make_pdf(3))

    assert (await command(ann, "slides", "present", {"deck_id": deck["id"]}))["code"] == "forbidden"
    assert (await command(host, "slides", "present", {"deck_id": deck["id"]}))["type"] == "ack"
    slide = await event_where(ann, "slides", "slide", lambda d: d is not None)
    assert (slide["page"], slide["pages"], slide["presenter"]) == (1, 3, "Hana")

    async with httpx.AsyncClient(base_url=acme.base_url) as http:
        image = await http.get(slide["url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content[:2] == b"\xff\xd8"
        assert (await http.get(slide["url"].replace("/pages/1", "/pages/9"))).status_code == 404

    await command(host, "slides", "page", {"page": 2})
    assert (await event_where(ann, "slides", "slide", lambda d: d and d["page"] == 2))["page"] == 2
    assert (await command(host, "slides", "page", {"page": 4}))["code"] == "page_out_of_range"

    late = await acme.join(room, "carl")
    assert plugin_state(late.first or {}, "slides")["current"]["page"] == 2
    assert "decks" not in plugin_state(late.first or {}, "slides")  # only presenters see the deck list

    await command(host, "slides", "stop")
    assert await event_where(ann, "slides", "slide", lambda d: d is None) is None


async def test_uploads_are_limited_with_clear_errors(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(slides={"max_pages": 2, "max_upload_mb": 0.05})
    room = (await acme.room())["slug"]
    host_token = await acme.token(room, "hana", "host")

    too_many = await upload_deck(acme, room, host_token, make_pdf(3))
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "slides_too_many_pages"
    assert "2 pages" in too_many.json()["error"]["message"]

    too_big = await upload_deck(acme, room, host_token, b"%PDF-1.4\n" + b"0" * 60_000)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "slides_too_large"

    not_pdf = await upload_deck(acme, room, host_token, b"GIF89a not a pdf")
    assert not_pdf.status_code == 415 and not_pdf.json()["error"]["code"] == "slides_not_pdf"
    broken = await upload_deck(acme, room, host_token, b"%PDF-1.4 but nothing else")
    assert broken.status_code == 415 and broken.json()["error"]["code"] == "slides_not_pdf"

    attendee = await upload_deck(acme, room, await acme.token(room, "ann"), make_pdf(1))
    assert attendee.status_code == 403
    other_room = (await acme.room())["slug"]
    wrong_room = await upload_deck(acme, other_room, host_token, make_pdf(1))
    assert wrong_room.status_code == 403

    off = await new_tenant()
    off_room = (await off.room())["slug"]
    refused = await upload_deck(off, off_room, await off.token(off_room, "hana", "host"), make_pdf(1))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "plugin_not_enabled"
    await asyncio.sleep(0)
