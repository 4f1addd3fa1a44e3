"""The raw ceiling for ``bench/realtime.py``: a bare Litestar WebSocket broadcast endpoint.

Every text frame a client sends on ``/ws`` is sent, unchanged, to every connected
client (the sender included) in a plain loop. No auth, no validation, no storage,
no per-connection queue: it measures what the same stack (uvicorn, its WebSocket
protocol, uvloop, Litestar routing) delivers when the application does nothing.
The load generator sends frames shaped and sized like Podium's ``chat.message``,
so both servers push the same bytes.

Run alone: ``python bench/raw_broadcast.py --port 8090``.
"""

from __future__ import annotations

import argparse
from typing import Any

from litestar import Litestar, MediaType, WebSocket, get, websocket

__all__ = ["create_app", "main"]

#: The first frame a client gets, so "connect → first frame" is comparable with Podium's welcome.
HELLO = '{"type":"welcome"}'


def create_app() -> Litestar:
    """A fresh broadcast app with its own set of connected sockets."""
    peers: dict[int, WebSocket[Any, Any, Any]] = {}

    @websocket("/ws")
    async def broadcast(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        peers[id(socket)] = socket
        try:
            await socket.send({"type": "websocket.send", "text": HELLO, "bytes": None})
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                event = {"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")}
                for peer in list(peers.values()):
                    try:
                        await peer.send(event)  # type: ignore[arg-type]
                    except Exception:  # that peer is gone; its own handler cleans up
                        peers.pop(id(peer), None)
        finally:
            peers.pop(id(socket), None)

    @get("/healthz", media_type=MediaType.TEXT)
    async def healthz() -> str:
        return "ok"

    return Litestar(route_handlers=[broadcast, healthz], debug=False)


def main() -> None:
    """Serve the broadcast app with the same uvicorn settings as ``podium serve``."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        ws_max_size=4 * 64 * 1024,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
