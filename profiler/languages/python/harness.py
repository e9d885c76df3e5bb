"""The Python harness: runs ``py_runner.py`` in a sandboxed interpreter per test run or process.

The candidate module is written as ``<module>.py`` (tests import it by that name) into a fresh
work dir together with a copy of the runner; nothing of the user's tree is visible. The
interpreter is exec'd directly (never a pyenv shim: +200 ms per start) with ``-I``.
"""

from __future__ import annotations

import asyncio
import json
import platform
import random
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from perforch_core.errors import HarnessError
from perforch_core.models import (
    Footprint,
    InstructionCounts,
    Language,
    Metric,
    ProcessMemory,
    TestFailure,
    TestOutcome,
)

from ...harness import contract, python_exe
from ...harness import process_memory as pm
from ...harness.base import ProcessResult, pairs_within_budget
from ...harness.generated import GeneratedInputs
from ...protocol import (
    CompareParams,
    HotspotsParams,
    HotspotsResult,
    Program,
    RunTestsParams,
    TestInputs,
    TestInputsParams,
)
from ...sandbox import Limits, RunResult, run_sandboxed, sandbox_mode, workdir
from ...session import fresh_dir, run_in
from ...toolchains import launcher

RUNNER = "py_runner.py"
SAMPLING = "py_measuring.py"  # what the runner shares with pytest_bench, shipped beside it
INPUTS = "py_inputs.py"  # what it shares with pytest_inputs: reading the tests' arguments
WORKLOAD_RUNNER = "py_workload.py"  # generated inputs: probing a generator, differential tests
COUNT_DIR = "/perforch"  # the work dir inside the sandbox for instruction counts
PAIRS = 6  # A/B pairs per process: the interval is over processes (six of them, apart)

_METHODS = {
    Metric.EXEC_TIME: "the process's CPU time (every thread's) per test-suite call, wall time "
    f"beside it; baseline and candidate interleaved in one Python process, batches ≥ 2 ms, "
    f"{PAIRS} pairs per process",
    Metric.CPU_UTILIZATION: "the process's CPU time / wall time per batch; baseline and "
    "candidate interleaved in one process",
    Metric.MAX_MEMORY: "tracemalloc peak above the starting level during one test-suite call; "
    "interleaved in one process; process-level peak RSS and VmData+VmStk above an empty harness "
    "reported beside it",
    Metric.AVG_MEMORY: "mean tracemalloc level sampled every 1 ms over ≥ 50 ms of test-suite "
    "calls; interleaved in one process",
}


def _interpreter(program: Program) -> str:
    return python_exe.resolve(program.interpreter)


