"""The per-language harness interface and the language-independent comparison driver.

A harness knows how to build and run one language's candidates; the driver here turns its
single-process A/B results into a verdict: 3 fresh processes, growing to 5 and then 8 while the
decision is inconclusive (``profiler.stats``), each process's result streamed as it arrives.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

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
from ..protocol import CompareParams, MeasureParams, RunTestsParams


@dataclass(frozen=True)
class ProcessResult:
    """One fresh process running baseline (A) and candidate (B) interleaved."""

    ratio: float  # A / B for the metric, median over the pairs
    baseline: float  # per-call value of A (median over pairs)
    candidate: float
    unit: str
    batch_calls: int
    memory: ProcessMemory | None = None  # process-level footprints, when measured


# Per-call times below this are not the function: the optimizer folded the tests away.
MIN_MEASURABLE_NS = 50.0


OnSample = Callable[[int, ProcessResult], Awaitable[None]]


class Harness(Protocol):
    async def run_tests(self, params: RunTestsParams) -> TestOutcome: ...

    async def compare_once(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessResult: ...

    def method(self, metric: Metric) -> str: ...


class FootprintHarness(Protocol):
    async def footprints(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessMemory: ...


class CountingHarness(Protocol):
    async def instructions(
        self, params: CompareParams, baseline: str, candidate: str
    ) -> InstructionCounts: ...


GROWTH = (3, 5, 8)


async def compare(harness: Harness, params: CompareParams, on_sample: OnSample) -> Verdict:
    results: list[ProcessResult] = []
    targets = [n for n in GROWTH if params.min_processes <= n <= params.max_processes] or [
        params.min_processes
    ]
    for target in targets:
        while len(results) < target:
            seed = len(results) + 1
            await stages.report(f"measuring {params.metric.value}: process {seed} (of {target})")
            result = await harness.compare_once(params, params.baseline, params.candidate, seed)
            results.append(result)
            await on_sample(len(results), result)
            if _folded(result):
                break  # more processes cannot make a folded workload measurable
        if _folded(results[-1]):
            break
        if (
            stats.decide([r.ratio for r in results], params.threshold_pct).decision
            != "inconclusive"
        ):
            break
    unit = results[0].unit
    before = [r.baseline for r in results]
    after = [r.candidate for r in results]
    note = ""
    decision = stats.decide([r.ratio for r in results], params.threshold_pct)
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
        note=note,
        process_memory=memory,
        instructions=instructions,
    )


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
    for i in range(params.processes):
        r = await harness.compare_once(cp, params.source, params.source, i + 1)
        values.extend([r.baseline, r.candidate])
        unit = r.unit
        await on_sample(i + 1, r)
    return Measurement(
        metric=params.metric, unit=unit, values=tuple(values), summary=statistics.median(values)
    )
