"""Breakout rooms in real Chromium: a host opens them from the dialog, attendees move with their
cameras into a room of their own (chat stays there), the host visits and messages everyone, and
closing brings everyone back to the main room, video and all."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.test_p2p_media import videos_play
from tests.support.browser import BrowserParticipant, Meeting, eventually


async def _in_room(person: BrowserParticipant, breakout: bool) -> None:
    """Wait until ``person`` is joined in a breakout room (``~`` in its slug) or the main room."""
    await eventually(
        person.state,
        lambda s: s["phase"] == "joined" and ("~" in s["room"]["slug"]) == breakout,
        f"{person.identity} {'in a breakout' if breakout else 'in the main room'}",
    )


async def test_a_host_runs_breakouts_and_everyone_comes_back(meeting: Meeting) -> None:
    room = await meeting.room()
    hana, ann, bob, cid = await meeting.join_all(
        room, ("hana", "host"), ("ann", "attendee"), ("bob", "attendee"), ("cid", "attendee")
    )
    await expect(ann.page.get_by_test_id("breakouts-button")).to_be_hidden()

    # Two rooms, assigned by hand: Ann and Bob together, Cid alone.
    await hana.page.get_by_test_id("breakouts-button").click()
    dialog = hana.page.get_by_test_id("breakouts-dialog")
    await dialog.get_by_test_id("breakouts-assignment").select_option("manual")
    await dialog.get_by_test_id("breakouts-open").click()
    await expect(dialog.get_by_test_id("breakout-room")).to_have_count(2)
    for name, number in (("Ann", "1"), ("Bob", "1"), ("Cid", "2")):
        row = dialog.get_by_test_id("breakout-main-person").filter(has_text=name)
        await row.get_by_test_id("breakout-move-select").select_option(number)
    for person in (ann, bob, cid):
        await _in_room(person, breakout=True)
    await expect(ann.page.get_by_test_id("breakout-where")).to_have_text("You're in Breakout 1")
    await expect(cid.page.get_by_test_id("breakout-where")).to_have_text("You're in Breakout 2")
    await ann.sees_participants({"ann", "bob"})
    # Their cameras came along: Ann and Bob see each other's video without touching anything.
    await videos_play(ann, 1)
    await videos_play(bob, 1)
    # Chat stays in its breakout.
    await ann.send_chat("just us two")
    await bob.send_chat("-- seen --")
    assert await bob.chat_texts("-- seen --") == ["just us two", "-- seen --"]
    await cid.send_chat("alone here")
    assert await cid.chat_texts("alone here") == ["alone here"]

    # The host visits breakout 1 (everyone there sees her) and messages every room from there.
    await dialog.get_by_test_id("breakout-room").first.get_by_test_id("breakout-visit").click()
    await _in_room(hana, breakout=True)
    await ann.sees_participants({"ann", "bob", "hana"})
    await hana.page.get_by_test_id("breakouts-button").click()
    await dialog.get_by_test_id("breakouts-message").fill("Two minutes left")
    await dialog.get_by_test_id("breakouts-send").click()
    for person in (ann, cid):
        said = person.page.get_by_test_id("breakout-broadcast")
        await expect(said).to_contain_text("Hana: Two minutes left")

    # Close: everyone is back in the main room, with its own chat and everyone's video.
    await dialog.get_by_test_id("breakouts-close").click()
    for person in (hana, ann, bob, cid):
        await _in_room(person, breakout=False)
        await expect(person.page.get_by_test_id("breakout-bar")).to_be_hidden()
    await cid.sees_participants({"hana", "ann", "bob", "cid"})
    await videos_play(cid, 3)
    await hana.send_chat("welcome back")
    assert await ann.chat_texts("welcome back") == ["welcome back"]


async def test_attendees_choose_a_breakout_and_go_back_themselves(meeting: Meeting) -> None:
    room = await meeting.room()
    hana, ann = await meeting.join_all(room, ("hana", "host"), ("ann", "attendee"))
    await hana.page.get_by_test_id("breakouts-button").click()
    dialog = hana.page.get_by_test_id("breakouts-dialog")
    await dialog.get_by_test_id("breakouts-count").fill("3")
    await dialog.get_by_test_id("breakouts-assignment").select_option("choice")
    await dialog.get_by_test_id("breakouts-minutes").fill("30")
    await dialog.get_by_test_id("breakouts-open").click()
    # Ann stays until she picks one; the bar shows the time left and the choices.
    await expect(ann.page.get_by_test_id("breakout-choose")).to_have_count(3)
    await expect(ann.page.get_by_test_id("breakout-time-left")).to_contain_text(":")
    await ann.page.get_by_test_id("breakout-choose").nth(2).click()
    await _in_room(ann, breakout=True)
    await expect(ann.page.get_by_test_id("breakout-where")).to_have_text("You're in Breakout 3")
    await ann.page.get_by_test_id("breakout-return").click()
    await _in_room(ann, breakout=False)
    await ann.sees_participants({"hana", "ann"})
