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

    async def _deliver(self, message_id: int) -> None:
        await self.outbox.deliver(message_id)

    async def _requeue(self, message_id: int) -> None:
        await self.jobs.enqueue(DELIVER_JOB, message_id, 0)

    async def start(self) -> None:
        await self.jobs.start()
        if not self.run_jobs:
            return
        if self.settings.redis_url:
            self._worker = arq_worker(self.settings, {DELIVER_JOB: self._deliver}, handle_signals=False)
            self._tasks.append(asyncio.create_task(self._worker.async_run(), name="arq-worker"))
        self._tasks.append(
            asyncio.create_task(self.outbox.sweep_forever(self._requeue), name="webhook-sweep")
        )

    async def stop(self) -> None:
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
