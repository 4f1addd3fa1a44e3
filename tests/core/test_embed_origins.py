"""Embed origins: managed per tenant over REST, enforced by the room page's frame-ancestors."""

from __future__ import annotations

import httpx

from tests.support.client import TenantClient
from tests.support.server import Node


async def page(node: Node, tenant: str, query: str = "") -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(f"{node.url}/r/{tenant}/any-room{query}")


async def test_origins_are_normalised_and_listed_in_frame_ancestors(
    node: Node, acme: TenantClient, globex: TenantClient
) -> None:
    put = await acme.http.put(
        "/embed/origins", json={"origins": ["https://App.Example.com:443/", "http://localhost:5173"]}
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"origins": ["https://app.example.com", "http://localhost:5173"]}
    added = await acme.http.post("/embed/origins", json={"origin": "https://intranet.example.org:8443"})
    assert added.json()["origins"][-1] == "https://intranet.example.org:8443"

    policy = (await page(node, acme.slug)).headers["content-security-policy"]
    assert policy == (
        "frame-ancestors 'self' https://app.example.com http://localhost:5173 https://intranet.example.org:8443"
    )
    # Another tenant's rooms are not embeddable from Acme's origins.
    assert (await page(node, globex.slug)).headers["content-security-policy"] == "frame-ancestors 'self'"

    removed = await acme.http.delete("/embed/origins", params={"origin": "http://localhost:5173"})
    assert "http://localhost:5173" not in removed.json()["origins"]
    assert (await acme.http.get("/embed/origins")).json() == removed.json()
    await acme.http.put("/embed/origins", json={"origins": []})


async def test_bad_origins_are_refused(acme: TenantClient) -> None:
    for bad in (
        "app.example.com",
        "https://app.example.com/path",
        "ftp://x.com",
        "https://*.example.com",
        "null",
    ):
        response = await acme.http.post("/embed/origins", json={"origin": bad})
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "invalid_origin"


async def test_the_sdk_bridge_is_offered_only_to_an_allowed_origin(node: Node, acme: TenantClient) -> None:
    await acme.http.put("/embed/origins", json={"origins": ["https://app.example.com"]})
    try:
        allowed = (await page(node, acme.slug, "?embed=https://app.example.com")).text
        assert '<meta name="podium-embed-origin" content="https://app.example.com">' in allowed
        for origin in ("https://evil.example.net", "https://app.example.com.evil.net", "javascript:alert(1)"):
            assert "podium-embed-origin" not in (await page(node, acme.slug, f"?embed={origin}")).text
        # Podium's own pages (the playground) may always embed.
        assert 'content="http://127.0.0.1' in (await page(node, acme.slug, f"?embed={node.url}")).text
    finally:
        await acme.http.put("/embed/origins", json={"origins": []})
