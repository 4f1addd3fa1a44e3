"""Join tokens as an attacker writes them: forged, replayed, stretched and misdirected.

Tokens are minted with PyJWT exactly as an embedder's server would (docs/join-tokens.md), and
built by hand where PyJWT refuses to write them (``alg: none``, HMAC keyed with a public key).
Each case is refused with its documented code and WebSocket close code, or, where the docs say
a claim is ignored, admitted with nothing more than the token's ``role``. The same refusals hold
on the HTTP routes that take join tokens: the slides upload and the HLS watch routes.

The toolkit (signing, hand-built tokens, a client that reports the outcome) is in forge.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from tests.hardening.conftest import Tally, examples
from tests.hardening.forge import (
    EXPIRED,
    FORGED,
    INVALID,
    MODERATOR_PERMISSIONS,
    NOT_YET,
    UNKNOWN_KEY,
    WRONG_ROOM,
    WRONG_TENANT,
    Admitted,
    Attacker,
    Case,
    Forge,
    HttpStatus,
    Key,
    Refused,
    b64url,
    compact,
    new_address,
    run,
    seal,
    tamper,
)
from tests.support.client import Member, TenantClient

ATTACKER_SECRET = "an-attacker-chosen-secret-0123456789"
#: A PDF header and junk: enough for the slides upload to reach its token checks.
NOT_A_DECK = b"%PDF-1.4\n% not really a deck\n"


def _rsa_public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _forgeries(forge: Forge, other_room: str) -> list[Case]:
    """Signatures, algorithms and structure: nothing here is signed by the tenant as documented."""
    c, secret = forge.claims, forge.key.secret.encode()
    valid = forge.sign()
    head, body, signature = valid.split(".")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    host = c(role="host")
    return [
        Case("signed with another secret", jwt.encode(host, ATTACKER_SECRET, "HS256"), INVALID),
        Case("payload raised to host after signing", tamper(valid, role="host"), INVALID),
        Case("signature stripped", f"{head}.{body}.", INVALID),
        Case("signature of another token", f"{head}.{b64url(compact(host))}.{signature}", INVALID),
        *[
            Case(f"alg {alg!r}, unsigned", seal({"alg": alg, "typ": "JWT"}, host, None), INVALID)
            for alg in ("none", "None", "NONE", "nOnE")
        ],
        Case(
            "alg none, real signature kept", f"{b64url(compact({'alg': 'none'}))}.{body}.{signature}", INVALID
        ),
        Case("no alg in the header", seal({"typ": "JWT"}, host, secret), INVALID),
        Case("alg hs256 in lower case", seal({"alg": "hs256", "typ": "JWT"}, host, secret), INVALID),
        Case("HS384 with the tenant's secret", seal({"alg": "HS384"}, host, secret, hashlib.sha384), INVALID),
        Case("HS512 with the tenant's secret", seal({"alg": "HS512"}, host, secret, hashlib.sha512), INVALID),
        Case("RS256 with the attacker's RSA key", jwt.encode(host, rsa_key, "RS256"), INVALID),
        Case(
            "RS256 carrying its own key (jwk header)",
            jwt.encode(host, rsa_key, "RS256", headers={"jwk": rsa_jwk}),
            INVALID,
        ),
        Case("ES256 with the attacker's EC key", jwt.encode(host, ec_key, "ES256"), INVALID),
        Case(
            "HS256 keyed with an RSA public key's PEM (key confusion)",
            seal({"alg": "HS256", "typ": "JWT"}, host, _rsa_public_pem(rsa_key)),
            INVALID,
        ),
        Case("RS256 header, HMAC with the tenant's secret", seal({"alg": "RS256"}, host, secret), INVALID),
        Case(
            "jku pointing at the attacker's key set",
            jwt.encode(host, ATTACKER_SECRET, "HS256", headers={"jku": "https://evil.example/jwks.json"}),
            INVALID,
        ),
        Case(
            "kid naming the real key, signed with another secret",
            jwt.encode(host, ATTACKER_SECRET, "HS256", headers={"kid": forge.key.key_id}),
            INVALID,
        ),
        Case("kid that is not a string", seal({"alg": "HS256", "kid": 42}, host, secret), INVALID),
        Case(
            "unencoded payload (RFC 7797 b64: false)",
            seal({"alg": "HS256", "b64": False, "crit": ["b64"]}, host, secret),
            INVALID,
        ),
        Case("empty token", "", Refused("token_missing", 4401)),
        Case("not a JWT", "not.a.jwt", INVALID),
        Case("the tenant's API secret as the token", forge.key.secret, INVALID),
        Case("two segments", f"{head}.{body}", INVALID),
        Case("four segments", f"{valid}.{signature}", INVALID),
        Case("five segments (a JWE)", f"{valid}.{body}.{signature}", INVALID),
        Case("header not base64", f"!!!.{body}.{signature}", INVALID),
        Case("header a JSON list", f"{b64url(b'[]')}.{body}.{signature}", INVALID),
        Case("payload not JSON", seal({"alg": "HS256", "typ": "JWT"}, b"role=host", secret), INVALID),
        Case("payload a JSON list", seal({"alg": "HS256", "typ": "JWT"}, b'["host"]', secret), INVALID),
        Case("4097 characters, validly signed", forge.padded_to(4097), INVALID),
        Case("20 000 characters: a URL over 8 KiB", forge.padded_to(20_000), HttpStatus(414)),
        Case("exactly 4096 characters, validly signed", forge.padded_to(4096), Admitted()),
        Case("positive control: a documented attendee token", valid, Admitted()),
        Case(
            "documented token for a room that does not exist",
            forge.sign(c(room="no-such-room")),
            Refused("room_not_found", 4404),
            at=(forge.key.tenant, "no-such-room"),
        ),
        Case(
            "token for one room at another room's URL", valid, WRONG_ROOM, at=(forge.key.tenant, other_room)
        ),
    ]


def _claim_cases(forge: Forge) -> list[Case]:
    """Validly signed tokens whose claims are missing, mistyped, out of time or out of bounds."""
    c, now = forge.claims, int(time.time())
    sign = forge.sign
    missing = [
        Case(f"no {name}", sign(c(**{name: None})), INVALID) for name in ("iss", "sub", "room", "role", "exp")
    ]
    mistyped = [
        Case(f"{name} = {value!r}", forge.seal(c(**{name: value})), INVALID)
        for name, value in [
            ("iss", 42),
            ("iss", [forge.key.key_id]),
            ("sub", 42),
            ("room", 42),
            ("room", [forge.room]),
            ("role", ["host"]),
            ("role", {"name": "host"}),
            ("name", 42),
            ("exp", "tomorrow"),
            ("iat", "yesterday"),
            ("nbf", "now"),
        ]
    ]
    bounds = [
        Case("empty sub", sign(c(sub="")), INVALID),
        Case("sub of 201 characters", sign(c(sub="s" * 201)), INVALID),
        Case("name of 201 characters", sign(c(name="n" * 201)), INVALID),
        Case("sub holding a NUL character", sign(c(sub="ann\x00admin")), INVALID),
        Case("name holding a NUL character", sign(c(name="Ann\x00")), INVALID),
        *[
            Case(f"role {role!r}", sign(c(role=role)), INVALID)
            for role in ("admin", "owner", "HOST", "host ", "")
        ],
        Case("role viewer (watch-only token)", sign(c(role="viewer")), Refused("token_viewer_only", 4403)),
    ]
    times = [
        Case("expired an hour ago", sign(c(iat=now - 7200, nbf=now - 7200, exp=now - 3600)), EXPIRED),
        Case("expired 30 s ago, past the 10 s leeway", sign(c(exp=now - 30)), EXPIRED),
        Case("expired 3 s ago, within the leeway", sign(c(exp=now - 3)), Admitted()),
        Case("nbf in an hour", sign(c(nbf=now + 3600)), NOT_YET),
        Case("nbf 30 s ahead, past the leeway", sign(c(nbf=now + 30)), NOT_YET),
        Case("iat in an hour", sign(c(iat=now + 3600)), NOT_YET),
    ]
    return missing + mistyped + bounds + times


def _escalations(forge: Forge) -> list[Case]:
    """Claims the docs ignore: they grant nothing; only ``role`` counts (``aud`` is refused)."""
    c, sign = forge.claims, forge.sign
    extras: list[dict[str, Any]] = [
        {"admin": True},
        {"roles": ["host"]},
        {"permissions": ["room.end", "participant.kick"]},
        {"is_host": True, "is_moderator": True},
        {"scope": "host room.end"},
        {"Role": "host"},
        {"tenant": forge.other.tenant},
    ]
    return [
        *[Case(f"extra claims {extra}", sign(c(**extra)), Admitted()) for extra in extras],
        Case("aud claim (Podium names no audience)", sign(c(aud="podium")), INVALID),
        Case("kid naming no key, iss right (kid unused)", sign(c(), kid="pk_nobody"), Admitted()),
    ]


def _keys_and_places(forge: Forge, other_room: str) -> list[Case]:
    """Whose key signed it, and where it is presented."""
    c, sign, other = forge.claims, forge.sign, forge.other
    unknown = [
        Case(f"iss {iss[:40]!r}", sign(c(iss=iss)), UNKNOWN_KEY)
        for iss in (
            "pk_000000000000000000000000",
            "pk_' OR '1'='1",
            "../../pk_" + forge.key.key_id[3:],
            forge.key.secret,
            "pk_" + "f" * 1000,
        )
    ]
    valid = sign()
    return [
        *unknown,
        Case("iss of another tenant's key, signed with ours", sign(c(iss=other.key_id)), INVALID),
        Case(
            "another tenant's key, its own secret",
            jwt.encode(c(iss=other.key_id), other.secret, "HS256"),
            WRONG_TENANT,
        ),
        Case(
            "kid of our key, iss of another tenant's, signed with ours",
            sign(c(iss=other.key_id), kid=forge.key.key_id),
            INVALID,
        ),
        Case("presented at another tenant's URL", valid, WRONG_TENANT, at=(other.tenant, forge.room)),
        Case("presented at a tenant that does not exist", valid, WRONG_TENANT, at=("nobody", forge.room)),
        Case("room claim in upper case", sign(c(room=forge.room.upper())), WRONG_ROOM),
        Case("room claim with a trailing space", sign(c(room=forge.room + " ")), WRONG_ROOM),
        Case("room claim a wildcard", sign(c(room="*")), WRONG_ROOM),
        Case("room claim of the tenant's other room", sign(c(room=other_room)), WRONG_ROOM),
        Case(
            "tenant claim naming another tenant, at its URL",
            sign(c(tenant=other.tenant)),
            WRONG_TENANT,
            at=(other.tenant, forge.room),
        ),
    ]


async def test_forged_and_malformed_tokens_get_their_documented_refusal(
    acme: TenantClient, globex: TenantClient, tally: Tally
) -> None:
    room, other_room = (await acme.room())["slug"], (await acme.room())["slug"]
    forge = Forge(Key.of(acme), room, Key.of(globex))
    cases = _forgeries(forge, other_room) + _claim_cases(forge) + _escalations(forge)
    cases += _keys_and_places(forge, other_room)
    await run(Attacker(acme.ws_url), forge, cases, tally)


async def test_a_token_changed_anywhere_is_refused(acme: TenantClient, tally: Tally) -> None:
    """Seeded fuzzing: one character of a valid host token replaced, in any of its segments."""
    room = (await acme.room())["slug"]
    forge = Forge(Key.of(acme), room, Key.of(acme))
    token = forge.sign(forge.claims(role="host"))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    rng = random.Random(17)
    original = _segments(token)
    cases: list[Case] = []
    while len(cases) < examples(40):
        at = rng.randrange(len(token))
        if token[at] == ".":
            continue
        changed = token[:at] + rng.choice(alphabet.replace(token[at], "")) + token[at + 1 :]
        # A change in a segment's unused low bits decodes to the same token: not a change.
        if _segments(changed) != original:
            cases.append(Case(f"character {at} changed", changed, FORGED))
    await run(Attacker(acme.ws_url), forge, cases, tally)


def _segments(token: str) -> list[bytes] | None:
    try:
        return [base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)) for s in token.split(".")]
    except ValueError:
        return None


async def _upload(
    key: Key, room: str, authorization: str | None, address: str, base_url: str
) -> httpx.Response:
    """``POST`` a (junk) deck to the slides plugin of ``key``'s tenant."""
    headers = {"X-Forwarded-For": address}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        return await http.post(
            f"/api/v1/plugins/slides/{key.tenant}/{room}/decks", content=NOT_A_DECK, headers=headers
        )


