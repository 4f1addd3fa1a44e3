"""Requests whose path or query holds a NUL byte are refused before a route sees them.

No Podium URL has one, and past this point it only breaks things: the OS refuses it in file
names (a static file lookup ends in a 500) and PostgreSQL in text (a slug lookup ends in a 500).
So it is a 400 ``bad_request`` (HTTP) or a refused handshake (WebSocket) on every route.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = ["refuse_nul_bytes"]

_BODY = b'{"error":{"code":"bad_request","message":"the URL holds a NUL byte"}}'


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query


def refuse_nul_bytes(app: ASGIApp) -> ASGIApp:
    """Litestar middleware: answer a URL holding NUL with 400 instead of passing it on."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and _has_nul(scope):
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": _BODY, "more_body": False})
            return
        if scope["type"] == ScopeType.WEBSOCKET and _has_nul(scope):
            # Closing before accepting turns the handshake down (an HTTP 403 on the wire).
            await send({"type": "websocket.close", "code": 4400, "reason": "bad_request"})
            return
        await app(scope, receive, send)

    return middleware
