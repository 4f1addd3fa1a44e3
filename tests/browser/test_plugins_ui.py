"""Plugins in Chromium: a live poll, slides everyone follows, and no plugin UI where it is off."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.plugins.conftest import enable
from tests.plugins.pdf import make_colour_pdf, make_pdf
from tests.support.browser import Meeting
from tests.support.client import TenantClient
from tests.support.server import Deployment, Node

SLIDE_ORANGE = (250, 140, 0)


@pytest_asyncio.fixture(loop_scope="session")
async def plugin_meeting(browser: Browser, deployment: Deployment, node: Node) -> AsyncIterator[Meeting]:
    """A meeting of a tenant of its own that enabled the built-in plugins."""
    issued = deployment.create_tenant(f"Plugins {uuid.uuid4().hex[:6]}")
    tenant = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    for name in ("polls", "slides", "reactions", "qa", "layouts"):
        await enable(tenant, name)
    people = Meeting(browser, tenant)
    yield people
    await people.close()
    await tenant.close()


async def test_a_host_runs_a_poll_and_everyone_sees_the_votes_live(plugin_meeting: Meeting) -> None:
    room = await plugin_meeting.room()
    people = ("hana", "host"), ("ann", "attendee"), ("bob", "attendee")
    hana, ann, bob = await plugin_meeting.join_all(room, *people)

    await hana.page.get_by_test_id("polls-button").click()
    await hana.page.get_by_test_id("poll-question-input").fill("Where do we meet next?")
    await hana.page.get_by_test_id("poll-options-input").fill("Berlin\nLisbon\nOnline")
    await hana.page.get_by_test_id("poll-start").click()

    # Attendees get the poll opened for them and vote in their own browsers.
    for person, answer in ((ann, "Lisbon"), (bob, "Lisbon")):
        card = person.page.get_by_test_id("poll-card")
        await expect(card.get_by_test_id("poll-question")).to_have_text("Where do we meet next?")
        await card.get_by_test_id("poll-option").filter(has_text=answer).get_by_test_id("poll-choice").check()
        await card.get_by_test_id("poll-vote").click()
        await expect(card.get_by_test_id("poll-vote")).to_have_count(0)

    for person in (hana, ann, bob):
        lisbon = person.page.get_by_test_id("poll-option").filter(has_text="Lisbon")
        await expect(lisbon.get_by_test_id("poll-count")).to_have_text("2")
    # Hosts see who voted for what (the poll is not anonymous).
    lisbon_for_host = hana.page.get_by_test_id("poll-option").filter(has_text="Lisbon")
    await expect(lisbon_for_host).to_contain_text("Ann, Bob")

    await hana.page.get_by_test_id("poll-close").click()
    for person in (hana, ann, bob):
        await expect(person.page.get_by_test_id("poll-card")).to_have_attribute("data-status", "closed")


async def test_attendees_follow_the_presenters_slides(plugin_meeting: Meeting, tmp_path: Path) -> None:
    room = await plugin_meeting.room()
    hana, ann = await plugin_meeting.join_all(room, ("hana", "host"), ("ann", "attendee"))
    await expect(ann.page.get_by_test_id("slides-button")).to_have_count(0)  # attendees don't present

    pdf = tmp_path / "deck.pdf"
    pdf.write_bytes(make_pdf(3))
    await hana.page.get_by_test_id("slides-button").click()
    await hana.page.get_by_test_id("slides-file").set_input_files(pdf)
    deck = hana.page.get_by_test_id("slides-deck")
    # Rendering is a background job: seconds on an idle machine, over 45 s beside a benchmark.
    await expect(deck).to_have_attribute("data-status", "ready", timeout=120_000)
    await deck.get_by_test_id("slides-present").click()

    await expect(ann.page.get_by_test_id("slide-counter")).to_have_text("1 / 3")
    page_one = re.compile(r"^/api/v1/plugins/slides/decks/[0-9a-f]{32}/pages/1$")
    await expect(ann.page.get_by_test_id("slide-image")).to_have_attribute("src", page_one)
    # Two quick clicks (before the room shows page 2) turn two pages.
    await hana.page.get_by_test_id("slide-next").dblclick()
    await expect(ann.page.get_by_test_id("slide-counter")).to_have_text("3 / 3")
    loaded = await ann.wait_for(
        "() => { const i = document.querySelector('[data-testid=slide-image]');"
        " return i.complete && i.naturalWidth; }"
    )
    assert loaded > 0
    await expect(ann.page.get_by_test_id("slide-prev")).to_be_hidden()  # only presenters turn pages

    # A late joiner lands on the current page.
    carl = await plugin_meeting.join(room, "carl")
    await expect(carl.page.get_by_test_id("slide-counter")).to_have_text("3 / 3")

    await hana.page.get_by_test_id("slide-stop").click()
    await expect(ann.page.get_by_test_id("plugin-stage")).to_be_hidden()


async def test_in_an_mcu_room_the_slide_is_on_the_composite_and_the_browser_shows_the_controls(
    plugin_meeting: Meeting, tmp_path: Path
) -> None:
    room = await plugin_meeting.room(media_mode="mcu")
    hana, ann = await plugin_meeting.join_all(room, ("hana", "host"), ("ann", "attendee"))
    pdf = tmp_path / "deck.pdf"
    pdf.write_bytes(make_colour_pdf([SLIDE_ORANGE, SLIDE_ORANGE]))
    await hana.page.get_by_test_id("slides-button").click()
    await hana.page.get_by_test_id("slides-file").set_input_files(pdf)
    deck = hana.page.get_by_test_id("slides-deck")
    # Rendering is a background job: seconds on an idle machine, over 45 s beside a benchmark.
    await expect(deck).to_have_attribute("data-status", "ready", timeout=120_000)
    await deck.get_by_test_id("slides-present").click()

    # The composite carries the page: no second copy of it on the stage, only the caption and,
    # for the presenter, the page controls over the composite.
    await expect(ann.page.get_by_test_id("slides-overlay")).to_be_visible()
    await expect(ann.page.get_by_test_id("slide-caption")).to_have_text("Hana is presenting deck.pdf")
    await expect(ann.page.get_by_test_id("plugin-stage")).to_be_hidden()
    await expect(ann.page.get_by_test_id("slide-next")).to_be_hidden()
    await expect(hana.page.get_by_test_id("slide-counter")).to_have_text("1 / 2")
    await hana.page.get_by_test_id("slide-next").click()
    await expect(ann.page.get_by_test_id("slide-counter")).to_have_text("2 / 2")
    # The page is in the composite the browser plays: its orange covers much of the picture.
    orange = await ann.wait_for(
        """() => { const v = document.querySelector('[data-testid=composite] video');
                   if (!v || !v.videoWidth) return 0;
                   const c = document.createElement('canvas'); c.width = 160; c.height = 90;
                   const g = c.getContext('2d'); g.drawImage(v, 0, 0, 160, 90);
                   const d = g.getImageData(0, 0, 160, 90).data; let n = 0;
                   for (let i = 0; i < d.length; i += 4)
                     if (Math.abs(d[i] - 250) < 40 && Math.abs(d[i+1] - 140) < 40 && d[i+2] < 50) n++;
                   return n / (160 * 90) > 0.3 ? n / (160 * 90) : 0; }"""
    )
    assert orange > 0.3

    await hana.page.get_by_test_id("slide-stop").click()
    await expect(ann.page.get_by_test_id("slides-overlay")).to_be_hidden()


async def test_hands_questions_reactions_and_the_layout_reach_everyone(plugin_meeting: Meeting) -> None:
    room = await plugin_meeting.room()
    hana, ann = await plugin_meeting.join_all(room, ("hana", "host"), ("ann", "attendee"))

    # The hand is the room's own (one button, the People panel's queue), not the Q&A plugin's.
    await expect(ann.page.get_by_test_id("hand-button")).to_have_count(1)
    await ann.page.get_by_test_id("hand-button").click()
    await expect(ann.page.get_by_test_id("hand-button")).to_have_attribute("aria-pressed", "true")
    await expect(hana.page.get_by_test_id("hand-row")).to_have_text(re.compile("1. Ann"))
    await hana.page.get_by_test_id("hand-lower").click()
    await expect(ann.page.get_by_test_id("hand-button")).to_have_attribute("aria-pressed", "false")
    await hana.page.get_by_test_id("qa-button").click()

    await ann.page.get_by_test_id("qa-button").click()
    await ann.page.get_by_test_id("question-input").fill("Will there be a recording?")
    await ann.page.get_by_test_id("question-submit").click()
    question = hana.page.get_by_test_id("question")
    await expect(question).to_contain_text("Will there be a recording?")
    await question.get_by_test_id("question-upvote").click()
    await expect(ann.page.get_by_test_id("question")).to_contain_text("1 vote")
    await question.get_by_test_id("question-answer").click()
    await expect(ann.page.get_by_test_id("question")).to_contain_text("answered")

    await ann.page.get_by_test_id("reaction-button").first.click()
    await expect(hana.page.get_by_test_id("reaction-bubble")).to_contain_text("Ann")

    await expect(ann.page.get_by_test_id("layout-select")).to_be_hidden()  # hosts choose
    await hana.page.get_by_test_id("layout-select").select_option("speaker")
    await expect(ann.page.get_by_test_id("stage")).to_have_attribute("data-layout", "speaker")


async def test_a_tenant_without_plugins_shows_no_plugin_ui(meeting: Meeting, acme: TenantClient) -> None:
    room = await meeting.room()
    (hana,) = await meeting.join_all(room, ("hana", "host"))
    await asyncio.sleep(0.3)
    assert (await hana.state())["plugins"] == []
    await expect(hana.page.get_by_test_id("polls-button")).to_have_count(0)
    await expect(hana.page.get_by_test_id("plugin-toolbar")).to_be_empty()


async def test_plugins_switched_mid_meeting_appear_and_go_without_a_reload(
    browser: Browser, deployment: Deployment, node: Node
) -> None:
    issued = deployment.create_tenant(f"Switch {uuid.uuid4().hex[:6]}")
    tenant = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    people = Meeting(browser, tenant)
    try:
        (hana,) = await people.join_all(await people.room(), ("hana", "host"))
        await expect(hana.page.get_by_test_id("polls-button")).to_have_count(0)
        await enable(tenant, "polls")
        await hana.page.get_by_test_id("polls-button").click()
        await expect(hana.page.get_by_test_id("poll-question-input")).to_be_visible()
        await tenant.http.put("/plugins/polls", json={"enabled": False})
        await expect(hana.page.get_by_test_id("polls-button")).to_have_count(0)
        await expect(hana.page.get_by_test_id("poll-question-input")).to_have_count(0)
    finally:
        await people.close()
        await tenant.close()