def _error_of(response: httpx.Response) -> tuple[int, str]:
    """``(status, code)`` of a refusal in the documented error shape."""
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return response.status_code, str(body["error"]["code"])


async def test_a_kick_spends_the_identity_s_tokens_until_a_new_one_is_minted(
    acme: TenantClient, tally: Tally
) -> None:
    room = (await acme.room())["slug"]
    forge, attacker = Forge(Key.of(acme), room, Key.of(acme)), Attacker(acme.ws_url)
    host = await acme.join(room, "hana", "host")
    kim_token = forge.sign(forge.claims(sub="kim", role="moderator"))
    no_iat = forge.sign(forge.claims(sub="kim", role="moderator", iat=None))
    ann_token = forge.sign(forge.claims(sub="ann"))
    kim = await Member.connect(acme.ws_url, acme.slug, room, kim_token)
    await kim.next("welcome")
    kai = await acme.join(room, "kai")
    # Whatever second the server records for the kicks, it is not before this one.
    before = int(time.time())
    just_before = forge.sign(forge.claims(sub="kim", role="moderator", iat=before))

    assert (await host.request({"type": "participant.kick", "participant_id": kim.id}))["type"] == "ack"
    assert await kim.closed() == (4411, "kicked")
    assert (await acme.http.post(f"/rooms/{room}/participants/{kai.id}/kick")).status_code == 204
    assert await kai.closed() == (4411, "kicked")
    kicked_by = int(time.time())
    kai_token = forge.sign(forge.claims(sub="kai", iat=before))

    spent = Refused("participant_kicked", 4403)
    cases = [
        Case("the kicked connection's own token", kim_token, spent),
        Case("a token of the kicked identity without iat", no_iat, spent),
        Case("a token minted just before the kick", just_before, spent),
        Case("a token of an identity kicked over REST", kai_token, spent),
        Case("another identity's token minted before the kick", ann_token, Admitted()),
    ]
    await run(attacker, forge, cases, tally)
    # The spent link opens no HTTP route either (acme has no slides: the token check comes first).
    tally.tried()
    upload = await _upload(forge.key, room, f"Bearer {kim_token}", attacker.address, acme.base_url)
    assert _error_of(upload) == (403, "participant_kicked")
    tally.held()

    # A new decision of the embedder's: a token issued after the kick's second lets kim back in.
    await asyncio.sleep(max(0.0, kicked_by + 1.05 - time.time()))
    again = forge.sign(forge.claims(sub="kim", role="moderator"))
    await run(
        attacker,
        forge,
        [Case("a token minted after the kick", again, Admitted("moderator", MODERATOR_PERMISSIONS))],
        tally,
    )
    await host.leave()


