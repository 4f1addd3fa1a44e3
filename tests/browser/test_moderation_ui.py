"""Moderation in the browser: a host removes people and ends the meeting; an attendee cannot."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import Meeting


async def test_a_host_removes_an_attendee_through_the_people_panel(meeting: Meeting) -> None:
    room = await meeting.room()
    hana, ann, bob = await meeting.join_all(room, ("hana", "host"), ("ann", "attendee"), ("bob", "attendee"))
    bob_id = await bob.participant_id()
    for viewer in (hana, ann):
        await expect(viewer.tile(bob_id)).to_be_visible()

    await hana.row(bob_id).get_by_test_id("participant-actions").click()
    await hana.page.get_by_test_id("participant-menu").get_by_test_id("action-kick").click()
    await hana.page.locator("[data-testid=confirm-kick]").get_by_test_id("dialog-confirm").click()

    await expect(bob.screen("kicked")).to_be_visible()
    await expect(bob.screen("kicked")).to_contain_text("You were removed by Hana")
    for viewer in (hana, ann):
        await expect(viewer.tile(bob_id)).to_have_count(0)
        await expect(viewer.row(bob_id)).to_have_count(0)
        await viewer.sees_participants({"hana", "ann"})
    await expect(ann.page.get_by_test_id("participant-count")).to_have_text("2 people")


async def test_a_host_ends_the_meeting_for_everyone(meeting: Meeting) -> None:
    room = await meeting.room()
    people = await meeting.join_all(room, ("hana", "host"), ("mo", "moderator"), ("ann", "attendee"))
    hana = people[0]

    await hana.page.get_by_test_id("leave-button").click()
    await hana.page.locator("[data-testid=leave-dialog]").get_by_test_id("end-meeting").click()
    await hana.page.locator("[data-testid=confirm-end]").get_by_test_id("dialog-confirm").click()

    for person in people:
        await expect(person.screen("ended")).to_be_visible()
        await expect(person.screen("ended")).to_contain_text("The meeting has ended")
    # Their links are spent: reloading the page does not put anyone back in.
    ann = people[2]
    await ann.page.reload()
    await ann.enter(expect="ended:ended")
    await expect(ann.screen("ended")).to_be_visible()


async def test_an_attendee_has_no_moderation_controls_and_a_forged_kick_changes_nothing(
    meeting: Meeting,
) -> None:
    room = await meeting.room()
    hana, ann, bob = await meeting.join_all(room, ("hana", "host"), ("ann", "attendee"), ("bob", "attendee"))
    bob_id = await bob.participant_id()

    # The host's menu for Bob has the moderation items (so the selectors below are the right ones)…
    await hana.row(bob_id).get_by_test_id("participant-actions").click()
    host_menu = hana.page.get_by_test_id("participant-menu")
    await expect(host_menu.get_by_test_id("action-kick")).to_be_visible()
    await hana.page.keyboard.press("Escape")

    # …Ann's has only "send a private message", for anyone.
    rows = ann.page.get_by_test_id("participant-row")
    await expect(rows).to_have_count(3)
    for other in (hana, bob):
        await ann.row(await other.participant_id()).get_by_test_id("participant-actions").click()
        items = ann.page.get_by_test_id("participant-menu").get_by_role("menuitem")
        await expect(items).to_have_count(1)
        assert await items.evaluate_all("(els) => els.map((e) => e.dataset.testid)") == ["action-message"]
        await ann.page.keyboard.press("Escape")
    await expect(ann.page.get_by_test_id("lobby-section")).to_be_hidden()

    # Leaving is all the leave button offers her: no "end for everyone" dialog.
    assert "room.end" not in (await ann.state())["permissions"]

    forged = await ann.page.evaluate(
        """(id) => window.podium.connection.request("participant.kick", {participant_id: id})
             .then((ack) => ack, (error) => error)""",
        bob_id,
    )
    assert (forged["type"], forged["code"]) == ("error", "forbidden")
    await expect(ann.page.locator("[data-testid=toast-error][data-code=forbidden]")).to_be_visible()

    # Bob is still in, still heard: his next message reaches everyone.
    await bob.send_chat("still here")
    for person in (hana, ann, bob):
        assert await person.chat_texts("still here") == ["still here"]
        await person.sees_participants({"hana", "ann", "bob"})
    assert await bob.where() == "joined"


async def test_ask_to_mute_prompts_the_attendee_who_mutes_with_one_click(meeting: Meeting) -> None:
    room = await meeting.room()
    hana, ann = await meeting.join_all(room, ("hana", "host"), ("ann", "attendee"))
    ann_id = await ann.participant_id()
    await expect(ann.page.get_by_test_id("toggle-mic")).to_have_attribute("aria-pressed", "true")

    await hana.row(ann_id).get_by_test_id("participant-actions").click()
    await hana.page.get_by_test_id("participant-menu").get_by_test_id("action-ask-mute-audio").click()

    prompt = ann.page.get_by_test_id("toast-mute-request")
    await expect(prompt).to_contain_text("Hana asked you to mute your microphone")
    # Podium never mutes anyone by itself: the microphone is on until the attendee agrees.
    await expect(ann.page.get_by_test_id("toggle-mic")).to_have_attribute("aria-pressed", "true")
    await prompt.get_by_test_id("toast-mute-accept").click()
    await expect(ann.page.get_by_test_id("toggle-mic")).to_have_attribute("aria-pressed", "false")
    # Everyone sees the microphone-off mark on Ann's tile.
    await expect(hana.tile(ann_id).get_by_role("img", name="Microphone off")).to_be_visible()
