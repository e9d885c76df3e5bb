"""The per-language harness interface and the language-independent comparison driver.

A harness knows how to build and run one language's candidates; the driver here turns its
single-process A/B results into a verdict by the plan of ``profiler.stats``: 6 fresh processes,
then 6 more while the decision is inconclusive, each look's interval at the level the plan
spends on it; each process's result streamed as it arrives.

Harnesses that run both sides in one process (``mirrors``) give the even-numbered processes
the two programs the other way round — the candidate as the driver's first side, in the first
place of the measuring program — and the result is turned back. A driver, a build or a JIT can
favour one side of the pair for reasons that have nothing to do with the code (on HumanEval/12
in C++, two copies of the same code read 2-4 % apart, one way for minutes, then the other, with
the lean following the side, not where the code sat); mirrored processes make such a lean
alternate in sign, so that it cancels in the estimate and widens the interval, instead of
reading as an effect every process agrees on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from perforch_core.errors import HarnessError
from perforch_core.models import (
    InstructionCounts,
    Interval,
    Measurement,
    Metric,
    ProcessMemory,
    TestOutcome,
    Verdict,
)

from .. import stages, stats
from ..protocol import CompareParams, MeasureParams, Program, RunTestsParams
from ..session import fresh_processes


@dataclass(frozen=True)
class ProcessResult:
    """One fresh process running baseline (A) and candidate (B) interleaved."""

    ratio: float  # A / B for the metric, median over the pairs
    baseline: float  # per-call value of A (median over pairs)
    candidate: float
    unit: str
    batch_calls: int
    memory: ProcessMemory | None = None  # process-level footprints, when measured
    wall_baseline: float = 0.0  # wall time per call (time metrics), beside the CPU time
    wall_candidate: float = 0.0
    first: tuple[float, float] | None = None  # CPU time of each side's first call
    second: tuple[float, float] | None = None  # … and of its second

    def mirrored(self) -> ProcessResult:
        """This result with its sides exchanged: for a process that measured the two programs
        the other way round (the candidate as its first side)."""

        def swap(pair: tuple[float, float] | None) -> tuple[float, float] | None:
            return None if pair is None else (pair[1], pair[0])

        m = self.memory
        return dataclasses.replace(
            self,
            ratio=1.0 / self.ratio if self.ratio > 0 else self.ratio,
            baseline=self.candidate,
            candidate=self.baseline,
            memory=None
            if m is None
            else ProcessMemory(baseline=m.candidate, candidate=m.baseline, empty=m.empty),
            wall_baseline=self.wall_candidate,
            wall_candidate=self.wall_baseline,
            first=swap(self.first),
            second=swap(self.second),
        )

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ProcessResult:
        """From an in-process driver's result (py_runner.py, pytest_bench.py,
        PerforchJUnitBench): the contract's fields, by name."""

        def pair(key: str) -> tuple[float, float] | None:
            value = data.get(key)
            return (float(value[0]), float(value[1])) if value else None

        return cls(
            ratio=float(data["ratio"]),
            baseline=float(data["baseline"]),
            candidate=float(data["candidate"]),
            unit=str(data["unit"]),
            batch_calls=int(data["k"]),
            wall_baseline=float(data.get("wall_baseline", 0.0)),
            wall_candidate=float(data.get("wall_candidate", 0.0)),
            first=pair("first"),
            second=pair("second"),
        )


# Per-call times below this are not the function: the optimizer folded the tests away.
MIN_MEASURABLE_NS = 50.0


OnSample = Callable[[int, ProcessResult], Awaitable[None]]

MIN_PAIRS = 3  # a process's ratio is the median of its pairs: at least three of them
# Idle time between a comparison's processes. The machine's state (what the other tenants of
# the host do) changes the ratio of dissimilar workloads in modes lasting ~0.1-0.3 s; processes
# measured back to back share one, apart they sample the modes nearly independently, which the
# interval over processes assumes. It costs the comparison latency, not machine time.
PROCESS_GAP_S = 0.25
# When the last measuring process ended (monotonic clock): every process, a comparison's first
# included, starts at least PROCESS_GAP_S after it. Idle time before a process changes what it
# measures (a two-thread workload read 3 % slower after a pause than right after another
# process): all of them get the same.
_last_process_end = 0.0


