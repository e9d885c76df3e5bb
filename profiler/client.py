"""The typed client of the profiler daemon; implements the core's ``ProfilerPort``.

Owns the daemon subprocess: starts it on first use (``python -m profiler.daemon``), forwards its
stderr to logging, routes notifications to the request that caused them, fails every pending
request when the daemon exits, and exposes a state enum (starting, running, errored, exited).
Cancelling an awaiting caller sends ``$/cancelRequest``, so the daemon kills that request's
processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from perforch_core.errors import ProfilerError, ProfilerUnavailableError
from perforch_core.models import Measurement, Metric, Task, TestOutcome, Verdict
from perforch_core.ports import OnSample, Sample

from . import protocol as p

log = logging.getLogger("perforch.profiler.client")

Notify = Callable[[str, dict[str, Any]], Awaitable[None]]


class ClientState(StrEnum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    ERRORED = "errored"
    EXITED = "exited"


def program_for(task: Task, interpreter: str | None = None) -> p.Program:
    return p.Program(
        language=task.language,
        module=task.module,
        entry_point=task.entry_point,
        tests=task.tests,
        interpreter=interpreter,
    )


class ProfilerClient:
    def __init__(
        self,
        *,
        interpreter: str | None = None,
        command: list[str] | None = None,
        test_timeout_s: float = 20.0,
    ) -> None:
        # -P: the user's directory never shadows a module (a numbers.py broke pydantic).
        self.command = command or [sys.executable, "-P", "-m", "profiler.daemon"]
        self.interpreter = interpreter
        self.test_timeout_s = test_timeout_s
        self.state = ClientState.NEW
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._listeners: dict[int, Notify] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self._stderr: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        async with self._start_lock:
            if self.state == ClientState.RUNNING:
                return
            self.state = ClientState.STARTING
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    *self.command,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError as exc:
                self.state = ClientState.ERRORED
                raise ProfilerUnavailableError(f"cannot start the profiler daemon: {exc}") from exc
            self._reader = asyncio.create_task(self._read_loop(), name="profiler-reader")
            self._stderr = asyncio.create_task(self._stderr_loop(), name="profiler-stderr")
            self.state = ClientState.RUNNING

    async def aclose(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            self.state = ClientState.EXITED
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._request("shutdown", {}), timeout=2)
        try:
            await asyncio.wait_for(proc.wait(), timeout=3)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        for task in (self._reader, self._stderr):
            if task:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=1)
        self.state = ClientState.EXITED

    async def __aenter__(self) -> ProfilerClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _stderr_loop(self) -> None:
        assert self._proc and self._proc.stderr
        async for line in self._proc.stderr:
            log.info("%s", line.decode("utf-8", "replace").rstrip())

    async def _read_loop(self) -> None:
        assert self._proc and self._proc.stdout
        try:
            while True:
                message = await p.read_message(self._proc.stdout)
                if message is None:
                    break
                await self._dispatch(message)
        except Exception as exc:
            log.error("profiler stream broken: %s", exc)
            self.state = ClientState.ERRORED
        finally:
            if self.state != ClientState.ERRORED:
                self.state = ClientState.EXITED
            error = ProfilerUnavailableError("the profiler daemon exited")
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(error)
            self._pending.clear()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message:
            params = message.get("params") or {}
            rid = params.get("id")
            listener = self._listeners.get(rid) if isinstance(rid, int) else None
            if listener:
                try:
                    await listener(message["method"], params)
                except Exception:
                    log.exception("notification listener failed")
            return
        fut = self._pending.pop(message.get("id"), None)  # type: ignore[arg-type]
        if fut is None or fut.done():
            return
        if "error" in message:
            err = message["error"] or {}
            if err.get("code") == p.REQUEST_CANCELLED:
                fut.cancel()
            else:
                fut.set_exception(p.error_from(err))
        else:
            fut.set_result(message.get("result"))

    async def _send(self, message: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.returncode is not None:
            raise ProfilerUnavailableError("the profiler daemon is not running")
        try:
            proc.stdin.write(p.encode(message))
            await proc.stdin.drain()
        except (ConnectionError, BrokenPipeError) as exc:
            raise ProfilerUnavailableError("the profiler daemon is not running") from exc

    async def _request(
        self, method: str, params: dict[str, Any], listener: Notify | None = None
    ) -> Any:
        if self.state in (ClientState.NEW, ClientState.EXITED, ClientState.ERRORED):
            await self.start()
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        if listener:
            self._listeners[rid] = listener
        try:
            await self._send({"jsonrpc": p.JSONRPC, "id": rid, "method": method, "params": params})
            return await fut
        except asyncio.CancelledError:
            with contextlib.suppress(ProfilerError):
                await self._send(
                    {"jsonrpc": p.JSONRPC, "method": "$/cancelRequest", "params": {"id": rid}}
                )
            raise
        finally:
            self._pending.pop(rid, None)
            self._listeners.pop(rid, None)

    # -- typed requests --------------------------------------------------------------------
    async def run_tests(self, task: Task, code: str) -> TestOutcome:
        params = p.RunTestsParams(
            program=program_for(task, self.interpreter),
            source=task.program(code),
            timeout_s=self.test_timeout_s,
        )
        result = await self._request("run_tests", params.model_dump(mode="json"))
        return TestOutcome.model_validate(result)

    def _sample_listener(self, on_sample: OnSample | None) -> Notify | None:
        if on_sample is None:
            return None

        async def listener(method: str, params: dict[str, Any]) -> None:
            if method == "sample":
                s = p.SampleParams.model_validate(params)
                await on_sample(
                    Sample(
                        metric=s.metric,
                        process=s.process,
                        baseline=s.baseline,
                        candidate=s.candidate,
                        unit=s.unit,
                    )
                )

        return listener

    async def compare(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        metric: Metric,
        threshold_pct: float,
        on_sample: OnSample | None = None,
        *,
        instructions: bool = False,
    ) -> Verdict:
        """Compare two versions of the task's function (each spliced into the module)."""
        return await self.compare_programs(
            task,
            task.program(baseline),
            task.program(candidate),
            metric,
            threshold_pct,
            on_sample,
            instructions=instructions,
        )

    async def compare_programs(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        metric: Metric,
        threshold_pct: float,
        on_sample: OnSample | None = None,
        *,
        instructions: bool = False,
    ) -> Verdict:
        """Compare two whole modules under the task's tests; ``instructions`` adds valgrind's
        instruction counts per test run (C++, Rust, Go)."""
        params = p.CompareParams(
            program=program_for(task, self.interpreter),
            baseline=baseline,
            candidate=candidate,
            metric=metric,
            threshold_pct=threshold_pct,
            instructions=instructions,
        )
        result = await self._request(
            "compare", params.model_dump(mode="json"), self._sample_listener(on_sample)
        )
        return Verdict.model_validate(result)

    async def measure(
        self, task: Task, code: str, metric: Metric, on_sample: OnSample | None = None
    ) -> Measurement:
        params = p.MeasureParams(
            program=program_for(task, self.interpreter), source=task.program(code), metric=metric
        )
        result = await self._request(
            "measure", params.model_dump(mode="json"), self._sample_listener(on_sample)
        )
        return Measurement.model_validate(result)
