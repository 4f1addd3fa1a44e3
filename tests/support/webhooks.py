"""A real HTTP receiver for webhook deliveries, answering with scripted status codes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec


@dataclass
class Delivery:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> Any:
        return msgspec.json.decode(self.body)


class Receiver:
    """``ThreadingHTTPServer`` on a free loopback port; ``script`` holds the next answers
    (status codes, or ``("hang", seconds)``), then ``default``."""

    def __init__(self, default: int = 200) -> None:
        self.default = default
        self.script: deque[int | tuple[str, float]] = deque()
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.deliveries.append(
                        Delivery({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = receiver.script.popleft() if receiver.script else receiver.default
                if isinstance(answer, tuple):
                    time.sleep(answer[1])
                    answer = 200
                self.send_response(answer)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def of_type(self, kind: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.payload["type"] == kind]

    async def wait(self, count: int, kind: str | None = None, timeout: float = 15) -> list[Delivery]:
        """At least ``count`` deliveries (of ``kind``), waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                got = [d for d in self.deliveries if kind is None or d.payload["type"] == kind]
            if len(got) >= count or time.monotonic() > deadline:
                assert len(got) >= count, f"{len(got)} deliveries of {kind or 'any'}; want {count}: {got}"
                return got
            await asyncio.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
