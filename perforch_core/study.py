"""The paper's three studies on a benchmark, for any pool of models: each model **generates**
each function from its prompt and example tests, **fixes** each buggy solution, and **refines**
each canonical solution for each metric. Every outcome becomes a Memory observation (source =
``study``), so a new model profiled this way enters the rankings.

A unit is (model, stage, language, metric, problem). Units already in Memory are skipped, so an
interrupted study resumes where it stopped; an infrastructure failure (model server down,
profiler error) is reported and not recorded, so it is retried next time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from . import benchmarks
from .errors import LLMError, ProfilerError
from .executor import Executor
from .models import Category, Metric, Stage, Task
from .policy import DEFAULT_POLICY
from .ports import LLMPort, MemoryPort, Observation, ProfilerPort
from .stages import baseline_report
from .tagging import Tagger

SOURCE = "study"
UnitKey = tuple[str, str, str, str, str]  # model, stage, language, metric or "", problem id


class StudyMemory(MemoryPort, Protocol):
    async def observed_keys(self, source: str) -> set[UnitKey]: ...

    async def cached_categories(
        self, problem_id: str, tagger: str
    ) -> tuple[Category, ...] | None: ...

    async def cache_categories(
        self, problem_id: str, tagger: str, categories: Sequence[Category]
    ) -> None: ...


@dataclass(frozen=True)
class Unit:
    model: str
    stage: Stage
    record: benchmarks.Record
    metric: Metric | None = None

    @property
    def key(self) -> UnitKey:
        metric = self.metric.value if self.metric else ""
        return (
            self.model,
            self.stage.value,
            self.record.language.value,
            metric,
            self.record.task_id,
        )


@dataclass(frozen=True)
class UnitResult:
    unit: Unit
    success: bool | None  # None: not measurable here (infrastructure, unusable problem)
    detail: str
    improvement_pct: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


def units(
    records: Iterable[benchmarks.Record],
    models: Sequence[str],
    stages: Sequence[Stage],
    metrics: Sequence[Metric],
) -> list[Unit]:
    """Every unit of a study, problem by problem (so partial runs cover whole problems)."""
    out: list[Unit] = []
    for record in records:
        for stage in stages:
            for metric in metrics if stage is Stage.REFINE else [None]:
                out.extend(Unit(m, stage, record, metric) for m in models)
    return out


class Study:
    def __init__(
        self,
        llm: LLMPort,
        profiler: ProfilerPort,
        memory: StudyMemory,
        tagger: Tagger | None = None,
        *,
        threshold_pct: float = DEFAULT_POLICY.threshold_pct,
    ) -> None:
        self.memory = memory
        self.tagger = tagger or Tagger()
        self.threshold_pct = threshold_pct
        # Units run through the executor's stages; the pool is each unit's one model.
        self.executor = Executor(llm, profiler, memory, (), tagger=self.tagger, source=SOURCE)
        self._baselines: dict[tuple[str, Metric], str] = {}
        self._categories: dict[str, tuple[Category, ...]] = {}

    async def pending(self, planned: Sequence[Unit]) -> list[Unit]:
        done = await self.memory.observed_keys(SOURCE)
        return [u for u in planned if u.key not in done]

    async def run(
        self,
        planned: Sequence[Unit],
        on_result: Callable[[UnitResult], Awaitable[None]] | None = None,
        concurrency: int = 1,
    ) -> list[UnitResult]:
        """Run the units not yet in Memory, at most ``concurrency`` at a time (the profiler
        serializes measurements itself; local models share the CPU, so 1 is right here)."""
        slots = asyncio.Semaphore(concurrency)
        results: list[UnitResult] = []

        async def one(unit: Unit) -> None:
            async with slots:
                result = await self.run_unit(unit)
            if result.success is not None:
                await self.memory.record([self._observation(result)])
            results.append(result)
            if on_result is not None:
                await on_result(result)

        await asyncio.gather(*(one(u) for u in await self.pending(planned)))
        return results

    async def categories(self, task: Task) -> tuple[Category, ...]:
        key = self.tagger.key
        cached = await self.memory.cached_categories(task.id, key)
        if cached is not None:
            return cached
        found = await self.tagger.tag(task)
        await self.memory.cache_categories(task.id, key, found)
        return found

    def _observation(self, result: UnitResult) -> Observation:
        u = result.unit
        return Observation(
            model=u.model,
            stage=u.stage,
            language=u.record.language,
            categories=self._categories.get(u.record.task_id, ()),
            metric=u.metric,
            problem_id=u.record.task_id,
            success=bool(result.success),
            improvement_pct=result.improvement_pct,
            source=SOURCE,
        )

    async def run_unit(self, unit: Unit) -> UnitResult:
        """One unit through the executor's single-stage attempt: the same prompts, tests and
        measurement as a job. A model's own failure (no code, failing tests, no gain) is an
        observation; the model server or the profiler failing is not."""
        started = time.monotonic()
        task = benchmarks.task(unit.record, buggy=unit.stage is Stage.FIX)
        self._categories[task.id] = await self.categories(task)
        task = task.model_copy(update={"categories": self._categories[task.id]})
        report = None
        if unit.stage is Stage.GENERATE:
            # The paper's setting: the prompt and its *example* tests; the full tests judge.
            task = task.model_copy(
                update={"current_code": None, "examples": unit.record.example_test}
            )
        elif unit.stage is Stage.REFINE:
            assert unit.metric is not None
            task = task.model_copy(update={"metric": unit.metric})
            report = await self._baseline_report(task)
        try:
            attempt = await self.executor.attempt(
                task, unit.stage, unit.model, threshold_pct=self.threshold_pct, report=report
            )
        except (LLMError, ProfilerError) as exc:  # ours or the server's: not an observation
            attempt, why = None, f"not measured: {exc}"
        else:
            why = "the buggy solution passes its tests: not usable"
        seconds = time.monotonic() - started
        if attempt is None:
            return UnitResult(unit, None, why, seconds=seconds)
        if attempt.outcome in ("llm_error", "measure_error"):
            return UnitResult(unit, None, f"not measured: {attempt.detail}", seconds=seconds)
        improved = attempt.outcome == "improved"
        return UnitResult(
            unit=unit,
            success=attempt.outcome in ("passed", "improved"),
            detail=attempt.detail,
            improvement_pct=attempt.verdict.improvement_pct
            if improved and attempt.verdict
            else None,
            prompt_tokens=attempt.prompt_tokens,
            completion_tokens=attempt.completion_tokens,
            seconds=seconds,
        )

    async def _baseline_report(self, task: Task) -> str:
        """The canonical solution's measurement, once per problem and metric."""
        key = (task.id, task.metric)
        if key not in self._baselines:
            self._baselines[key] = await baseline_report(
                self.executor.profiler, task, task.current_code or ""
            )
        return self._baselines[key]
