"""The recording jobs' arq queue: apart from the webhooks' queue, so each worker knows all its jobs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from podium.core.jobs import ArqJobs, JobFunction, arq_redis_settings
from podium.core.settings import Settings

__all__ = ["OutputJobs", "output_queue_name"]


def output_queue_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}:arq:outputs"


class OutputJobs(ArqJobs):
    """Sends recording jobs through Redis; with ``run`` this process also works the queue."""

    def __init__(self, settings: Settings, functions: dict[str, JobFunction], run: bool) -> None:
        super().__init__(settings)
        self.functions = functions
        self.run = run
        self._worker: Any = None
        self._task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        from arq import create_pool
        from arq.worker import Worker, func

        self.pool = await create_pool(
            arq_redis_settings(self.settings), default_queue_name=output_queue_name(self.settings)
        )
        if not self.run:
            return

        def wrap(name: str, fn: JobFunction) -> Any:
            async def job(ctx: dict[str, Any], arg: int) -> None:
                await fn(arg)

            return func(job, name=name, max_tries=3)

        self._worker = Worker(
            functions=[wrap(name, fn) for name, fn in self.functions.items()],
            queue_name=output_queue_name(self.settings),
            redis_settings=arq_redis_settings(self.settings),
            keep_result=0,
            # Remuxing an hour-long recording takes seconds; thumbnails less.
            job_timeout=900,
            poll_delay=0.2,
            handle_signals=False,
        )
        self._task = asyncio.create_task(self._worker.async_run(), name="arq-outputs")

    async def stop(self) -> None:
        if self._worker is not None:
            with contextlib.suppress(Exception):
                await self._worker.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await super().stop()