class PythonHarness(GeneratedInputs):
    language = Language.PYTHON
    # Interpreted calls cost more than the clock: K doubles until a batch costs ≥ 2 ms.
    constants = contract.Constants(target_batch_ns=2_000_000, max_k=1 << 20)

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits(address_space_mb=4096)
        self._runner_source = resources.files(__package__).joinpath(RUNNER).read_text()
        self._sampling_source = resources.files(__package__).joinpath(SAMPLING).read_text()
        self._inputs_source = resources.files(__package__).joinpath(INPUTS).read_text()
        self._workload_source = resources.files(__package__).joinpath(WORKLOAD_RUNNER).read_text()
        self._usable: set[str] = set()

    async def _probe(self, exe: str) -> None:
        """Check once per interpreter that it starts in the sandbox, so that a broken set-up
        is reported as the harness's failure, never as the candidate's."""
        if exe in self._usable:
            return
        with workdir("perforch-probe-") as wd:
            run = await run_sandboxed(
                [exe, "-I", "-c", "pass"],
                cwd=wd,
                limits=Limits(wall_s=30, cpu_s=30),
                ro_binds=python_exe.binds(exe),
            )
        if run.returncode != 0:
            detail = run.crashed_reason or run.stderr_tail.strip() or f"exit {run.returncode}"
            raise HarnessError(
                f"the Python interpreter {exe} does not start in the sandbox: {detail}"
            )
        self._usable.add(exe)

    def method(self, metric: Metric) -> str:
        return _METHODS[metric]

    async def _run(
        self,
        program: Program,
        sources: list[str],
        request: dict[str, Any],
        wall_s: float,
        prefix: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        address_space_mb: int | None = None,
        deterministic: bool = False,
    ) -> tuple[dict[str, Any] | None, RunResult]:
        """Run the runner on ``sources`` (``prefix``: a launcher or valgrind in front of it).
        ``deterministic``: the same work-dir path inside every time and ``PYTHONHASHSEED=0``
        honoured (``-I`` would ignore it), so instruction counts repeat exactly."""
        fixed_dir = deterministic and sandbox_mode() == "bwrap"  # unsandboxed: no fixed path
        async with fresh_dir("perforch-py-") as wd:
            (wd / RUNNER).write_text(self._runner_source)
            (wd / SAMPLING).write_text(self._sampling_source)
            (wd / INPUTS).write_text(self._inputs_source)
            paths = []
            for i, src in enumerate(sources):
                name = (
                    program.module
                    if i == 0 and len(sources) == 1
                    else f"{program.module}_{'AB'[i]}"
                )
                path = wd / f"{name}.py"
                path.write_text(src)
                paths.append(f"{COUNT_DIR}/{path.name}" if fixed_dir else str(path))
            req = {
                **request,
                "module": program.module,
                "entry_point": program.entry_point,
                "tests": {"kind": program.tests.kind, "source": program.tests.source},
                "workload": program.workload.model_dump(mode="json") if program.workload else None,
                "paths": paths,
                "constants": self.constants.as_request(),
            }
            (wd / "request.json").write_text(json.dumps(req))
            limits = Limits(
                wall_s=wall_s,
                # Measuring: no CPU-time limit (the process clock keeps its nanoseconds).
                cpu_s=None if request.get("mode") == "compare" else max(1, int(wall_s) + 1),
                address_space_mb=address_space_mb or self.limits.address_space_mb,
                file_size_mb=self.limits.file_size_mb,
            )
            return await self._execute(
                program,
                wd,
                RUNNER,
                limits,
                prefix=prefix,
                flags=("-s",) if deterministic else ("-I",),
                env=env,
                mount_at=COUNT_DIR if fixed_dir else None,
            )

    async def _execute(
        self,
        program: Program,
        wd: Path,
        script: str,
        limits: Limits,
        *,
        prefix: Sequence[str] = (),
        flags: Sequence[str] = ("-I",),
        env: Mapping[str, str] | None = None,
        mount_at: str | None = None,
    ) -> tuple[dict[str, Any] | None, RunResult]:
        """Run ``script request.json result.json`` in ``wd`` with the program's interpreter,
        sandboxed; the result file's JSON (None when it wrote none) and the run."""
        exe = _interpreter(program)
        await self._probe(exe)
        run = await run_in(
            wd,
            [*prefix, exe, *flags, script, "request.json", "result.json"],
            limits=limits,
            env=env,
            ro_binds=python_exe.binds(exe) + pm.launcher_binds(prefix),
            mount_at=mount_at,
        )
        result_file = wd / "result.json"
        data = json.loads(result_file.read_text()) if result_file.exists() else None
        return data, run

    async def _run_workload_runner(
        self, program: Program, files: dict[str, str], request: dict[str, Any], wall_s: float
    ) -> tuple[dict[str, Any] | None, RunResult]:
        """``py_workload.py`` on ``files`` (name → source) in a fresh sandboxed work dir."""
        with workdir("perforch-py-workload-") as wd:
            (wd / WORKLOAD_RUNNER).write_text(self._workload_source)
            for name, text in files.items():
                (wd / name).write_text(text)
            (wd / "request.json").write_text(json.dumps(request))
            limits = Limits(
                wall_s=wall_s,
                cpu_s=None,  # it times calls (probe, scale): the process clock keeps its ns
                address_space_mb=self.limits.address_space_mb,
                file_size_mb=self.limits.file_size_mb,
            )
            return await self._execute(program, wd, WORKLOAD_RUNNER, limits)

    async def hotspots(self, params: HotspotsParams) -> HotspotsResult:
        """The function's lines by their share of its time on the workload (``hotspots``)."""
        data, run = await self._run(
            params.program, [params.source], {"mode": "hotspots"}, params.timeout_s
        )
        if data is None or "harness_error" in data:
            detail = (data or {}).get("harness_error") or run.crashed_reason or "no result"
            return HotspotsResult(ok=False, error=str(detail)[:600])
        return HotspotsResult(ok=True, lines=data["lines"])

    async def test_inputs(self, params: TestInputsParams) -> TestInputs:
        """The arguments the tests call the function with (``inputs``), read from the tests
        themselves: the program's generated workload, if any, is left out."""
        program = params.program.model_copy(update={"workload": None})
        data, run = await self._run(program, [params.source], {"mode": "inputs"}, params.timeout_s)
        if data is None or "harness_error" in data:
            detail = (data or {}).get("harness_error") or run.crashed_reason or "no result"
            return TestInputs(ok=False, error=str(detail)[:600])
        return TestInputs(
            ok=True,
            inputs=tuple(data["inputs"]),
            calls=int(data["calls"]),
            unreadable=int(data["unreadable"]),
        )

    async def run_tests(self, params: RunTestsParams) -> TestOutcome:
        data, run = await self._run(
            params.program, [params.source], {"mode": "test"}, params.timeout_s
        )
        if data is None or "harness_error" in (data or {}):
            reason = run.crashed_reason or (
                f"exited with code {run.returncode} before reporting"
                if data is None
                else f"harness error: {data['harness_error']}"
            )
            return TestOutcome(
                passed=False,
                error=f"the candidate {reason}",
                timed_out=run.timed_out,
                stdout_tail=run.stdout_tail[-2000:],
                stderr_tail=run.stderr_tail[-2000:],
                duration_s=run.wall_s,
            )
        return TestOutcome(
            passed=bool(data["passed"]),
            total=int(data["total"]),
            failures=tuple(TestFailure(**f) for f in data["failures"]),
            error=data.get("error"),
            stdout_tail=run.stdout_tail[-2000:],
            stderr_tail=run.stderr_tail[-2000:],
            duration_s=float(data.get("duration_s", run.wall_s)),
        )

    def pairs_after(self, first: ProcessResult) -> int | None:
        return pairs_within_budget(first, PAIRS, self.constants.target_batch_ns)

    def mirrors(self, params: CompareParams) -> bool:
        return True  # both modules in one interpreter

    async def compare_once(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessResult:
        data, run = await self._run(
            params.program,
            [baseline, candidate],
            {
                "mode": "compare",
                "metric": params.metric.value,
                "pairs": params.pairs or PAIRS,
                "seed": seed,
            },
            params.timeout_s,
        )
        if data is None or "harness_error" in data:
            detail = run.crashed_reason or (data or {}).get("harness_error") or run.stderr_tail
            raise HarnessError(f"measurement process failed: {detail}")
        return ProcessResult.of(data)

    async def footprints(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessMemory:
        """Baseline, candidate and the empty harness (same imports, no tests) each in a fresh
        interpreter under the memory launcher, in an order drawn from ``seed``."""
        launch = str(await asyncio.to_thread(launcher))
        order = [0, 1, pm.EMPTY]
        random.Random(seed).shuffle(order)
        found: dict[int, Footprint] = {}
        for side in order:
            data, run = await self._run(
                params.program,
                [baseline, candidate],
                {"mode": "hold", "side": side},
                params.timeout_s,
                prefix=[launch],
            )
            fp = pm.footprint(run.stderr_tail)
            if data is None or "harness_error" in data or fp is None:
                detail = run.crashed_reason or (data or {}).get("harness_error") or run.stderr_tail
                raise HarnessError(f"memory measurement process failed: {detail}")
            found[side] = fp
        return ProcessMemory(baseline=found[0], candidate=found[1], empty=found[pm.EMPTY])

    async def instructions(
        self, params: CompareParams, baseline: str, candidate: str
    ) -> InstructionCounts:
        """Instructions per test-suite run under valgrind (hash seed fixed, ASLR off): (count of
        N runs − count of the empty harness) / N."""
        counts: dict[int, int] = {}
        for side in (0, 1, pm.EMPTY):
            data, run = await self._run(
                params.program,
                [baseline, candidate],
                {"mode": "count", "side": side, "n": pm.COUNT_RUNS},
                max(params.timeout_s, 300),
                prefix=["setarch", platform.machine(), "-R", *pm.valgrind_argv()],
                address_space_mb=pm.VALGRIND_ADDRESS_SPACE_MB,
                deterministic=True,
            )
            count = pm.instructions(run.stderr_tail)
            if data is None or "harness_error" in data or count is None:
                detail = run.crashed_reason or (data or {}).get("harness_error") or run.stderr_tail
                raise HarnessError(f"valgrind failed: {detail[-500:]}")
            counts[side] = count
        return InstructionCounts(
            baseline=(counts[0] - counts[pm.EMPTY]) // pm.COUNT_RUNS,
            candidate=(counts[1] - counts[pm.EMPTY]) // pm.COUNT_RUNS,
        )
