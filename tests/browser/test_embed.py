"""The iframe SDK across origins: an embedder's page drives the room and hears its events;
a page on an origin the tenant did not allow gets nothing; forged messages are ignored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from playwright.async_api import Browser, Page

from tests.support.browser import TIMEOUT, VIEWPORT
from tests.support.client import Member, TenantClient
from tests.support.hostpage import HostPage
from tests.support.server import Node


@pytest_asyncio.fixture(loop_scope="session")
async def host_page(acme: TenantClient) -> AsyncIterator[HostPage]:
    """The embedder's page, on an origin Acme allows."""
    page = HostPage()
    await acme.http.post("/embed/origins", json={"origin": page.origin})
    yield page
    await acme.http.delete("/embed/origins", params={"origin": page.origin})
    page.close()


@pytest_asyncio.fixture(loop_scope="session")
async def tab(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT * 1000)
    page = await context.new_page()
    yield page
    await context.close()


async def open_embed(
    tab: Page, host: HostPage, node: Node, acme: TenantClient, room: str, identity: str, role: str
) -> None:
    token = await acme.token(room, identity, role)
    await tab.goto(host.url(podium=node.url, url=f"{node.url}/r/{acme.slug}/{room}", token=token))


async def event(tab: Page, name: str, match: str = "true", timeout: float = TIMEOUT) -> dict[str, Any]:
    """The first SDK event ``name`` whose ``data`` satisfies the JS expression ``match``."""
    handle = await tab.wait_for_function(
        f"() => window.events.find((e) => e.event === {name!r} && ((data) => {match})(e.data))",
        timeout=timeout * 1000,
        polling=100,
    )
    found: dict[str, Any] = await handle.json_value()
    return dict(found["data"])


async def command(tab: Page, name: str, *args: Any) -> dict[str, Any]:
    """``room[name](...args)`` in the host page: ``{"ok": result}`` or ``{"error": {code, message}}``."""
    outcome: dict[str, Any] = await tab.evaluate(
        """async ([name, args]) => {
            try { return { ok: await window.room[name](...args) }; }
            catch (err) { return { error: { code: err.code, message: err.message } }; }
        }""",
        [name, list(args)],
    )
    return outcome


async def test_an_embedder_page_drives_the_room_and_hears_its_events(
    tab: Page, host_page: HostPage, node: Node, acme: TenantClient
) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    await open_embed(tab, host_page, node, acme, room, "ada", "host")

    ready = await event(tab, "ready")
    assert "sendChatMessage" in ready["commands"]
    joined = await event(tab, "joined")
    assert joined["you"]["identity"] == "ada" and joined["you"]["role"] == "host"
    assert joined["room"]["slug"] == room and joined["room"]["tenant"] == acme.slug
    assert joined["media_mode"] == "p2p"
    assert "room.end" in joined["permissions"]
    assert [p["identity"] for p in joined["participants"]] == ["ada"]
    ada_id = joined["you"]["id"]

    bob = await acme.join(room, "bob")
    arrived = await event(tab, "participantJoined")
    assert arrived["participant"]["identity"] == "bob" and arrived["participant"]["id"] == bob.id
    people = await command(tab, "getParticipants")
    assert sorted(p["identity"] for p in people["ok"]) == ["ada", "bob"]
    assert (await command(tab, "getMediaMode"))["ok"] == "p2p"
    assert (await command(tab, "getRoomInfo"))["ok"]["slug"] == room

    # Mute: the room sees it, and the page hears its own media change.
    assert (await command(tab, "setAudioMuted", True))["ok"] == {"muted": True}
    # (Ada's own join-time update, camera off, may still be on its way: skip it.)
    update = await bob.next("participant.updated")
    while not update["participant"]["audio_muted"]:
        update = await bob.next("participant.updated")
    assert update["participant"]["id"] == ada_id
    assert (await event(tab, "localMediaChanged", "data.audio === false"))["audio"] is False
    assert (await command(tab, "toggleAudio"))["ok"] == {"muted": False}

    # Chat, both ways.
    sent = await command(tab, "sendChatMessage", "hello from the embed")
    assert isinstance(sent["ok"]["id"], int)
    assert (await bob.next("chat.message"))["message"]["text"] == "hello from the embed"
    await bob.request({"type": "chat.send", "text": "hi ada"})
    chat = await event(tab, "chatMessage", "data.message.text === 'hi ada'")
    assert chat["message"]["sender_name"] == "Bob" and chat["message"]["to"] == "everyone"

    # Layout switches the room page's stage.
    assert (await command(tab, "setLayout", "speaker"))["ok"] == {"layout": "speaker"}
    frame = tab.frame_locator("#room iframe")
    await frame.locator("#app[data-layout='speaker']").wait_for()
    assert (await command(tab, "setLayout", "carousel"))["error"]["code"] == "invalid_layout"

    # Moderation goes through the server's permission checks.
    assert (await command(tab, "askToMute", bob.id, "audio"))["ok"] is None
    assert (await bob.next("mute.requested"))["by"] == "Ada"
    assert (await command(tab, "setRole", bob.id, "moderator"))["ok"] is None
    changed = await event(tab, "roleChanged")
    assert changed == {"participant_id": bob.id, "role": "moderator", "by": "Ada", "you": False}

    await bob.leave()
    left = await event(tab, "participantLeft")
    assert left["participant_id"] == bob.id and left["reason"] == "left"
    assert left["participant"]["identity"] == "bob"

    assert (await command(tab, "hangUp"))["ok"] is None
    assert (await event(tab, "left"))["reason"] == "left"


