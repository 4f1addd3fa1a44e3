"""``podium serve``'s own media node: a child process, restarted when it dies.

Media work never runs on the web process's event loop. Without
``PODIUM_MEDIA_URL`` the web process starts a media node beside itself on a
free loopback port; if that process dies, it is started again and the
``MediaClient`` reconnects, which tells the affected rooms to offer again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import socket
import sys

__all__ = ["EmbeddedMediaNode"]

log = logging.getLogger(__name__)
RESTART_DELAY = 0.5


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: a SIGTERM when the web process dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedMediaNode:
    """Runs ``podium media`` as a supervised child process."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = _free_port(host)
        self.process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> None:
        await self._spawn()
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(), name="media-node")

    async def _spawn(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "podium.core.cli",
            "media",
            "--host",
            self.host,
            "--port",
            str(self.port),
            preexec_fn=_die_with_parent,
        )

    async def _supervise(self) -> None:
        while True:
            assert self.process is not None
            code = await self.process.wait()
            if self._stopping:
                return
            log.error("media node exited with %s; starting a new one", code)
            await asyncio.sleep(RESTART_DELAY)
            await self._spawn()

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
