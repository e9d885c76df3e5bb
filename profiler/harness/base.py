"""The per-language harness interface and the language-independent comparison driver.

A harness knows how to build and run one language's candidates; the driver here turns its
single-process A/B results into a verdict: 3 fresh processes, growing to 5 and then 8 while the
decision is inconclusive (``profiler.stats``), each process's result streamed as it arrives.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from perforch_core.models import Interval, Language, Measurement, Metric, TestOutcome, Verdict

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


OnSample = Callable[[int, ProcessResult], Awaitable[None]]


class Harness(Protocol):
    language: Language

    async def run_tests(self, params: RunTestsParams) -> TestOutcome: ...

    async def compare_once(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessResult: ...

    def method(self, metric: Metric) -> str: ...


UNITS = {"ns": "ns", "ratio": "", "B": "B"}
GROWTH = (3, 5, 8)


async def compare(harness: Harness, params: CompareParams, on_sample: OnSample) -> Verdict:
    results: list[ProcessResult] = []
    targets = [n for n in GROWTH if params.min_processes <= n <= params.max_processes] or [
        params.min_processes
    ]
    decision = stats.decide([1.0], params.threshold_pct)
    for target in targets:
        while len(results) < target:
            seed = len(results) + 1
            await stages.report(f"measuring {params.metric.value}: process {seed} (of {target})")
            result = await harness.compare_once(params, params.baseline, params.candidate, seed)
            results.append(result)
            await on_sample(len(results), result)
        decision = stats.decide([r.ratio for r in results], params.threshold_pct)
        if decision.decision != "inconclusive":
            break
    unit = results[0].unit
    before = [r.baseline for r in results]
    after = [r.candidate for r in results]
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
    )


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
