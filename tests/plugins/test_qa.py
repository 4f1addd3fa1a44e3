"""Hand raise and Q&A: a queue in order, upvotes once, moderators answer."""

from __future__ import annotations

from tests.plugins.conftest import TenantFactory, command, event_where, plugin_state


async def test_hands_form_a_queue_moderators_clear(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(qa={})
    room = (await acme.room())["slug"]
    mo = await acme.join(room, "mo", "moderator")
    ann = await acme.join(room, "ann")
    bob = await acme.join(room, "bob")
    await command(bob, "qa", "hand.raise")
    await command(ann, "qa", "hand.raise")
    await command(ann, "qa", "hand.raise")  # twice is still once
    queue = await event_where(mo, "qa", "hands", lambda q: len(q) == 2)
    assert [h["name"] for h in queue] == ["Bob", "Ann"]

    assert (await command(ann, "qa", "hand.lower", {"participant_id": bob.id}))["code"] == "forbidden"
    await command(mo, "qa", "hand.lower", {"participant_id": bob.id})
    lowered = await event_where(ann, "qa", "hands", lambda q: len(q) == 1 and q[0]["name"] == "Ann")
    assert lowered[0]["participant_id"] == ann.id

    late = await acme.join(room, "carl")
    assert [h["name"] for h in plugin_state(late.first or {}, "qa")["hands"]] == ["Ann"]
    await ann.leave()  # leaving lowers your hand
    assert await event_where(mo, "qa", "hands", lambda q: q == []) == []


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