async def test_ui_options_hide_the_chat_and_pick_the_layout(
    tab: Page, host_page: HostPage, node: Node, acme: TenantClient
) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    token = await acme.token(room, "ada", "host")
    await tab.goto(
        host_page.url(
            podium=node.url, url=f"{node.url}/r/{acme.slug}/{room}", token=token, chat="0", layout="speaker"
        )
    )
    await event(tab, "joined")
    frame = tab.frame_locator("#room iframe")
    await frame.locator("#app[data-layout='speaker'][data-chat='off']").wait_for()
    assert not await frame.get_by_test_id("tab-chat").is_visible()
    assert await frame.get_by_test_id("tab-participants").is_visible()
    # The SDK still carries chat when the page hides it.
    assert "ok" in await command(tab, "sendChatMessage", "sent without a chat panel")
    await event(tab, "chatMessage", "data.message.text === 'sent without a chat panel'")


async def test_a_command_the_role_may_not_perform_is_rejected_and_not_executed(
    tab: Page, host_page: HostPage, node: Node, acme: TenantClient
) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    host = await acme.join(room, "hana", "host")
    await open_embed(tab, host_page, node, acme, room, "ann", "attendee")
    joined = await event(tab, "joined")
    assert joined["permissions"] == ["chat.everyone", "chat.moderators", "chat.private"]

    kick = await command(tab, "kickParticipant", host.id)
    assert kick["error"]["code"] == "forbidden"
    end = await command(tab, "endMeeting")
    assert end["error"]["code"] == "forbidden"
    unknown = await command(tab, "command", "launchMissiles", {})
    assert unknown["error"]["code"] == "unknown_command"
    # Nothing happened to the room: the host is still in, and was never kicked.
    assert all(m["type"] not in ("kicked", "room.ended") for m in await host.quiet(0.5))
    people = await acme.http.get(f"/rooms/{room}/participants")
    assert sorted(p["identity"] for p in people.json()) == ["ann", "hana"]
    # A hand is everyone's to raise; the stage and other people's hands are staff's.
    assert (await command(tab, "raiseHand"))["ok"] == {"raised": True}
    assert (await event(tab, "handChanged"))["you"] is True
    assert [p["identity"] for p in (await command(tab, "getRaisedHands"))["ok"]] == ["ann"]
    assert (await command(tab, "lowerHand", host.id))["error"]["code"] == "forbidden"
    assert (await command(tab, "setStage", host.id, False))["error"]["code"] == "forbidden"
    # A refusal answers the promise; it is not also broadcast as an error event.
    assert not await tab.evaluate("window.events.filter((e) => e.event === 'error').length")
    await host.leave()


async def test_forged_messages_from_other_windows_are_ignored(
    tab: Page, host_page: HostPage, node: Node, acme: TenantClient
) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    watcher = await acme.join(room, "wes", "host")
    await open_embed(tab, host_page, node, acme, room, "ada", "host")
    await event(tab, "joined")

    # A same-origin sibling frame posts a command to the room: right origin, wrong window.
    await tab.evaluate(
        """(origin) => {
            const room = document.querySelector('#room iframe').contentWindow;
            const sibling = document.getElementById('sibling').contentWindow;
            sibling.eval(`parent.frames[0].postMessage({protocol: 'podium-embed/1', kind: 'command', id: 'f1',
                name: 'sendChatMessage', args: {text: 'forged by a sibling'}}, ${JSON.stringify(origin)})`);
            // A window pretending to be the room towards the SDK: right shape, wrong source.
            sibling.eval(`parent.postMessage({protocol: 'podium-embed/1', kind: 'event', event: 'chatMessage',
                data: {message: {text: 'forged event'}}}, '*')`);
            return room !== null;
        }""",
        node.url,
    )
    # A genuine command afterwards proves the channel works and orders the check.
    assert "ok" in await command(tab, "sendChatMessage", "genuine")
    got = await watcher.next("chat.message")
    assert got["message"]["text"] == "genuine"
    await asyncio.sleep(0.5)
    history = (await acme.http.get(f"/rooms/{room}/chat")).json()["messages"]
    assert [m["text"] for m in history] == ["genuine"]
    texts = await tab.evaluate(
        "window.events.filter((e) => e.event === 'chatMessage').map((e) => e.data.message.text)"
    )
    assert texts == ["genuine"]
    await watcher.leave()


async def test_a_page_on_an_origin_the_tenant_did_not_allow_cannot_frame_the_room(
    tab: Page, node: Node, acme: TenantClient
) -> None:
    stranger = HostPage()  # its origin is not in Acme's list
    refused: list[str] = []
    tab.on("console", lambda m: refused.append(m.text) if "frame-ancestors" in m.text else None)
    try:
        room = (await acme.room(media_mode="p2p"))["slug"]
        watcher: Member = await acme.join(room, "wes", "host")
        await open_embed(tab, stranger, node, acme, room, "eve", "host")
        await tab.wait_for_function("() => window.room && window.room.iframe", timeout=TIMEOUT * 1000)
        await asyncio.sleep(3)
        assert not await tab.evaluate("window.events.length"), "no ready, no joined"
        frame = next(f for f in tab.frames if f != tab.main_frame)
        assert frame.url.startswith("chrome-error://") or refused, frame.url
        # The browser never ran the room page, so nobody joined.
        assert all(m["type"] != "participant.joined" for m in await watcher.quiet(0.5))
        await watcher.leave()
    finally:
        stranger.close()