async def test_a_revoked_key_opens_nothing_new(acme: TenantClient, tally: Tally) -> None:
    issued = (await acme.http.post("/keys", json={"name": "leaked"})).json()
    leaked = Key(acme.slug, issued["key_id"], issued["secret"])
    room = (await acme.room())["slug"]
    forge, attacker = Forge(leaked, room, Key.of(acme)), Attacker(acme.ws_url)
    token = forge.sign(forge.claims(role="host"))
    staying = await Member.connect(acme.ws_url, acme.slug, room, token)
    await staying.next("welcome")
    assert (await acme.http.delete(f"/keys/{leaked.key_id}")).status_code == 204

    await run(attacker, forge, [Case("a host token of the revoked key", token, UNKNOWN_KEY)], tally)
    got = {
        "slides upload with its token": _error_of(
            await _upload(leaked, room, f"Bearer {token}", attacker.address, acme.base_url)
        )
    }
    attempts: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("list rooms", "GET", "/rooms", None),
        ("create a room", "POST", "/rooms", {"slug": "revoked-made", "name": "x"}),
        ("mint a token", "POST", f"/rooms/{room}/tokens", {"identity": "x", "role": "host"}),
        ("create a new key", "POST", "/keys", {"name": "regain"}),
        ("revoke the key that revoked it", "DELETE", f"/keys/{acme.key_id}", None),
    ]
    bearer = {"Authorization": f"Bearer {leaked.secret}", "X-Forwarded-For": attacker.address}
    async with httpx.AsyncClient(base_url=acme.base_url + "/api/v1", headers=bearer, timeout=10) as http:
        for name, method, path, body in attempts:
            got[name] = _error_of(await http.request(method, path, json=body))
    expected = {name: (401, "api_key_invalid") for name in got}
    expected["slides upload with its token"] = (401, "token_unknown_key")
    tally.tried(len(expected))
    tally.held(sum(got[name] == want for name, want in expected.items()))
    assert got == expected
    # Documented: whoever is already in stays in; and the revoked secret changed nothing.
    assert (await staying.request({"type": "ping"}))["type"] == "pong"
    keys = {k["key_id"]: k for k in (await acme.http.get("/keys")).json()}
    assert keys[leaked.key_id]["revoked_at"] is not None and keys[acme.key_id]["revoked_at"] is None
    assert "regain" not in [k["name"] for k in keys.values()]
    assert (await acme.http.get("/rooms/revoked-made")).status_code == 404
    await staying.leave()


