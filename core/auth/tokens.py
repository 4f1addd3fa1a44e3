"""Join tokens: HS256 JWTs an embedder signs with its API secret, verified here.

Claims: ``iss`` the API key id, ``sub`` the user's identity, ``room`` the room
slug, ``role``, ``name`` the display name, ``exp``, ``nbf`` and ``iat``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

import jwt
import msgspec

from podium.core.auth.permissions import Role
from podium.core.errors import PodiumError

__all__ = ["VIEWER", "JoinClaims", "KeyLookup", "mint", "verify", "verify_viewer"]

ALGORITHM = "HS256"
#: Clock skew tolerated between the embedder's server and Podium.
LEEWAY_SECONDS = 10
MAX_TOKEN_BYTES = 4096
#: The role of a viewer token: it lets its holder watch the room's live stream, nothing else
#: (it is not a ``Role``: a viewer never joins the room, and ``verify`` refuses it).
VIEWER: Final = "viewer"
#: Every ``role`` a token may carry.
_ROLES = (*(role.value for role in Role), VIEWER)


class JoinClaims(msgspec.Struct, frozen=True):
    """The verified content of a join token."""

    iss: str
    sub: str
    room: str
    role: Role
    name: str = ""
    exp: int = 0
    nbf: int = 0
    iat: int = 0


#: Finds a key id's ``(tenant_slug, secret)``; ``None`` when unknown or revoked.
KeyLookup = Callable[[str], Awaitable[tuple[str, str] | None]]


def mint(
    *,
    key_id: str,
    secret: str,
    identity: str,
    room: str,
    role: Role | Literal["viewer"],
    name: str,
    ttl: int,
    now: float | None = None,
) -> str:
    """Sign a join token, as an embedder's server would with any JWT library."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": key_id,
        "sub": identity,
        "room": room,
        "role": role.value if isinstance(role, Role) else role,
        "name": name,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _unauthorized(code: str, message: str) -> PodiumError:
    return PodiumError(code, message, status=401)


async def verify(token: str, lookup: KeyLookup, *, tenant: str, room: str) -> JoinClaims:
    """Check signature, times, issuer, tenant and room; raise ``PodiumError`` with a stable code."""
    payload = await _verified(token, lookup, tenant=tenant, room=room)
    if payload.get("role") == VIEWER:
        raise PodiumError("token_viewer_only", "a viewer token can watch the live stream, not join", 403)
    try:
        claims = msgspec.convert(payload, JoinClaims, strict=False)
    except msgspec.ValidationError as exc:
        raise _unauthorized("token_invalid", f"join token claims: {exc}") from exc
    if not claims.sub or len(claims.sub) > 200 or len(claims.name) > 200:
        raise _unauthorized("token_invalid", "join token identity or name is empty or too long")
    # PostgreSQL text cannot hold U+0000; no real name or identity has one.
    if "\x00" in claims.sub or "\x00" in claims.name:
        raise _unauthorized("token_invalid", "join token identity or name holds a NUL character")
    return claims


async def verify_viewer(token: str, lookup: KeyLookup, *, tenant: str, room: str) -> str:
    """Check a viewer token (role ``viewer``) for ``room``'s live stream; returns its identity."""
    payload = await _verified(token, lookup, tenant=tenant, room=room)
    if payload.get("role") != VIEWER:
        raise PodiumError("token_not_viewer", "watching a live stream takes a viewer token", status=403)
    identity = payload.get("sub")
    if not isinstance(identity, str) or not identity or len(identity) > 200 or "\x00" in identity:
        raise _unauthorized("token_invalid", "viewer token identity is empty, too long or holds a NUL")
    return identity


async def _verified(token: str, lookup: KeyLookup, *, tenant: str, room: str) -> dict[str, Any]:
    """The claims of a token signed by ``tenant``'s key for ``room``, within its times."""
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise _unauthorized("token_invalid", "join token missing or too long")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _unauthorized("token_invalid", "join token is not a valid JWT") from exc
    if header.get("alg") != ALGORITHM:
        raise _unauthorized("token_invalid", f"join tokens must be signed with {ALGORITHM}")
    key_id = unverified.get("iss")
    if not isinstance(key_id, str):
        raise _unauthorized("token_invalid", "join token has no iss (API key id)")
    found = await lookup(key_id)
    if found is None:
        raise _unauthorized("token_unknown_key", "join token was signed by an unknown or revoked key")
    tenant_slug, secret = found
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("token_expired", "join token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise _unauthorized("token_not_yet_valid", "join token is not valid yet (nbf)") from exc
    except jwt.PyJWTError as exc:
        raise _unauthorized("token_invalid", f"join token rejected: {exc}") from exc
    # A malformed token is malformed wherever it is presented: its shape is checked before the
    # tenant and room it names (docs/join-tokens.md lists the checks in this order).
    if not isinstance(payload.get("room"), str):
        raise _unauthorized("token_invalid", "join token has no room (a string)")
    if not isinstance(payload.get("role"), str) or payload["role"] not in _ROLES:
        raise _unauthorized("token_invalid", f"join token role must be one of {', '.join(_ROLES)}")
    if tenant_slug != tenant:
        raise PodiumError("token_wrong_tenant", "join token belongs to another tenant", status=403)
    if payload.get("room") != room:
        raise PodiumError("token_wrong_room", "join token is for another room", status=403)
    return dict(payload)
