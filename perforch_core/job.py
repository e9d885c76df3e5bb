"""A running job as the caller sees it: an async iterator of events plus a final result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from pydantic import BaseModel

from .result import JobResult

DONE = object()  # put on the queue after the last event


class Job:
    """A running job: an async iterator of events plus a final result."""

    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[JobResult] | None = None

    # -- the executor's side ---------------------------------------------------------------
    def drive(self, work: Coroutine[Any, Any, JobResult]) -> None:
        """Run ``work`` as this job (once)."""
        assert self._task is None, "a job is driven once"
        self._task = asyncio.create_task(work, name=f"job-{self.id}")

    def publish(self, event: BaseModel) -> None:
        self._queue.put_nowait(event)

    def close(self) -> None:
        """No more events: the iteration ends after the last one."""
        self._queue.put_nowait(DONE)

    # -- the caller's side -----------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[BaseModel]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BaseModel]:
        while True:
            item = await self._queue.get()
            if item is DONE:
                return
            yield item

    async def result(self) -> JobResult:
        assert self._task is not None
        return await self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()