async def test_rest_refuses_every_secret_that_is_not_a_live_one(acme: TenantClient, tally: Tally) -> None:
    join_token = await acme.token((await acme.room())["slug"], "ann")
    secret = acme.secret
    headers: dict[str, tuple[str | None, str]] = {
        "no header": (None, "api_key_missing"),
        "Bearer and nothing": ("Bearer", "api_key_missing"),
        "Basic scheme": ("Basic " + base64.b64encode(f"x:{secret}".encode()).decode(), "api_key_missing"),
        "the secret without a scheme": (secret, "api_key_missing"),
        "garbage": ("Bearer garbage", "api_key_invalid"),
        "a made-up secret": ("Bearer sk_" + uuid.uuid4().hex * 2, "api_key_invalid"),
        "the secret and one more character": (f"Bearer {secret}x", "api_key_invalid"),
        "the secret less its last character": (f"Bearer {secret[:-1]}", "api_key_invalid"),
        "the secret in upper case": (f"Bearer {secret.upper()}", "api_key_invalid"),
        "the key id": (f"Bearer {acme.key_id}", "api_key_invalid"),
        "a join token": (f"Bearer {join_token}", "api_key_invalid"),
        "SQL in the secret": ("Bearer sk_' OR '1'='1' --0123456789abcdef", "api_key_invalid"),
        "a 4 KiB secret": ("Bearer sk_" + "a" * 4096, "api_key_invalid"),
        "a 64 KiB secret": ("Bearer sk_" + "a" * 65536, "api_key_invalid"),
    }
    address, wrong = new_address(), []
    async with httpx.AsyncClient(base_url=acme.base_url + "/api/v1", timeout=10) as http:
        for name, (value, code) in headers.items():
            sent = {"X-Forwarded-For": address}
            if value is not None:
                sent["Authorization"] = value
            response = await http.get("/rooms", headers=sent)
            tally.tried()
            got = _error_of(response)
            # A refusal never echoes the credential it was given.
            echoed = value is not None and len(value) > 12 and value.split(" ")[-1] in response.text
            if got == (401, code) and not echoed:
                tally.held()
            else:
                wrong.append(f"{name}: {got}{' (echoed)' if echoed else ''}")
        # Positive control: the scheme is case-insensitive and the secret is trimmed.
        ok = await http.get(
            "/rooms", headers={"Authorization": f"bearer  {secret}", "X-Forwarded-For": address}
        )
        assert ok.status_code == 200, ok.text
    assert not wrong, wrong


