"""The embed playground: sign in, embed a room through the SDK, run a command, see the events."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.browser import TIMEOUT, VIEWPORT
from tests.support.client import TenantClient
from tests.support.server import Node


async def test_the_playground_embeds_a_room_and_logs_commands_and_events(
    browser: Browser, node: Node, acme: TenantClient
) -> None:
    room = (await acme.room(media_mode="p2p"))["slug"]
    context = await browser.new_context(viewport={"width": 1600, "height": VIEWPORT["height"]})
    context.set_default_timeout(TIMEOUT * 1000)
    try:
        page = await context.new_page()
        await page.goto(f"{node.url}/embed/playground#room={room}")
        await page.get_by_test_id("pg-secret").fill(acme.secret)
        await page.get_by_test_id("pg-secret").dispatch_event("change")
        await expect(page.get_by_test_id("pg-room")).to_have_value(room)
        await page.get_by_test_id("pg-identity").fill("pat")
        await page.get_by_test_id("pg-embed").click()

        log = page.get_by_test_id("event-log")
        await expect(log.locator("li[data-kind='event'][data-event='joined']")).to_contain_text(
            '"identity": "pat"'
        )
        await page.get_by_test_id("pg-chat-text").fill("from the playground")
        await page.get_by_test_id("cmd-chat").click()
        await expect(log.locator("li[data-kind='event'][data-event='chatMessage']")).to_contain_text(
            "from the playground"
        )
        await expect(log.locator("li[data-kind='result']").first).to_contain_text("sendChatMessage → ok")
        history = (await acme.http.get(f"/rooms/{room}/chat")).json()["messages"]
        assert [m["text"] for m in history] == ["from the playground"]
        # The snippet shows how to reproduce the embed, without the token.
        snippet = await page.locator("#snippet").text_content()
        assert snippet and "new PodiumEmbed" in snippet and acme.secret not in snippet
    finally:
        await context.close()
