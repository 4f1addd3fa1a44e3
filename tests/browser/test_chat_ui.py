"""Chat in the browser: what each person reads depends on the audience the sender picked."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import Meeting

SENTINEL = "-- end --"


async def test_audiences_reach_exactly_the_right_people(meeting: Meeting) -> None:
    room = await meeting.room()
    hana, mo, ann, bob = await meeting.join_all(
        room, ("hana", "host"), ("mo", "moderator"), ("ann", "attendee"), ("bob", "attendee")
    )

    await ann.send_chat("hello all")
    await ann.send_chat("psst staff", to="moderators")
    await ann.send_chat("just you, bob", to=await bob.participant_id())
    # Sent last to everyone: once it is on a screen, anything wrongly delivered would be too.
    await hana.send_chat(SENTINEL)

    assert await hana.chat_texts(SENTINEL) == ["hello all", "psst staff", SENTINEL]
    assert await mo.chat_texts(SENTINEL) == ["hello all", "psst staff", SENTINEL]
    assert await ann.chat_texts(SENTINEL) == ["hello all", "psst staff", "just you, bob", SENTINEL]
    assert await bob.chat_texts(SENTINEL) == ["hello all", "just you, bob", SENTINEL]

    # Each reader is told who else could read a message that was not for everyone.
    staff_note = mo.page.get_by_test_id("chat-message").filter(has_text="psst staff")
    await expect(staff_note.get_by_test_id("chat-audience")).to_have_text("To hosts & moderators")
    private = bob.page.get_by_test_id("chat-message").filter(has_text="just you, bob")
    await expect(private.get_by_test_id("chat-audience")).to_have_text("Privately to you")
    await expect(private.get_by_test_id("chat-sender")).to_have_text("Ann")
    mine = ann.page.get_by_test_id("chat-message").filter(has_text="just you, bob")
    await expect(mine.get_by_test_id("chat-audience")).to_have_text("Privately to Bob")
