"""Shared fixtures for the profiler tests."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from profiler.client import ProfilerClient


@pytest.fixture
async def raw_daemon() -> AsyncIterator[asyncio.subprocess.Process]:
    """A profiler daemon spoken to over its raw stdio protocol; killed if a test leaves it up."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "profiler.daemon",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdin and proc.stdout
    yield proc
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


@pytest.fixture
async def client() -> AsyncIterator[ProfilerClient]:
    """A started profiler client (its daemon is stopped afterwards)."""
    c = ProfilerClient(test_timeout_s=30)
    await c.start()
    yield c
    await c.aclose()
