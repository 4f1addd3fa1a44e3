"""The tenant dashboard in Chromium: sign in with an API secret, create a room, enable a plugin
with a config, and watch a webhook delivery land in the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.support.browser import TIMEOUT, VIEWPORT
from tests.support.client import TenantClient
from tests.support.server import Deployment, Node
from tests.support.webhooks import Receiver


@pytest_asyncio.fixture(loop_scope="session")
async def tenant(deployment: Deployment, node: Node) -> AsyncIterator[TenantClient]:
    """A tenant of its own, so plugin switches and endpoints touch no other test."""
    issued = deployment.create_tenant(f"Dash {uuid.uuid4().hex[:8]}")
    client = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    yield client
    await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def dashboard(browser: Browser, node: Node, tenant: TenantClient) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT * 1000)
    page = await context.new_page()
    await page.goto(f"{node.url}/dashboard")
    await page.get_by_test_id("api-secret").fill(tenant.secret)
    await page.get_by_test_id("signin-button").click()
    await expect(page.get_by_test_id("tenant-name")).to_contain_text("Dash")
    yield page
    await context.close()


async def test_a_wrong_secret_is_refused(browser: Browser, node: Node) -> None:
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        await page.goto(f"{node.url}/dashboard")
        await page.get_by_test_id("api-secret").fill("sk_not-a-real-secret-at-all-000000")
        await page.get_by_test_id("signin-button").click()
        await expect(page.get_by_test_id("signin")).to_contain_text("not a live API key")
    finally:
        await context.close()


async def test_create_a_room(dashboard: Page, tenant: TenantClient) -> None:
    await dashboard.get_by_test_id("nav-rooms").click()
    await dashboard.get_by_test_id("new-room").click()
    await dashboard.get_by_test_id("room-slug").fill("board-meeting")
    await dashboard.get_by_test_id("room-name").fill("Board meeting")
    await dashboard.get_by_test_id("room-create-form").get_by_role("button", name="Create room").click()
    await expect(
        dashboard.get_by_test_id("rooms-table").locator("tr[data-slug='board-meeting']")
    ).to_contain_text("Board meeting")
    found = await tenant.http.get("/rooms/board-meeting")
    assert found.status_code == 200 and found.json()["name"] == "Board meeting"


async def test_enable_a_plugin_with_a_config(dashboard: Page, tenant: TenantClient) -> None:
    await dashboard.get_by_test_id("nav-plugins").click()
    card = dashboard.locator("form.plugin[data-plugin='polls']")
    await card.get_by_test_id("plugin-enabled-polls").check()
    await card.get_by_test_id("config-max_options").fill("4")
    await card.get_by_test_id("config-live_results").uncheck()
    await card.get_by_test_id("plugin-save-polls").click()
    await expect(dashboard.get_by_test_id("notice")).to_contain_text("saved")
    polls = (await tenant.http.get("/plugins/polls")).json()
    assert polls["enabled"] is True
    assert polls["config"]["max_options"] == 4 and polls["config"]["live_results"] is False


async def test_a_webhook_delivery_shows_in_the_log_and_can_be_redelivered(
    dashboard: Page, tenant: TenantClient
) -> None:
    receiver = Receiver()
    try:
        await dashboard.get_by_test_id("nav-webhooks").click()
        await dashboard.get_by_test_id("webhook-development").check()
        await expect(dashboard.get_by_test_id("notice")).to_contain_text("local addresses")
        await dashboard.get_by_test_id("new-endpoint").click()
        await dashboard.get_by_test_id("endpoint-url").fill(receiver.url)
        await dashboard.get_by_test_id("endpoint-form").get_by_role("button", name="Add endpoint").click()
        await expect(dashboard.get_by_test_id("secret")).to_contain_text("whsec_")
        row = dashboard.get_by_test_id("endpoints-table").locator("tbody tr").first
        await row.get_by_role("button", name="Send test").click()
        message = dashboard.get_by_test_id("messages-table").locator("tbody tr").first
        await expect(message).to_contain_text("webhook.test")
        for _ in range(20):
            if await message.get_attribute("data-status") == "delivered":
                break
            await dashboard.get_by_test_id("delivery-log").get_by_role("button", name="Refresh").click()
            await dashboard.wait_for_timeout(250)
        await expect(message.get_by_test_id("message-status")).to_contain_text("delivered (200)")
        await message.get_by_role("button", name="Attempts").click()
        await expect(dashboard.get_by_test_id("attempt-table")).to_contain_text("200")
        await message.get_by_role("button", name="Redeliver").click()
        deliveries = await receiver.wait(2)
        assert deliveries[0].id == deliveries[1].id
        assert deliveries[0].payload["type"] == "webhook.test"
    finally:
        receiver.close()
