"""``podium serve``'s graceful stop: on SIGTERM, send every participant to another node first.

uvicorn alone would stop accepting, wait for the open WebSockets to end on their own, and
only then stop. A rolling restart wants the opposite: the node turns unready (``/readyz``
503), closes each socket with ``1012`` (service restart, reason ``reconnect``), which the
web client answers by reconnecting at once with the same token (the load balancer picks a
ready node), and then stops. A second SIGTERM or SIGINT stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from podium.core.services import Services

__all__ = ["DrainingServer"]

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM drains the node before shutting down."""

    def __init__(self, config: uvicorn.Config, services: Services) -> None:
        super().__init__(config)
        self.services = services
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_task: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if (
            sig == signal.SIGTERM
            and self._loop is not None
            and not self.should_exit
            and not self.services.draining
        ):
            self.services.draining = True
            self._loop.call_soon_threadsafe(self._begin_drain, sig, frame)
            return
        super().handle_exit(sig, frame)

    def _begin_drain(self, sig: int, frame: FrameType | None) -> None:
        assert self._loop is not None
        self._drain_task = self._loop.create_task(self._drain(sig, frame), name="drain")

    async def _drain(self, sig: int, frame: FrameType | None) -> None:
        try:
            closed = await self.services.drain()
            log.warning("draining: sent %d participants to another node; stopping", closed)
        except Exception:
            log.exception("draining failed; stopping anyway")
        finally:
            super().handle_exit(sig, frame)
