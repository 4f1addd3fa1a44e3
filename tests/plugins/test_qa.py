"""Q&A: upvotes once, moderators answer; questions only (raising a hand is the room's own:
tests/core/test_webinar.py)."""

from __future__ import annotations

from tests.plugins.conftest import TenantFactory, command, event_where, plugin_state


async def test_the_plugin_has_no_hand_of_its_own(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(qa={})
    room = (await acme.room())["slug"]
    ann = await acme.join(room, "ann")
    assert (await command(ann, "qa", "hand.raise"))["code"] == "unknown_action"
    assert (await ann.request({"type": "self.update", "hand_raised": True}))["type"] == "ack"
    assert plugin_state(ann.first or {}, "qa") == {"questions": [], "questions_enabled": True}


async def test_questions_are_upvoted_once_and_answered(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(qa={"max_question_length": 40})
    room = (await acme.room())["slug"]
    mo = await acme.join(room, "mo", "moderator")
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")
    qid = (await command(ann, "qa", "question.ask", {"text": "  When is the launch?  "}))["id"]
    long = await command(bob, "qa", "question.ask", {"text": "x" * 41})
    assert long["code"] == "question_too_long"

    assert (await command(ann, "qa", "question.upvote", {"question_id": qid}))["code"] == "own_question"
    assert (await command(bob, "qa", "question.upvote", {"question_id": qid}))["type"] == "ack"
    assert (await command(bob, "qa", "question.upvote", {"question_id": qid}))["code"] == "already_voted"
    listed = await event_where(mo, "qa", "questions", lambda qs: qs and qs[0]["votes"] == 1)
    assert listed[0]["text"] == "When is the launch?" and listed[0]["author"] == "Ann"

    assert (await command(bob, "qa", "question.answer", {"question_id": qid}))["code"] == "forbidden"
    await command(mo, "qa", "question.answer", {"question_id": qid})
    answered = await event_where(ann, "qa", "questions", lambda qs: qs[0]["status"] == "answered")
    assert answered[0]["votes"] == 1
    await command(mo, "qa", "question.dismiss", {"question_id": qid})
    assert await event_where(ann, "qa", "questions", lambda qs: qs == []) == []
