"""The tenant REST API: rooms CRUD, validation, auth errors and the OpenAPI document."""

from __future__ import annotations

import httpx
import jwt
import pytest

from tests.support.client import TenantClient


async def test_room_crud(acme: TenantClient) -> None:
    created = await acme.http.post(
        "/rooms", json={"slug": "board-meeting", "name": "Board", "max_participants": 12, "lobby": True}
    )
    assert created.status_code == 201
    room = created.json()
    assert (room["slug"], room["max_participants"], room["media_mode"], room["lobby"]) == (
        "board-meeting",
        12,
        "auto",
        True,
    )
    duplicate = await acme.http.post("/rooms", json={"slug": "board-meeting", "name": "Again"})
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "room_exists")

    patched = await acme.http.patch("/rooms/board-meeting", json={"media_mode": "mcu", "name": "Board 2"})
    assert patched.status_code == 200
    assert (patched.json()["media_mode"], patched.json()["name"], patched.json()["lobby"]) == (
        "mcu",
        "Board 2",
        True,
    )
    assert (await acme.http.get("/rooms/board-meeting")).json()["name"] == "Board 2"

    assert (await acme.http.delete("/rooms/board-meeting")).status_code == 204
    missing = await acme.http.get("/rooms/board-meeting")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "room_not_found")


async def test_same_slug_in_two_tenants_are_two_rooms(acme: TenantClient, globex: TenantClient) -> None:
    for client in (acme, globex):
        response = await client.http.post("/rooms", json={"slug": "all-hands", "name": client.slug})
        assert response.status_code in (201, 409)
    assert (await acme.http.get("/rooms/all-hands")).json()["tenant"] == acme.slug
    assert (await globex.http.get("/rooms/all-hands")).json()["tenant"] == globex.slug


async def test_room_listing_pages_and_never_leaks_other_tenants(
    acme: TenantClient, globex: TenantClient
) -> None:
    mine = {(await acme.room())["slug"] for _ in range(3)}
    theirs = (await globex.room())["slug"]
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = (await acme.http.get("/rooms", params=params)).json()
        seen += [room["slug"] for room in page["rooms"]]
        assert all(room["tenant"] == acme.slug for room in page["rooms"])
        after = page["next"]
        if after is None:
            break
    assert mine <= set(seen)
    assert theirs not in seen
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    "body",
    [
        {"slug": "Has Spaces", "name": "x"},
        {"slug": "-leading", "name": "x"},
        {"slug": "ok", "name": ""},
        {"slug": "ok", "name": "x", "max_participants": 101},
        {"slug": "ok", "name": "x", "max_participants": 0},
        {"slug": "ok", "name": "x", "media_mode": "sfu"},
        {"slug": "ok", "name": "x", "surprise": 1},
        {"name": "no slug"},
    ],
)
async def test_invalid_room_settings_are_refused(acme: TenantClient, body: dict[str, object]) -> None:
    response = await acme.http.post("/rooms", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


async def test_malformed_json_body(acme: TenantClient) -> None:
    response = await acme.http.post("/rooms", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_request", "bad_request")


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "api_key_missing"),
        ({"Authorization": "Basic abc"}, "api_key_missing"),
        ({"Authorization": "Bearer sk_forged_forged_forged_forged"}, "api_key_invalid"),
    ],
)
async def test_rest_auth_errors(acme: TenantClient, headers: dict[str, str], code: str) -> None:
    async with httpx.AsyncClient(base_url=acme.base_url) as http:
        response = await http.get("/api/v1/rooms", headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (401, code)


async def test_minted_token_is_a_valid_join_token(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    response = await acme.http.post(
        f"/rooms/{room}/tokens", json={"identity": "u-42", "name": "Zoë", "role": "moderator", "ttl": 120}
    )
    assert response.status_code == 201
    issued = response.json()
    claims = jwt.decode(issued["token"], acme.secret, algorithms=["HS256"])
    assert (claims["iss"], claims["sub"], claims["room"], claims["role"], claims["name"]) == (
        acme.key_id,
        "u-42",
        room,
        "moderator",
        "Zoë",
    )
    assert claims["exp"] - claims["iat"] == 120
    assert issued["join_url"].endswith(f"/r/{acme.slug}/{room}?token={issued['token']}")
    too_long = await acme.http.post(f"/rooms/{room}/tokens", json={"identity": "u", "ttl": 10**7})
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (422, "ttl_too_long")
    bad_role = await acme.http.post(f"/rooms/{room}/tokens", json={"identity": "u", "role": "root"})
    assert bad_role.status_code == 400


async def test_openapi_schema_is_served(acme: TenantClient) -> None:
    async with httpx.AsyncClient(base_url=acme.base_url) as http:
        schema = (await http.get("/schema/openapi.json")).json()
    assert "/api/v1/rooms" in schema["paths"]
    assert "/api/v1/rooms/{slug}/tokens" in schema["paths"]
    assert "BearerAuth" in schema["components"]["securitySchemes"]


async def test_oversized_body_is_refused(acme: TenantClient) -> None:
    response = await acme.http.post("/rooms", json={"slug": "big", "name": "x" * 300_000})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
    assert (await acme.http.get("/rooms/big")).status_code == 404


async def test_unknown_route_uses_the_error_shape(acme: TenantClient) -> None:
    response = await acme.http.get("/nothing-here")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
