"""Background jobs: arq workers when Redis is configured, asyncio tasks in the process otherwise.

A job is a named async function of simple arguments. Producers call ``enqueue``; where the job
runs (this process, another ``podium worker``) is the queue's business. Jobs must be safe to
run twice: a worker may die after doing the work and before reporting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from podium.core import metrics
from podium.core.settings import Settings

__all__ = ["ArqJobs", "InProcessJobs", "JobFunction", "JobQueue", "arq_queue_name", "arq_redis_settings"]

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[None]]


def arq_queue_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}:arq:queue"


def arq_redis_settings(settings: Settings) -> Any:
    from arq.connections import RedisSettings

    return RedisSettings.from_dsn(settings.redis_url)


class JobQueue:
    """Where jobs are sent: ``await enqueue(name, arg, delay)``. This base queue drops them: for
    producers whose jobs are found again from stored state (the webhook outbox's sweep)."""

    async def enqueue(self, name: str, arg: int, delay: float = 0) -> None:
        """Queue ``name(arg)`` to run after ``delay`` seconds."""

    async def start(self) -> None:
        """Connect (arq) or get ready to run jobs (in-process)."""

    async def stop(self) -> None:
        """Stop running jobs; jobs not yet run stay stored (arq) or are recovered by their owner's sweep."""


class InProcessJobs(JobQueue):
    """Runs jobs as tasks of this process (the no-Redis default)."""

    def __init__(self, functions: dict[str, JobFunction], concurrency: int = 8) -> None:
        self.functions = functions
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)

    async def enqueue(self, name: str, arg: int, delay: float = 0) -> None:
        task = asyncio.create_task(self._run(name, arg, delay), name=f"job-{name}-{arg}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, name: str, arg: int, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        async with self._slots:
            try:
                await self.functions[name](arg)
            except Exception:
                log.exception("job %s(%s) failed", name, arg)
                metrics.job_failed(name)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ArqJobs(JobQueue):
    """Sends jobs to arq through Redis; ``podium worker`` (or a serving node) runs them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: Any = None

    async def start(self) -> None:
        """Connect; with Redis down, log it and connect on the next ``enqueue`` instead."""
        try:
            await self._connect()
        except Exception:
            log.warning("job queue: Redis is unreachable; jobs are queued once it is back", exc_info=True)

    async def _connect(self) -> None:
        from arq import create_pool

        settings = arq_redis_settings(self.settings)
        settings.conn_retries = 0
        self.pool = await create_pool(settings, default_queue_name=arq_queue_name(self.settings))

    async def enqueue(self, name: str, arg: int, delay: float = 0) -> None:
        if self.pool is None:
            await self._connect()
        await self.pool.enqueue_job(name, arg, _defer_by=delay if delay > 0 else None)

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()
            self.pool = None


def arq_worker(settings: Settings, functions: dict[str, JobFunction], **options: Any) -> Any:
    """An arq ``Worker`` running ``functions`` from this deployment's queue."""
    from arq.worker import Worker, func

    def wrap(name: str, fn: JobFunction) -> Any:
        async def job(ctx: dict[str, Any], arg: int) -> None:
            try:
                await fn(arg)
            except Exception:
                metrics.job_failed(name)
                raise

        return func(job, name=name, max_tries=5)

    return Worker(
        functions=[wrap(name, fn) for name, fn in functions.items()],
        queue_name=arq_queue_name(settings),
        redis_settings=arq_redis_settings(settings),
        # Every job is idempotent and short; results are not needed.
        keep_result=0,
        job_timeout=max(30, int(settings.webhook_lease * 2)),
        poll_delay=0.2,
        **options,
    )
