"""The typed client of the profiler daemon; implements the core's ``ProfilerPort``.

The JSON-RPC connection is pygls's ``JsonRPCClient`` over the daemon's stdio (as esbonio's
client talks to its Sphinx agent): it frames messages, matches replies to requests and fails
the pending ones when the daemon exits. This module owns the daemon's lifetime (started on
first use with ``python -m profiler.daemon``, again after it exited), forwards its stderr to
logging, routes the daemon's ``sample`` notifications to the request that caused them, turns
errors back into PerfOrch's (``protocol.error_from``), and, when an awaiting caller is
cancelled, sends ``$/cancelRequest`` so the daemon kills that request's processes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lsprotocol import converters
from pygls.client import JsonRPCClient
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage

from perforch_core.errors import ProfilerUnavailableError
from perforch_core.models import Measurement, Metric, Task, TestOutcome, Verdict
from perforch_core.ports import OnSample, Sample

from . import protocol as p

if TYPE_CHECKING:
    from cattrs import Converter  # pygls's converter type

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
        workload=task.workload,
    )


def _plain_json() -> Converter:
    """pygls's message converter, keeping params and results the JSON they are (our pydantic
    wire types validate them) instead of turning them into namedtuples."""
    converter = converters.get_converter()

    def keep(obj: dict[str, Any], cls: type[Any]) -> Any:
        return cls(**obj)

    for cls in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, keep)
    return converter


class _Connection(JsonRPCClient):
    """One daemon process and the JSON-RPC connection to it."""

    def __init__(self, owner: ProfilerClient) -> None:
        super().__init__(converter_factory=_plain_json)
        self.owner = owner
        for method in ("sample", "progress"):
            self.feature(method)(self._notification(method))

    def _notification(self, method: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
        async def route(params: dict[str, Any]) -> None:
            await self.owner._notify(method, params)

        return route

    async def server_exit(self, server: asyncio.subprocess.Process) -> None:
        if self.owner._connection is self and self.owner.state == ClientState.RUNNING:
            self.owner.state = ClientState.EXITED

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(error, concurrent.futures.InvalidStateError):
            # The daemon's reply to a request whose caller was cancelled: pygls sets it on the
            # cancelled future and reports that; the stream itself is fine.
            log.debug("reply to a cancelled request: %s", error)
            return
        log.error("profiler stream broken: %s", error)
        if self.owner._connection is self:
            self.owner.state = ClientState.ERRORED


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
        self._connection: _Connection | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._listeners: dict[str, Notify] = {}
        self._ids = itertools.count(1)
        self._stderr: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        async with self._start_lock:
            if self.state == ClientState.RUNNING:
                return
            self.state = ClientState.STARTING
            stale = self._proc
            if stale is not None and stale.returncode is None:
                stale.kill()  # a daemon whose stream broke must not outlive its replacement
                await stale.wait()
            connection = _Connection(self)
            try:
                await connection.start_io(*self.command, start_new_session=True)
            except OSError as exc:
                self.state = ClientState.ERRORED
                raise ProfilerUnavailableError(f"cannot start the profiler daemon: {exc}") from exc
            self._connection, self._proc = connection, connection._server
            self._stderr = asyncio.create_task(self._stderr_loop(), name="profiler-stderr")
            self.state = ClientState.RUNNING

    async def aclose(self) -> None:
        proc, connection = self._proc, self._connection
        if proc is None or connection is None or proc.returncode is not None:
            self.state = ClientState.EXITED
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._request("shutdown", {}), timeout=2)
        try:
            await asyncio.wait_for(proc.wait(), timeout=3)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        with contextlib.suppress(Exception):
            stop: Awaitable[None] = connection.stop()  # type: ignore[no-untyped-call]
            await asyncio.wait_for(stop, timeout=2)
        if self._stderr is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._stderr, timeout=1)
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

    async def _notify(self, method: str, params: dict[str, Any]) -> None:
        """A notification, to the listener of the request it is about."""
        listener = self._listeners.get(str(params.get("id")))
        if listener is None:
            return
        try:
            await listener(method, params)
        except Exception:
            log.exception("notification listener failed")

    async def _request(
        self, method: str, params: dict[str, Any], listener: Notify | None = None
    ) -> Any:
        if self.state == ClientState.RUNNING and self._proc and self._proc.returncode is not None:
            log.warning(
                "the profiler daemon exited (code %s): starting it again", self._proc.returncode
            )
            self.state = ClientState.ERRORED  # died since the last request: a new one now
        if self.state in (ClientState.NEW, ClientState.EXITED, ClientState.ERRORED):
            await self.start()
        connection, proc = self._connection, self._proc
        if connection is None or proc is None or proc.returncode is not None:
            raise ProfilerUnavailableError("the profiler daemon is not running")
        rid = str(next(self._ids))
        if listener:
            self._listeners[rid] = listener
        try:
            return await connection.protocol.send_request_async(method, params, msg_id=rid)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                connection.protocol.notify("$/cancelRequest", {"id": rid})
            raise
        except JsonRpcException as exc:
            if exc.code == p.REQUEST_CANCELLED:
                raise asyncio.CancelledError from exc
            raise p.error_from(
                {"code": exc.code, "message": exc.message, "data": exc.data}
            ) from exc
        except (RuntimeError, ConnectionError, BrokenPipeError) as exc:
            # pygls fails the pending requests of a daemon that exited with RuntimeError.
            if self._connection is connection:
                self.state = ClientState.ERRORED  # the next request starts a new daemon
            code = proc.returncode
            raise ProfilerUnavailableError(
                "the profiler daemon exited" + (f" (code {code})" if code is not None else "")
            ) from exc
        finally:
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

    async def trace_tests(self, task: Task, code: str) -> p.TraceResult:
        """Every test of the task's project on ``code``: which reach the function."""
        params = p.RunTestsParams(
            program=program_for(task, self.interpreter),
            source=task.program(code),
            timeout_s=self.test_timeout_s,
        )
        result = await self._request("trace_tests", params.model_dump(mode="json"))
        return p.TraceResult.model_validate(result)

    async def probe_workload(
        self,
        task: Task,
        code: str,
        generator: str,
        *,
        target_ns: int = 5_000_000,
        sizes: tuple[int, int] | None = None,
    ) -> p.ProbeResult:
        """Check ``generator`` on the function as it is (``code``) and scale it until one call
        costs ``target_ns`` of CPU (``sizes``: the first and the largest size to try)."""
        params = p.ProbeWorkloadParams(
            program=program_for(task, self.interpreter),
            source=task.program(code),
            generator=generator,
            target_ns=target_ns,
        )
        if sizes is not None:
            params = params.model_copy(update={"start_size": sizes[0], "max_size": sizes[1]})
        result = await self._request("probe_workload", params.model_dump(mode="json"))
        return p.ProbeResult.model_validate(result)

    async def differential(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        generator: str,
        sizes: list[int],
        seeds: list[int] | None = None,
        *,
        timeout_s: float = 60.0,
    ) -> p.DifferentialResult:
        """Do the two versions of the function behave the same on the generated inputs?"""
        params = p.DifferentialParams(
            program=program_for(task, self.interpreter),
            baseline=task.program(baseline),
            candidate=task.program(candidate),
            generator=generator,
            sizes=sizes,
            seeds=seeds or [1, 2, 3],
            timeout_s=timeout_s,
        )
        result = await self._request("differential", params.model_dump(mode="json"))
        return p.DifferentialResult.model_validate(result)

    async def workload_inputs(
        self, generator: str, size: int, seeds: Sequence[int]
    ) -> p.InputsResult:
        """A workload's inputs as JSON (``[{"seed": s, "args": [...]}, ...]``), written by the
        generator in the sandbox, for a benchmark file the user keeps."""
        params = p.InputsParams(generator=generator, size=size, seeds=list(seeds))
        result = await self._request("workload_inputs", params.model_dump(mode="json"))
        return p.InputsResult.model_validate(result)

    async def test_inputs(self, task: Task, code: str) -> p.TestInputs:
        """The arguments ``code``'s tests call the function with, as Python literals."""
        params = p.TestInputsParams(
            program=program_for(task, self.interpreter),
            source=task.program(code),
            timeout_s=self.test_timeout_s,
        )
        result = await self._request("test_inputs", params.model_dump(mode="json"))
        return p.TestInputs.model_validate(result)

    async def hotspots(self, task: Task, code: str) -> p.HotspotsResult:
        """The function's lines by their share of its time on its workload."""
        params = p.HotspotsParams(
            program=program_for(task, self.interpreter),
            source=task.program(code),
            timeout_s=self.test_timeout_s * 2,
        )
        result = await self._request("hotspots", params.model_dump(mode="json"))
        return p.HotspotsResult.model_validate(result)

    async def scaling(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        generator: str,
        sizes: list[int],
        seeds: list[int],
        metric: Metric,
    ) -> p.ScalingResult:
        """The cost of one call of each version at each size of the generated input."""
        params = p.ScalingParams(
            program=program_for(task, self.interpreter),
            baseline=task.program(baseline),
            candidate=task.program(candidate),
            generator=generator,
            sizes=sizes,
            seeds=seeds,
            metric=metric,
        )
        result = await self._request("scaling", params.model_dump(mode="json"))
        return p.ScalingResult.model_validate(result)

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
        mirror: bool = True,
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
            mirror=mirror,
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
        processes: int | None = None,
        mirror: bool = True,
    ) -> Verdict:
        """Compare two whole modules under the task's tests; ``instructions`` adds valgrind's
        instruction counts per test run (C++, Rust, Go); ``processes``: exactly this many
        (one look) instead of the plan's looks (a benchmark's reference run); ``mirror``:
        off only to show what mirrored processes remove (``perforch bench aa``)."""
        bounds = {"min_processes": processes, "max_processes": processes} if processes else {}
        params = p.CompareParams(
            program=program_for(task, self.interpreter),
            baseline=baseline,
            candidate=candidate,
            metric=metric,
            threshold_pct=threshold_pct,
            instructions=instructions,
            mirror=mirror,
            **bounds,
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