async def _pause_before_process() -> None:
    wait = _last_process_end + PROCESS_GAP_S - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


def _process_ended() -> None:
    global _last_process_end
    _last_process_end = time.monotonic()


def pairs_within_budget(first: ProcessResult, default_pairs: int, target_batch_ns: float) -> int:
    """The pairs for a comparison's later processes, from its first: as many as cost what
    ``default_pairs`` cost with batches at most twice their target (where doubling k leaves
    them), at least ``MIN_PAIRS``. A test suite that runs for milliseconds makes every batch
    longer than that (k = 1); its processes then run fewer pairs instead of costing
    proportionally more. The interval stays valid: it is over processes, each an unbiased
    median of its pairs, whatever their number."""
    if first.unit != "ns" or first.batch_calls < 1:
        return default_pairs
    pair_ns = first.batch_calls * (first.baseline + first.candidate)
    budget_ns = default_pairs * 2 * (2 * target_batch_ns)
    return max(MIN_PAIRS, min(default_pairs, int(budget_ns // max(pair_ns, 1.0))))


class Harness(Protocol):
    async def run_tests(self, params: RunTestsParams) -> TestOutcome: ...

    async def compare_once(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessResult: ...

    def method(self, metric: Metric) -> str: ...

    def pairs_after(self, first: ProcessResult) -> int | None:
        """The pairs for the later processes of a comparison (None: the default)."""
        ...

    def mirrors(self, params: CompareParams) -> bool:
        """Whether both sides share one process, so that even-numbered processes measure the
        two programs the other way round (see the module's docstring)."""
        ...


class FootprintHarness(Protocol):
    async def footprints(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessMemory: ...


class CountingHarness(Protocol):
    async def instructions(
        self, params: CompareParams, baseline: str, candidate: str
    ) -> InstructionCounts: ...


def plan(params: CompareParams) -> list[int]:
    """The looks (processes measured by each) within the request's bounds."""
    looks = [n for n in stats.LOOKS if params.min_processes <= n <= params.max_processes]
    return looks or [params.min_processes]


async def compare(harness: Harness, params: CompareParams, on_sample: OnSample) -> Verdict:
    async with fresh_processes():  # one sandbox for the comparison's processes
        return await _compare(harness, params, on_sample)


async def _compare(harness: Harness, params: CompareParams, on_sample: OnSample) -> Verdict:
    results: list[ProcessResult] = []
    targets = plan(params)
    level = stats.look_confidence(len(targets))
    for target in targets:
        while len(results) < target:
            seed = len(results) + 1
            await _pause_before_process()
            await stages.report(f"measuring {params.metric.value}: process {seed} (of {target})")
            try:
                result = await _compare_once(harness, params, seed)
            finally:
                _process_ended()
            results.append(result)
            if len(results) == 1 and params.pairs is None:
                params = params.model_copy(update={"pairs": harness.pairs_after(result)})
            await on_sample(len(results), result)
            if _folded(result):
                break  # more processes cannot make a folded workload measurable
        if _folded(results[-1]):
            break
        if (
            stats.decide([r.ratio for r in results], params.threshold_pct, level).decision
            != "inconclusive"
        ):
            break
    unit = results[0].unit
    before = [r.baseline for r in results]
    after = [r.candidate for r in results]
    note = ""
    decision = stats.decide([r.ratio for r in results], params.threshold_pct, level)
    if any(_folded(r) for r in results):
        note = (
            f"workload too small to measure: a test-suite run takes under {MIN_MEASURABLE_NS:g} ns,"
            " so the compiler has probably evaluated the tests at build time; give the tests "
            "inputs it cannot fold (read them from a variable) to measure the function"
        )
        decision = dataclasses.replace(decision, decision="inconclusive")
    memory = _median_memory(results)
    if memory is None and params.metric is Metric.MAX_MEMORY and hasattr(harness, "footprints"):
        await stages.report("measuring process-level memory")
        memory = await cast(FootprintHarness, harness).footprints(
            params, params.baseline, params.candidate, len(results) + 1
        )
    instructions = None
    if params.instructions:
        if not hasattr(harness, "instructions"):
            raise HarnessError(
                f"instruction counts are not available for {params.program.language.value}"
            )
        await stages.report("counting instructions (valgrind)")
        instructions = await cast(CountingHarness, harness).instructions(
            params, params.baseline, params.candidate
        )
    return Verdict(
        metric=params.metric,
        decision=decision.decision,
        improvement_pct=decision.improvement_pct,
        interval_pct=Interval(low=decision.low_pct, high=decision.high_pct),
        threshold_pct=params.threshold_pct,
        before=Measurement(
            metric=params.metric, unit=unit, values=tuple(before), summary=statistics.median(before)
        ),
        after=Measurement(
            metric=params.metric, unit=unit, values=tuple(after), summary=statistics.median(after)
        ),
        processes=len(results),
        method=harness.method(params.metric),
        workload=workload_of(params.program),
        note=note,
        process_memory=memory,
        instructions=instructions,
        wall_before_ns=_median_wall([r.wall_baseline for r in results]),
        wall_after_ns=_median_wall([r.wall_candidate for r in results]),
        repeat_speedup=repeat_speedup(results),
        process_ratios=tuple(r.ratio for r in results),
    )


def workload_of(program: Program) -> str:
    """What a comparison of ``program`` runs as its workload, in the user's words."""
    w, spec = program.workload, program.tests.project
    if w is not None:
        return (
            f"generated inputs, generate_input(size={w.size}) × {len(w.seeds)} seeds ({w.origin})"
        )
    if spec is not None and spec.benchmarks:
        return "your benchmarks: " + ", ".join(b.id for b in spec.benchmarks)
    if spec is not None:
        return f"the project's {len(spec.tests)} tests that judge the function"
    return f"the tests ({program.tests.origin})"


def repeat_speedup(results: list[ProcessResult]) -> float | None:
    """How many times cheaper the candidate's second run of the tests was than its first,
    relative to the baseline's (the median over processes): a candidate that keeps results
    between calls shows a large value. None where the driver does not time single runs."""
    drops = sorted(
        (r.first[1] / r.second[1]) / (r.first[0] / r.second[0])
        for r in results
        if r.first is not None and r.second is not None and min(*r.first, *r.second) > 0
    )
    return drops[len(drops) // 2] if len(drops) >= 2 else None


async def _compare_once(harness: Harness, params: CompareParams, seed: int) -> ProcessResult:
    """One process; processes are numbered from 1 and the plan's looks are even, so half are
    mirrored at every look."""
    if seed % 2 == 0 and params.mirror and harness.mirrors(params):
        result = await harness.compare_once(params, params.candidate, params.baseline, seed)
        return result.mirrored()
    return await harness.compare_once(params, params.baseline, params.candidate, seed)


def _median_wall(values: list[float]) -> float | None:
    measured = [v for v in values if v > 0]
    return statistics.median(measured) if measured else None


def _folded(result: ProcessResult) -> bool:
    return result.unit == "ns" and max(result.baseline, result.candidate) < MIN_MEASURABLE_NS


def _median_memory(results: list[ProcessResult]) -> ProcessMemory | None:
    """The footprints of the process whose ratio is the median one."""
    with_memory = sorted((r for r in results if r.memory is not None), key=lambda r: r.ratio)
    return with_memory[len(with_memory) // 2].memory if with_memory else None


async def measure(harness: Harness, params: MeasureParams, on_sample: OnSample) -> Measurement:
    """Absolute values of one program: the program compared with itself (an A/A run)."""
    cp = CompareParams(
        program=params.program,
        baseline=params.source,
        candidate=params.source,
        metric=params.metric,
        min_processes=params.processes,
        max_processes=params.processes,
        timeout_s=params.timeout_s,
    )
    values: list[float] = []
    unit = ""
    async with fresh_processes():
        for i in range(params.processes):
            r = await harness.compare_once(cp, params.source, params.source, i + 1)
            values.extend([r.baseline, r.candidate])
            unit = r.unit
            await on_sample(i + 1, r)
    return Measurement(
        metric=params.metric, unit=unit, values=tuple(values), summary=statistics.median(values)
    )
