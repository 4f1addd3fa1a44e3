"""Webhooks as a service of the app or of ``podium worker``: the outbox, its job queue and its sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from podium.core.auth.keys import SecretBox
from podium.core.jobs import ArqJobs, InProcessJobs, JobQueue, arq_worker
from podium.core.settings import Settings
from podium.core.webhooks.outbox import DELIVER_JOB, Outbox

__all__ = ["Webhooks"]

log = logging.getLogger(__name__)


class Webhooks:
    """Emits events into the outbox; with ``run_jobs`` it also delivers them (and recovers lost ones)."""

    def __init__(self, settings: Settings, box: SecretBox, run_jobs: bool) -> None:
        self.settings = settings
        self.run_jobs = run_jobs
        self.jobs: JobQueue
        if settings.redis_url:
            self.jobs = ArqJobs(settings)
        elif run_jobs:
            self.jobs = InProcessJobs({DELIVER_JOB: self._deliver})
        else:
            # No Redis and jobs run elsewhere: a ``podium worker`` sweeps the stored outbox.
            self.jobs = JobQueue()
        self.outbox = Outbox(settings, box, self.jobs.enqueue)
        self._worker: Any = None
        self._tasks: list[asyncio.Task[Any]] = []
        #: Room events waiting to be stored, in order (see ``notify``).
        self._events: asyncio.Queue[tuple[str, str, Any]] = asyncio.Queue()
        self._storing: asyncio.Task[None] | None = None

    async def notify(self, tenant_slug: str, type_: str, data: Any) -> None:
        """Queue a room event for the outbox without holding up the room (a join, a chat line).

        One task stores them in the order they happened; ``stop`` stores what is left."""
        self._events.put_nowait((tenant_slug, type_, data))

    async def _store_events(self) -> None:
        while True:
            tenant_slug, type_, data = await self._events.get()
            try:
                await self.outbox.emit_for_tenant(tenant_slug, type_, data)
            finally:
                self._events.task_done()

    async def _deliver(self, message_id: int) -> None:
        await self.outbox.deliver(message_id)

    async def _requeue(self, message_id: int) -> None:
        try:
            await self.jobs.enqueue(DELIVER_JOB, message_id, 0)
        except Exception:
            # The queue (Redis) is down: deliver from here rather than let the outbox wait.
            await self.outbox.deliver(message_id)

    async def _run_worker(self) -> None:
        """The arq worker, started again after Redis outages."""
        while True:
            self._worker = arq_worker(self.settings, {DELIVER_JOB: self._deliver}, handle_signals=False)
            try:
                await self._worker.async_run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("job worker stopped (Redis unreachable?); starting again", exc_info=True)
            await asyncio.sleep(2)

    async def start(self) -> None:
        self._storing = asyncio.create_task(self._store_events(), name="webhook-events")
        await self.jobs.start()
        if not self.run_jobs:
            return
        if self.settings.redis_url:
            self._tasks.append(asyncio.create_task(self._run_worker(), name="arq-worker"))
        self._tasks.append(
            asyncio.create_task(self.outbox.sweep_forever(self._requeue), name="webhook-sweep")
        )

    async def stop(self) -> None:
        if self._storing is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._events.join(), timeout=5)
            self._storing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._storing
        if self._worker is not None:
            with contextlib.suppress(Exception):
                await self._worker.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.jobs.stop()
        await self.outbox.close()

    async def emit(self, tenant_id: int, type_: str, data: Any) -> list[str]:
        """Store an event for the tenant's endpoints that want it (see ``Outbox.emit``)."""
        return await self.outbox.emit(tenant_id, type_, data)