async def test_the_slides_upload_refuses_tokens_as_joining_does(
    acme: TenantClient, globex: TenantClient, tally: Tally
) -> None:
    room, other_room = (await acme.room())["slug"], (await acme.room())["slug"]
    forge, now = Forge(Key.of(acme), room, Key.of(globex)), int(time.time())
    before_end = forge.sign(forge.claims(role="host", iat=now - 5))
    assert (await acme.http.post(f"/rooms/{room}/end")).status_code == 200
    host = forge.claims(role="host")
    tokens: dict[str, tuple[str | None, tuple[int, str]]] = {
        "no token": (None, (401, "token_missing")),
        "the tenant's API secret": (acme.secret, (401, "token_invalid")),
        "signed with another secret": (jwt.encode(host, ATTACKER_SECRET, "HS256"), (401, "token_invalid")),
        "alg none": (seal({"alg": "none"}, host, None), (401, "token_invalid")),
        "HS512": (seal({"alg": "HS512"}, host, acme.secret.encode(), hashlib.sha512), (401, "token_invalid")),
        "expired": (forge.sign(forge.claims(role="host", exp=now - 60)), (401, "token_expired")),
        "4097 characters": (forge.padded_to(4097, role="host"), (401, "token_invalid")),
        "unknown key": (
            forge.sign(forge.claims(role="host", iss="pk_" + "0" * 24)),
            (401, "token_unknown_key"),
        ),
        "another room's": (forge.sign(forge.claims(role="host", room=other_room)), (403, "token_wrong_room")),
        "another tenant's": (
            jwt.encode({**host, "iss": globex.key_id}, globex.secret, "HS256"),
            (403, "token_wrong_tenant"),
        ),
        "a viewer's": (forge.sign(forge.claims(role="viewer")), (403, "token_viewer_only")),
        "issued before the room was ended": (before_end, (410, "room_ended")),
        "an attendee's": (forge.sign(), (403, "forbidden")),
        # Past every token check: acme has not enabled slides.
        "positive control: a host's": (forge.sign(host), (403, "plugin_not_enabled")),
    }
    address = new_address()
    got = {}
    for name, (token, _) in tokens.items():
        auth = None if token is None else f"Bearer {token}"
        got[name] = _error_of(await _upload(forge.key, room, auth, address, acme.base_url))
    expected = {name: want for name, (_, want) in tokens.items()}
    tally.tried(len(expected))
    tally.held(sum(got[name] == want for name, want in expected.items()))
    assert got == expected


