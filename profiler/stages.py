"""Stage reports from deep inside a request ("building", "running the tests", "measuring: process
2"), without threading a callback through every harness: the daemon sets a reporter for each
request's task in a context variable, and harness code calls :func:`report`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar

Reporter = Callable[[str], Awaitable[None]]

_reporter: ContextVar[Reporter | None] = ContextVar("perforch_stage_reporter", default=None)


def set_reporter(reporter: Reporter) -> None:
    """Route this task's stage reports to ``reporter`` (each request runs in its own task)."""
    _reporter.set(reporter)


async def report(message: str) -> None:
    reporter = _reporter.get()
    if reporter is not None:
        await reporter(message)
