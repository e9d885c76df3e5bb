"""Measuring a candidate on the user's project's own tests (the ``Harness`` of project tasks).

- pytest projects: baseline and candidate interleaved in one pytest process
  (``pytest_bench.py``), as the single-file Python harness does;
- compiled projects: the copy is built twice, baseline and candidate (kept for the whole
  comparison), and the selected tests run k times per process (``-test.count=k``, or a loop),
  k chosen so that one process spends ≥ 0.2 s of CPU on them. One sample is ``PAIRS`` pairs of
  fresh processes, baseline and candidate in random order, measured by the memory launcher:
  CPU time of every thread and child process (``wait4``), wall time, peak RSS, and for mean
  memory the private resident memory of the whole process tree sampled every 1 ms. The ratio
  of a sample is the median of its pairs' ratios. Process start-up (and for memory the runtime
  and test framework) is inside both sides, so a gain reads smaller than it is, never larger.
  A runner measures in processes the metrics it cannot measure in one (``Runner.in_process``):
  JUnit projects' mean memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perforch_core.errors import HarnessError
from perforch_core.models import Metric, ProjectSpec, TestInputs, TestOutcome

from .. import stages
from ..harness import process_memory as pm
from ..harness.base import ProcessResult
from ..harness.compiled import CompiledHarness
from ..protocol import (
    CompareParams,
    DifferentialParams,
    DifferentialResult,
    ProbeResult,
    ProbeWorkloadParams,
    Program,
    RunTestsParams,
    ScalingParams,
    ScalingResult,
)
from ..sandbox import NOBODY, Limits, workdir
from ..toolchains import launcher
from . import _runners, lock, run_tests, runner, test_inputs
from .base import TIMED_OUTPUT, Prepared, Step, copy_project, project_cache, step

PAIRS = 5
TARGET_CPU_S = 0.2
MAX_REPEATS = 100_000
MAX_BUILT = 4  # built copies kept for measuring


@dataclass
class _Side:
    wd: Path
    prepared: Prepared


@dataclass
class _Pair:
    key: str
    cache: Path
    sides: tuple[_Side, _Side]
    k: int


class ProjectHarness:
    """Runs and measures project tasks for the daemon (one per daemon, any language)."""

    def pairs_after(self, first: ProcessResult) -> int | None:
        """A sample's processes are already sized to ``TARGET_CPU_S``: the default holds (a
        generated workload's measuring program says its own)."""
        return self._measured_by.pairs_after(first) if self._measured_by else None

    def mirrors(self, params: CompareParams) -> bool:
        """pytest and JUnit run both sides in one process, as does a generated workload's
        measuring program; the other kinds run each build in its own processes, in shuffled
        order, where there is nothing to mirror."""
        measuring = self._measuring_program(params)
        if measuring is not None:
            return measuring.mirrors(params)
        spec = params.program.tests.project
        return spec is not None and params.metric in runner(spec).in_process

    def __init__(self) -> None:
        self._pair: _Pair | None = None
        self._note = ""  # what the last comparison's workload leaves out (Prepared.note)
        # Built copies by (project, source), newest last: the baseline measured alone before
        # refinement and then against each candidate is built once.
        self._built: dict[str, _Side] = {}
        # The measuring program of the last comparison on a generated workload, if it was one.
        self._measured_by: CompiledHarness | None = None

    async def aclose(self) -> None:
        for found in _runners().values():
            if isinstance(found.generated_inputs, CompiledHarness):
                await found.generated_inputs.aclose()
        for side in self._built.values():
            shutil.rmtree(side.wd, ignore_errors=True)
        self._built.clear()
        self._pair = None

    async def run_tests(self, params: RunTestsParams) -> TestOutcome:
        return await run_tests(params)

    async def test_inputs(self, params: RunTestsParams) -> TestInputs:
        return await test_inputs(params)

    # -- generated inputs (the runner's, where its language has them) ---------------------
    def _inputs(self, program: Program) -> Any:
        spec = program.tests.project
        if spec is None:
            raise HarnessError("project tests without a project")
        inputs = runner(spec).generated_inputs
        if inputs is None:
            raise HarnessError(f"generated workloads are not supported in {spec.kind} projects yet")
        return inputs

    async def probe_workload(self, params: ProbeWorkloadParams) -> ProbeResult:
        result: ProbeResult = await self._inputs(params.program).probe_workload(params)
        return result

    async def differential(self, params: DifferentialParams) -> DifferentialResult:
        result: DifferentialResult = await self._inputs(params.program).differential(params)
        return result

    async def scaling(self, params: ScalingParams) -> ScalingResult:
        result: ScalingResult = await self._inputs(params.program).scaling(params)
        return result

    def _measuring_program(self, params: CompareParams) -> CompiledHarness | None:
        """Where a generated workload is measured by a measuring program built in the project
        (Go modules), that program's harness; None where the runner measures it itself."""
        spec = params.program.tests.project
        if params.program.workload is None or spec is None:
            return None
        inputs = runner(spec).generated_inputs
        return inputs if isinstance(inputs, CompiledHarness) else None

    def method(self, metric: Metric) -> str:
        if self._measured_by is not None:
            return self._measured_by.method(metric)
        if metric is Metric.AVG_MEMORY:
            return (
                "avg_memory: pytest projects: mean tracemalloc level sampled every 1 ms while "
                "each selected test repeats for ≥ 50 ms, baseline and candidate interleaved in "
                "one process, 20 pairs; Go, Rust, C++ and JUnit projects: mean private resident "
                "memory (RssAnon) of the whole test process tree sampled every 1 ms, both builds "
                f"in alternating fresh processes, {PAIRS} pairs per sample (the runtime and the "
                "test framework are in both sides: a gain reads smaller, never larger)"
            )
        what = {
            Metric.EXEC_TIME: "CPU time of every thread (Go, Rust, C++: and of every child "
            "process), wall time beside it",
            Metric.CPU_UTILIZATION: "CPU time ÷ wall time",
            Metric.MAX_MEMORY: "peak resident memory",
        }[metric]
        return (
            f"{metric.value}: {what} of the project's own tests that exercise the function; "
            "pytest and JUnit projects: baseline and candidate interleaved in one process "
            "(a class loader per side in the JVM), 20 pairs; Go, Rust, C++ projects: both "
            "builds in alternating fresh processes running the tests k times "
            f"(≥ {TARGET_CPU_S:g} s of CPU), {PAIRS} pairs per sample"
        ) + (f"; {self._note}" if self._note else "")

    async def compare_once(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessResult:
        spec = params.program.tests.project
        if spec is None:
            raise HarnessError("project tests without a project")
        self._measured_by = self._measuring_program(params)
        if self._measured_by is not None:
            return await self._measured_by.compare_once(params, baseline, candidate, seed)
        run_params = RunTestsParams(program=params.program, source=baseline, timeout_s=120)
        found = runner(spec)
        self._note = ""
        if params.metric in found.in_process:
            cache = project_cache(spec)
            with workdir("perforch-project-") as wd:
                await stages.report("copying the project")
                await asyncio.to_thread(copy_project, spec, wd / "src", baseline)
                async with lock(cache):
                    return await found.compare_once(spec, wd, cache, params, candidate, seed)
        pair = await self._prepare(spec, run_params, baseline, candidate)
        self._note = pair.sides[0].prepared.note
        rng = random.Random(seed)
        ratios: list[float] = []
        values: list[tuple[float, float]] = []
        for i in range(params.pairs or PAIRS):
            await stages.report(f"measuring: pair {i + 1} of the sample")
            order = [0, 1]
            rng.shuffle(order)
            got: dict[int, float] = {}
            for side in order:
                got[side] = await self._value(pair, side, params.metric, params.timeout_s)
            values.append((got[0], got[1]))
            ratios.append(got[0] / got[1] if got[1] > 0 else 1.0)
        unit = {
            Metric.EXEC_TIME: "ns",
            Metric.CPU_UTILIZATION: "ratio",
            Metric.MAX_MEMORY: "B",
            Metric.AVG_MEMORY: "B",
        }
        return ProcessResult(
            ratio=statistics.median(ratios),
            baseline=statistics.median(a for a, _ in values),
            candidate=statistics.median(b for _, b in values),
            unit=unit[params.metric],
            batch_calls=pair.k,
        )

    async def _prepare(
        self, spec: ProjectSpec, params: RunTestsParams, baseline: str, candidate: str
    ) -> _Pair:
        key = hashlib.sha256(f"{spec.root}\0{baseline}\0{candidate}".encode()).hexdigest()
        if self._pair is not None and self._pair.key == key:
            return self._pair
        cache = project_cache(spec)
        sides = [
            await self._side(spec, params, cache, baseline, "baseline"),
            await self._side(spec, params, cache, candidate, "candidate"),
        ]
        pair = _Pair(key, cache, (sides[0], sides[1]), 1)
        cpu = await self._run(pair, 0, 1, 120.0)
        pair.k = max(1, min(MAX_REPEATS, int(TARGET_CPU_S / max(cpu["cpu_us"] / 1e6, 1e-4))))
        self._pair = pair
        return pair

    async def _side(
        self, spec: ProjectSpec, params: RunTestsParams, cache: Path, source: str, label: str
    ) -> _Side:
        """The project built with ``source`` as the function's file (once per source)."""
        key = hashlib.sha256(f"{spec.root}\0{source}".encode()).hexdigest()
        if key in self._built:
            self._built[key] = self._built.pop(key)  # recently used
            return self._built[key]
        wd = Path(tempfile.mkdtemp(prefix="perforch-measure-"))
        if os.geteuid() == 0:
            os.chown(wd, NOBODY, NOBODY)
        try:
            async with lock(cache):
                await stages.report(f"building the {label} for measuring")
                await asyncio.to_thread(copy_project, spec, wd / "src", source)
                prepared = await runner(spec).prepare(spec, wd, cache, params)
        except BaseException:
            shutil.rmtree(wd, ignore_errors=True)
            raise
        if isinstance(prepared, TestOutcome):
            shutil.rmtree(wd, ignore_errors=True)
            raise HarnessError(f"the {label} did not build for measuring: {prepared.error}")
        self._built[key] = _Side(wd, prepared)
        while len(self._built) > MAX_BUILT:  # the oldest first; the current pair is newest
            oldest = next(iter(self._built))
            shutil.rmtree(self._built.pop(oldest).wd, ignore_errors=True)
        return self._built[key]

    async def _self_timed(self, pair: _Pair, side: int, timeout_s: float) -> float:
        """One run of a benchmark harness that times its own iterations: what it states."""
        s = pair.sides[side]
        assert s.prepared.per_iteration_ns is not None
        run = await step(
            s.wd,
            pair.cache,
            Step(
                argv=list(s.prepared.timed_argv),
                cwd=s.prepared.cwd,
                env=s.prepared.env,
                ro_binds=s.prepared.ro_binds,
                limits=Limits(wall_s=timeout_s, cpu_s=int(timeout_s) * 2 + 1),
            ),
            timeout_s,
            measuring=True,
        )
        output = s.wd / TIMED_OUTPUT
        text = output.read_text(errors="replace") if output.exists() else ""
        ns = s.prepared.per_iteration_ns(text) if run.returncode == 0 else None
        if ns is None:
            detail = run.crashed_reason or (run.stderr_tail + run.stdout_tail)[-600:]
            which = ("baseline", "candidate")[side]
            raise HarnessError(f"the {which}'s benchmarks did not state their times: {detail}")
        return ns

    async def _run(
        self, pair: _Pair, side: int, k: int, timeout_s: float, tree: bool = False
    ) -> dict[str, float]:
        """One process of ``side`` running the tests ``k`` times under the launcher (``tree``:
        memory sampled over the whole process tree, which a shell loop or a test per process
        makes)."""
        s = pair.sides[side]
        launch = str(await asyncio.to_thread(launcher))
        run = await step(
            s.wd,
            pair.cache,
            Step(
                argv=[launch, *(["--tree"] if tree else []), *s.prepared.command(k)],
                cwd=s.prepared.cwd,
                env=s.prepared.env,
                ro_binds=[*s.prepared.ro_binds, str(Path(launch).parent)],
                limits=Limits(wall_s=timeout_s, cpu_s=int(timeout_s) * 2 + 1),
            ),
            timeout_s,
        )
        data = pm.tagged_json(run.stderr_tail, "PERFORCH_FOOTPRINT")
        if run.returncode != 0 or data is None:
            detail = run.crashed_reason or (run.stderr_tail + run.stdout_tail)[-600:]
            which = ("baseline", "candidate")[side]
            raise HarnessError(f"the {which}'s tests failed while measuring: {detail}")
        return {key: float(str(value)) for key, value in data.items()}

    async def _value(self, pair: _Pair, side: int, metric: Metric, timeout_s: float) -> float:
        prepared = pair.sides[side].prepared
        if metric is Metric.EXEC_TIME and prepared.timed_argv and prepared.per_iteration_ns:
            return await self._self_timed(pair, side, timeout_s)
        data = await self._run(pair, side, pair.k, timeout_s, metric is Metric.AVG_MEMORY)
        if metric is Metric.AVG_MEMORY:
            return data["mean_rss_anon_kb"] * 1024
        if metric is Metric.EXEC_TIME:
            return data["cpu_us"] * 1000 / pair.k  # ns per run of the selected tests
        if metric is Metric.CPU_UTILIZATION:
            return data["cpu_us"] / max(data["wall_us"], 1.0)
        return data["peak_rss_kb"] * 1024