async def _live_stream(tenant: TenantClient, room: str) -> str:
    """An HLS stream of an empty room (retried while the node's media node is still starting)."""
    deadline = time.monotonic() + 30
    while True:
        response = await tenant.http.post(f"/rooms/{room}/streams", json={})
        if response.status_code != 503 or time.monotonic() > deadline:
            assert response.status_code == 201, response.text
            return str(response.json()["id"])
        await asyncio.sleep(0.3)


async def test_watch_routes_take_only_a_live_viewer_token_for_the_stream_s_room(
    acme: TenantClient, globex: TenantClient, tally: Tally
) -> None:
    room, other_room = (await acme.room())["slug"], (await acme.room())["slug"]
    forge, now = Forge(Key.of(acme), room, Key.of(globex)), int(time.time())
    issued = (await acme.http.post("/keys", json={"name": "watch-leak"})).json()
    revoked = jwt.encode({**forge.claims(role="viewer"), "iss": issued["key_id"]}, issued["secret"], "HS256")
    assert (await acme.http.delete(f"/keys/{issued['key_id']}")).status_code == 204
    viewer = forge.claims(role="viewer")
    tokens: dict[str, tuple[str | None, tuple[int, str] | None]] = {
        "no token": (None, (401, "token_required")),
        "garbage": ("not.a.jwt", (401, "token_invalid")),
        "an attendee's join token": (forge.sign(), (403, "token_not_viewer")),
        "a host's join token": (forge.sign(forge.claims(role="host")), (403, "token_not_viewer")),
        "viewer, alg none": (seal({"alg": "none"}, viewer, None), (401, "token_invalid")),
        "viewer, another secret": (jwt.encode(viewer, ATTACKER_SECRET, "HS256"), (401, "token_invalid")),
        "viewer, expired": (forge.sign(forge.claims(role="viewer", exp=now - 60)), (401, "token_expired")),
        "viewer, 4097 characters": (forge.padded_to(4097, role="viewer"), (401, "token_invalid")),
        "viewer of another room": (
            forge.sign(forge.claims(role="viewer", room=other_room)),
            (403, "token_wrong_room"),
        ),
        "viewer of another tenant": (
            jwt.encode({**viewer, "iss": globex.key_id}, globex.secret, "HS256"),
            (403, "token_wrong_tenant"),
        ),
        "viewer of a revoked key": (revoked, (401, "token_unknown_key")),
        # Past the token checks: served, or (no segment written yet) a 404 that says so.
        "positive control: a viewer token": (forge.sign(viewer), None),
    }
    passed = {200, (404, "stream_starting"), (404, "segment_not_found")}
    stream = await _live_stream(acme, room)
    address, wrong = new_address(), []
    try:
        async with httpx.AsyncClient(base_url=acme.base_url, timeout=10) as http:
            for route in ("status", "index.m3u8", "segment-000000.ts"):
                for name, (token, want) in tokens.items():
                    response = await http.get(
                        f"/watch/{acme.slug}/{stream}/{route}",
                        params={} if token is None else {"token": token},
                        headers={"X-Forwarded-For": address},
                    )
                    got: object = 200 if response.status_code == 200 else _error_of(response)
                    tally.tried()
                    if got == want or (want is None and got in passed):
                        tally.held()
                    else:
                        wrong.append(f"{route}, {name}: expected {want or passed}, got {got}")
    finally:
        await acme.http.post(f"/rooms/{room}/streams/stop")
    assert not wrong, "\n".join(wrong)
