"""Join tokens over a real WebSocket: every forged, stale or misdirected token is refused."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.support.client import Member, TenantClient, refused


def claims(client: TenantClient, room: str, **override: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": client.key_id,
        "sub": "mallory",
        "room": room,
        "role": "attendee",
        "name": "Mallory",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(override)
    return {k: v for k, v in base.items() if v is not None}


async def test_token_signed_by_embedder_with_pyjwt_joins(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    token = jwt.encode(claims(acme, room, sub="dana", name="Dana", role="moderator"), acme.secret, "HS256")
    member = await Member.connect(acme.ws_url, acme.slug, room, token)
    welcome = await member.next("welcome")
    assert welcome["you"]["identity"] == "dana"
    assert welcome["you"]["name"] == "Dana"
    assert welcome["you"]["role"] == "moderator"
    await member.leave()


@pytest.mark.parametrize(
    ("case", "code", "close"),
    [
        ("bad_signature", "token_invalid", 4401),
        ("alg_none", "token_invalid", 4401),
        ("hs512", "token_invalid", 4401),
        ("garbage", "token_invalid", 4401),
        ("expired", "token_expired", 4401),
        ("not_yet_valid", "token_not_yet_valid", 4401),
        ("unknown_key", "token_unknown_key", 4401),
        ("no_exp", "token_invalid", 4401),
        ("bad_role", "token_invalid", 4401),
        ("other_room", "token_wrong_room", 4403),
    ],
)
async def test_bad_tokens_are_refused_with_stable_codes(
    acme: TenantClient, case: str, code: str, close: int
) -> None:
    room = (await acme.room())["slug"]
    now = int(time.time())
    secret = acme.secret
    header: dict[str, str] | None = None
    algorithm = "HS256"
    payload = claims(acme, room)
    if case == "bad_signature":
        secret = secret + "x"
    elif case == "expired":
        payload = claims(acme, room, iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    elif case == "not_yet_valid":
        payload = claims(acme, room, nbf=now + 3600, exp=now + 7200)
    elif case == "unknown_key":
        payload = claims(acme, room, iss="pk_000000000000000000000000")
    elif case == "no_exp":
        payload = claims(acme, room, exp=None)
    elif case == "bad_role":
        payload = claims(acme, room, role="admin")
    elif case == "other_room":
        other = (await acme.room())["slug"]
        payload = claims(acme, other)
    elif case == "hs512":
        algorithm = "HS512"
    if case == "alg_none":
        token = jwt.encode(payload, None, algorithm="none")  # type: ignore[arg-type]
    elif case == "garbage":
        token = "not.a.jwt"
    else:
        token = jwt.encode(payload, secret, algorithm=algorithm, headers=header)
    got_close, reason, error = await refused(acme.ws_url, acme.slug, room, token)
    assert (error["type"], error["code"], got_close, reason) == ("error", code, close, code)


async def test_token_of_another_tenant_is_refused(acme: TenantClient, globex: TenantClient) -> None:
    room = (await acme.room())["slug"]
    token = jwt.encode(claims(globex, room), globex.secret, "HS256")
    close, reason, _ = await refused(acme.ws_url, acme.slug, room, token)
    assert (close, reason) == (4403, "token_wrong_tenant")


async def test_missing_token_and_unknown_room(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    close, reason, _ = await refused(acme.ws_url, acme.slug, room, "")
    assert (close, reason) == (4401, "token_missing")
    token = jwt.encode(claims(acme, "no-such-room"), acme.secret, "HS256")
    close, reason, _ = await refused(acme.ws_url, acme.slug, "no-such-room", token)
    assert (close, reason) == (4404, "room_not_found")


async def test_revoked_key_stops_rest_and_tokens(acme: TenantClient) -> None:
    created = await acme.http.post("/keys", json={"name": "rotating"})
    assert created.status_code == 201
    key = created.json()
    room = (await acme.room())["slug"]
    token = jwt.encode({**claims(acme, room), "iss": key["key_id"]}, key["secret"], "HS256")
    member = await Member.connect(acme.ws_url, acme.slug, room, token)
    await member.next("welcome")
    await member.leave()

    assert (await acme.http.delete(f"/keys/{key['key_id']}")).status_code == 204
    close, reason, _ = await refused(acme.ws_url, acme.slug, room, token)
    assert (close, reason) == (4401, "token_unknown_key")
    async with acme.http.__class__(base_url=acme.base_url + "/api/v1") as http:
        response = await http.get("/rooms", headers={"Authorization": f"Bearer {key['secret']}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"
    listed = {k["key_id"]: k for k in (await acme.http.get("/keys")).json()}
    assert listed[key["key_id"]]["revoked_at"] is not None
    assert "secret" not in listed[key["key_id"]]


async def test_token_issued_before_room_end_no_longer_admits(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    old = jwt.encode(claims(acme, room, iat=int(time.time()) - 5), acme.secret, "HS256")
    assert (await acme.http.post(f"/rooms/{room}/end")).status_code == 200
    close, reason, _ = await refused(acme.ws_url, acme.slug, room, old)
    assert (close, reason) == (4410, "room_ended")
    fresh = await acme.join(room, "after-the-end")
    await fresh.leave()
