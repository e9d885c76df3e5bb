"""The profiler daemon: ``python -m profiler.daemon [--socket PATH]``.

Serves JSON-RPC 2.0 (``profiler.protocol``) over stdin/stdout, or over a Unix socket created with
mode 0600. Each request runs as its own task; ``$/cancelRequest`` cancels it, which kills its
sandboxed processes. Measurements run one at a time (two would disturb each other on two cores);
test runs may overlap up to ``--test-concurrency``. Depends only on the standard library,
pydantic and the protocol module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from perforch_core.errors import PerfOrchError
from perforch_core.models import Language

from . import languages, projects, stages
from . import protocol as p
from .harness import base, compiled
from .harness.base import Harness, ProcessResult
from .projects.measure import ProjectHarness
from .session import Sessions, fresh_processes

log = logging.getLogger("perforch.profiler")

SAMPLE_MIN_INTERVAL_S = 0.05  # at most 20 sample notifications a second


class RPCError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Send = Callable[[dict[str, Any]], Awaitable[None]]


class Daemon:
    def __init__(self, test_concurrency: int = 2) -> None:
        self.harnesses: dict[Language, Harness] = languages.harnesses()
        self.projects = ProjectHarness()
        self.tests_slots = asyncio.Semaphore(test_concurrency)
        self.measure_slot = asyncio.Semaphore(1)
        # Measuring sandboxes kept from one comparison to the next (profiler.session).
        self.sessions = Sessions()
        self.tasks: dict[Any, asyncio.Task[None]] = {}
        self.stopping = asyncio.Event()

    async def aclose(self) -> None:
        """Stop the harnesses' services (the warm javac), the measuring sandboxes, and drop
        measuring builds."""
        await self.sessions.close()
        await self.projects.aclose()
        for h in self.harnesses.values():
            close = getattr(h, "aclose", None)
            if close is not None:
                await close()

    def harness(self, program: p.Program) -> Harness:
        if program.tests.kind == "project":
            return self.projects
        language = program.language
        h = self.harnesses.get(language)
        if h is None:
            raise RPCError(p.HARNESS_ERROR, f"no harness for {language.value} yet")
        return h

    # -- methods ---------------------------------------------------------------------------
    async def run_tests(self, params: p.RunTestsParams, rid: Any, send: Send) -> BaseModel:
        async with self.tests_slots:
            await self._progress(send, rid, "running tests")
            if params.program.tests.kind == "project":
                return await projects.run_tests(params)
            return await self.harness(params.program).run_tests(params)

    async def trace_tests(self, params: p.RunTestsParams, rid: Any, send: Send) -> BaseModel:
        if params.program.tests.kind != "project":
            raise RPCError(p.HARNESS_ERROR, "tracing needs the tests of a project")
        async with self.tests_slots:
            await self._progress(send, rid, "tracing the tests")
            return await projects.trace_tests(params)

    def _workloads(self, program: p.Program) -> Any:
        """The harness of a language that runs generated inputs (Python and C++ so far)."""
        h = self.harness(program)
        # A project's harness says per runner; a language's harness by its flag.
        if not hasattr(h, "probe_workload") or not getattr(h, "generated_inputs", True):
            raise RPCError(
                p.HARNESS_ERROR,
                f"generated workloads are not supported for {program.language.value} yet",
            )
        return h

    async def probe_workload(
        self, params: p.ProbeWorkloadParams, rid: Any, send: Send
    ) -> BaseModel:
        async with self.tests_slots:
            await self._progress(send, rid, "trying the input generator")
            result: BaseModel = await self._workloads(params.program).probe_workload(params)
            return result

    async def differential(self, params: p.DifferentialParams, rid: Any, send: Send) -> BaseModel:
        async with self.tests_slots:
            await self._progress(send, rid, "differential testing")
            result: BaseModel = await self._workloads(params.program).differential(params)
            return result

    async def workload_inputs(self, params: p.InputsParams, rid: Any, send: Send) -> BaseModel:
        async with self.tests_slots:
            await self._progress(send, rid, "writing the workload's inputs")
            return await compiled.inputs_as_json(params)

    async def hotspots(self, params: p.HotspotsParams, rid: Any, send: Send) -> BaseModel:
        h = self.harness(params.program)
        if not hasattr(h, "hotspots"):
            why = f"per-line hot spots are not measured for {params.program.language.value} yet"
            return p.HotspotsResult(ok=False, error=why)
        async with self.tests_slots:
            await self._progress(send, rid, "profiling the function's lines")
            result: BaseModel = await h.hotspots(params)
            return result

    async def test_inputs(self, params: p.TestInputsParams, rid: Any, send: Send) -> BaseModel:
        h = self.harness(params.program)
        if not hasattr(h, "test_inputs"):
            why = f"the tests' inputs are not read for {params.program.language.value} yet"
            return p.TestInputs(ok=False, error=why)
        async with self.tests_slots:
            await self._progress(send, rid, "reading the tests' inputs")
            result: BaseModel = await h.test_inputs(params)
            return result

    async def scaling(self, params: p.ScalingParams, rid: Any, send: Send) -> BaseModel:
        async with self.tests_slots:
            await self._progress(send, rid, "calling both versions at growing input sizes")
            result: BaseModel = await self._workloads(params.program).scaling(params)
            return result

    def _sampler(
        self,
        send: Send,
        rid: Any,
        params: p.CompareParams | p.MeasureParams,
    ) -> Callable[[int, ProcessResult], Awaitable[None]]:
        last = 0.0

        async def on_sample(index: int, r: ProcessResult) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < SAMPLE_MIN_INTERVAL_S:
                await asyncio.sleep(SAMPLE_MIN_INTERVAL_S - (now - last))
            last = time.monotonic()
            sample = p.SampleParams(
                id=rid,
                metric=params.metric,
                process=index,
                ratio=r.ratio,
                baseline=r.baseline,
                candidate=r.candidate,
                unit=r.unit,
            )
            await send(
                {"jsonrpc": p.JSONRPC, "method": "sample", "params": sample.model_dump(mode="json")}
            )

        return on_sample

    async def compare(self, params: p.CompareParams, rid: Any, send: Send) -> BaseModel:
        async with self.measure_slot, fresh_processes(self.sessions):
            await self._progress(send, rid, f"measuring {params.metric.value}")
            return await base.compare(
                self.harness(params.program), params, self._sampler(send, rid, params)
            )

    async def measure(self, params: p.MeasureParams, rid: Any, send: Send) -> BaseModel:
        async with self.measure_slot, fresh_processes(self.sessions):
            await self._progress(send, rid, f"measuring {params.metric.value}")
            return await base.measure(
                self.harness(params.program), params, self._sampler(send, rid, params)
            )

    async def _progress(self, send: Send, rid: Any, message: str) -> None:
        await send(
            {
                "jsonrpc": p.JSONRPC,
                "method": "progress",
                "params": p.ProgressParams(id=rid, message=message).model_dump(),
            }
        )

    METHODS: dict[str, tuple[type[BaseModel], str]] = {
        "run_tests": (p.RunTestsParams, "run_tests"),
        "compare": (p.CompareParams, "compare"),
        "measure": (p.MeasureParams, "measure"),
        "trace_tests": (p.RunTestsParams, "trace_tests"),
        "probe_workload": (p.ProbeWorkloadParams, "probe_workload"),
        "differential": (p.DifferentialParams, "differential"),
        "scaling": (p.ScalingParams, "scaling"),
        "hotspots": (p.HotspotsParams, "hotspots"),
        "test_inputs": (p.TestInputsParams, "test_inputs"),
        "workload_inputs": (p.InputsParams, "workload_inputs"),
    }

    # -- dispatch --------------------------------------------------------------------------
    async def handle(self, message: dict[str, Any], send: Send) -> None:
        method = message.get("method")
        rid = message.get("id")
        if method == "$/cancelRequest":
            task = self.tasks.get((message.get("params") or {}).get("id"))
            if task:
                task.cancel()
            return
        if method == "shutdown":
            await send({"jsonrpc": p.JSONRPC, "id": rid, "result": None})
            self.stopping.set()
            return
        if rid is None:
            return  # unknown notification: ignore, as JSON-RPC says
        task = asyncio.create_task(self._answer(message, rid, send), name=f"request-{rid}")
        self.tasks[rid] = task
        task.add_done_callback(lambda _t: self.tasks.pop(rid, None))

    async def _answer(self, message: dict[str, Any], rid: Any, send: Send) -> None:
        reply: dict[str, Any] = {"jsonrpc": p.JSONRPC, "id": rid}

        async def stage(text: str) -> None:
            await self._progress(send, rid, text)

        stages.set_reporter(stage)
        try:
            entry = self.METHODS.get(str(message.get("method")))
            if entry is None:
                raise RPCError(p.METHOD_NOT_FOUND, f"unknown method {message.get('method')!r}")
            model, attr = entry
            try:
                params = model.model_validate(message.get("params") or {})
            except ValidationError as exc:
                raise RPCError(p.INVALID_PARAMS, str(exc)) from exc
            result = await getattr(self, attr)(params, rid, send)
            reply["result"] = result.model_dump(mode="json")
        except asyncio.CancelledError:
            reply["error"] = {"code": p.REQUEST_CANCELLED, "message": "request cancelled"}
        except RPCError as exc:
            reply["error"] = {"code": exc.code, "message": exc.message}
        except PerfOrchError as exc:
            reply["error"] = {
                "code": p.HARNESS_ERROR,
                "message": exc.message,
                "data": p.error_data(exc),
            }
        except Exception as exc:  # a bug in the daemon must not take it down
            log.exception("request %s failed", rid)
            reply["error"] = {"code": p.INTERNAL_ERROR, "message": f"{type(exc).__name__}: {exc}"}
        with contextlib.suppress(ConnectionError):
            await send(reply)

    async def serve(
        self,
        reader: asyncio.StreamReader,
        write: Callable[[bytes], None],
        drain: Callable[[], Awaitable[None]],
    ) -> None:
        lock = asyncio.Lock()

        async def send(message: dict[str, Any]) -> None:
            async with lock:
                write(p.encode(message))
                await drain()

        while not self.stopping.is_set():
            read = asyncio.ensure_future(p.read_message(reader))
            stop = asyncio.ensure_future(self.stopping.wait())
            done, _ = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if read not in done:
                read.cancel()
                break
            try:
                message = read.result()
            except (ValueError, asyncio.IncompleteReadError) as exc:
                await send(
                    {
                        "jsonrpc": p.JSONRPC,
                        "id": None,
                        "error": {"code": p.PARSE_ERROR, "message": str(exc)},
                    }
                )
                if isinstance(exc, asyncio.IncompleteReadError):
                    break
                continue
            if message is None:
                break
            await self.handle(message, send)
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


async def _serve_stdio(daemon: Daemon) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    await daemon.serve(reader, writer.write, writer.drain)


async def _serve_socket(daemon: Daemon, path: Path) -> None:
    path.unlink(missing_ok=True)
    old = os.umask(0o177)  # the socket is created 0600: only its owner may connect
    try:
        server = await asyncio.start_unix_server(
            lambda r, w: daemon.serve(r, w.write, w.drain), path=str(path)
        )
    finally:
        os.umask(old)
    async with server:
        await daemon.stopping.wait()
    path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="perforch profiler", description=__doc__)
    parser.add_argument("--socket", type=Path, help="serve on this Unix socket instead of stdio")
    parser.add_argument("--test-concurrency", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="profiler %(levelname)s %(message)s"
    )
    removed = compiled.prune_builds()
    if removed:
        log.info("pruned %d least recently used builds from the cache", removed)
    daemon = Daemon(test_concurrency=args.test_concurrency)

    async def serve() -> None:
        try:
            if args.socket:
                await _serve_socket(daemon, args.socket)
            else:
                await _serve_stdio(daemon)
        finally:
            await daemon.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
