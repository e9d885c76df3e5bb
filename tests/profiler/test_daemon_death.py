"""The profiler daemon killed in the middle of a request: the request fails with a clear
error naming it, the candidate it was running dies with it, and the next request starts a new
daemon and is served (the job then says so and runs the step again: tests/unit/test_executor)."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from perforch_core.errors import ProfilerUnavailableError
from profiler.client import ProfilerClient
from tests.profiler.test_sandbox import attack, task


async def test_a_daemon_killed_mid_request_is_replaced_on_the_next_one():
    async with ProfilerClient(test_timeout_s=30) as client:
        first = client._proc
        assert first is not None
        slow = asyncio.create_task(client.run_tests(task(), attack("import time\ntime.sleep(20)")))
        await asyncio.sleep(2)  # the candidate is sleeping inside the sandbox now
        os.kill(first.pid, signal.SIGKILL)
        with pytest.raises(ProfilerUnavailableError, match="exited"):
            await slow
        served = await client.run_tests(task(), attack("return 'blocked'"))
        assert served.passed, served
        assert client._proc is not None and client._proc.pid != first.pid
