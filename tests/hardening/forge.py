"""Join tokens as an attacker writes them, and a client that reports what the server did with one.

``Forge`` signs with PyJWT exactly as an embedder's server would (docs/join-tokens.md); ``seal``
builds by hand what PyJWT refuses to write. ``Attacker`` connects from an address of its own
(``X-Forwarded-For``, trusted from loopback), so its deliberate failures count apart from other
tests' in the failed-authentication limit.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.hardening.conftest import Tally
from tests.support.client import TenantClient

ATTENDEE_PERMISSIONS = ("chat.everyone", "chat.moderators", "chat.private")
MODERATOR_PERMISSIONS = (
    *ATTENDEE_PERMISSIONS,
    "lobby.admit",
    "participant.ask_mute",
    "participant.kick",
    "participant.lower_hand",
    "participant.set_role",
    "participant.stage",
    "room.breakouts",
    "room.record",
    "room.stream",
)


def new_address() -> str:
    """A client address of this test's own (TEST-NET-3, never routed)."""
    return f"203.0.113.{uuid.uuid4().int % 250 + 1}"


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWT segments are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(value: Any) -> bytes:
    """JSON without spaces, as PyJWT writes a header or payload."""
    return json.dumps(value, separators=(",", ":")).encode()


def seal(
    header: dict[str, Any], payload: dict[str, Any] | bytes, key: bytes | None, digest: Any = hashlib.sha256
) -> str:
    """A JWT built by hand, HMAC over ``header.payload`` with ``key`` (unsigned if ``None``): what
    PyJWT refuses to write (``alg: none``, a PEM as an HMAC key, a non-string ``iss``)."""
    body = payload if isinstance(payload, bytes) else compact(payload)
    signing_input = f"{b64url(compact(header))}.{b64url(body)}"
    signature = "" if key is None else b64url(hmac.new(key, signing_input.encode(), digest).digest())
    return f"{signing_input}.{signature}"


def tamper(token: str, **claims: Any) -> str:
    """``token`` with claims changed in its payload and its original signature kept."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{b64url(compact({**decoded, **claims}))}.{signature}"


@dataclass(frozen=True)
class Key:
    """One API key of a tenant: the key id names it in ``iss``, the secret signs."""

    tenant: str
    key_id: str
    secret: str

    @classmethod
    def of(cls, client: TenantClient) -> Key:
        return cls(client.slug, client.key_id, client.secret)


@dataclass
class Forge:
    """Signs tokens for ``room`` with ``key``, as an embedder (or whoever holds its secret) would."""

    key: Key
    room: str
    #: Another tenant's key, for tokens that cross tenants.
    other: Key

    def claims(self, **override: Any) -> dict[str, Any]:
        """Documented claims for an attendee of ``room``; ``None`` drops a claim."""
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": self.key.key_id,
            "sub": f"mallory-{uuid.uuid4().hex[:6]}",
            "room": self.room,
            "role": "attendee",
            "name": "Mallory",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        base.update(override)
        return {k: v for k, v in base.items() if v is not None}

    def sign(self, claims: dict[str, Any] | None = None, **headers: Any) -> str:
        return jwt.encode(claims or self.claims(), self.key.secret, "HS256", headers=headers or None)

    def seal(self, claims: dict[str, Any]) -> str:
        """HS256 with the key's secret, for claims PyJWT will not encode (a non-string ``iss``)."""
        return seal({"alg": "HS256", "typ": "JWT"}, claims, self.key.secret.encode())

    def padded_to(self, length: int, **override: Any) -> str:
        """A validly signed token of exactly ``length`` characters."""
        base = self.claims(pad="", **override)
        for size in range(length):
            token = self.sign({**base, "pad": "x" * size})
            if len(token) == length:
                return token
        raise AssertionError(f"no token of exactly {length} characters")


@dataclass(frozen=True)
class Refused:
    """The documented refusal: an ``error`` message, then this close code with the code as reason."""

    code: str
    close: int


@dataclass(frozen=True)
class Admitted:
    """Let in with exactly this role and that role's permissions, whatever else the token says."""

    role: str = "attendee"
    permissions: tuple[str, ...] = ATTENDEE_PERMISSIONS


@dataclass(frozen=True)
class HttpStatus:
    """Refused before the WebSocket opens, with this HTTP status."""

    status: int


Expect = Refused | Admitted | HttpStatus
INVALID = Refused("token_invalid", 4401)
EXPIRED = Refused("token_expired", 4401)
NOT_YET = Refused("token_not_yet_valid", 4401)
UNKNOWN_KEY = Refused("token_unknown_key", 4401)
WRONG_TENANT = Refused("token_wrong_tenant", 4403)
WRONG_ROOM = Refused("token_wrong_room", 4403)
#: A changed token: its key id no longer names a key, or its signature no longer matches.
FORGED = frozenset({INVALID, UNKNOWN_KEY})


@dataclass
class Case:
    name: str
    token: str
    #: The outcome, or the outcomes any of which is right.
    expect: Expect | frozenset[Expect]
    #: ``(tenant, room)`` of the URL, when not the forge's own.
    at: tuple[str, str] | None = None


@dataclass
class Attacker:
    """Connects from one address of its own and reports what the server did."""

    ws_url: str
    address: str = field(default_factory=new_address)
    attempts: int = 0

    async def attempt(self, tenant: str, room: str, token: str) -> Expect:
        # A new address now and then keeps a long fuzzing run under the shared nodes' limit of
        # failed authentications per address and minute.
        self.attempts += 1
        if self.attempts % 200 == 0:
            self.address = new_address()
        url = f"{self.ws_url}/ws/{tenant}/{room}?token={token}"
        try:
            socket = await websockets.connect(
                url, additional_headers={"X-Forwarded-For": self.address}, max_size=None
            )
        except InvalidStatus as exc:
            return HttpStatus(exc.response.status_code)
        error: dict[str, Any] = {}
        async with socket:
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                    if message["type"] == "welcome":
                        you = message["you"]
                        return Admitted(you["role"], tuple(message["permissions"]))
                    if message["type"] == "error":
                        error = message
            except ConnectionClosed as exc:
                if exc.rcvd is None:
                    return Refused("closed without a close frame", 0)
                # The error message and the close reason carry the same stable code.
                reason = exc.rcvd.reason
                if error.get("code") != reason:
                    reason = f"error {error.get('code')} but close reason {reason}"
                return Refused(reason, exc.rcvd.code)


async def run(attacker: Attacker, forge: Forge, cases: list[Case], tally: Tally) -> None:
    """Try every case; fail once, listing every case whose outcome differs from its expectation."""
    wrong = []
    for case in cases:
        tenant, room = case.at or (forge.key.tenant, forge.room)
        got = await attacker.attempt(tenant, room, case.token)
        tally.tried()
        if got == case.expect or (isinstance(case.expect, frozenset) and got in case.expect):
            tally.held()
        else:
            wrong.append(f"{case.name}: expected {case.expect}, got {got}")
    assert not wrong, "\n".join(wrong)
