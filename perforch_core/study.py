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

from . import benchmarks, describe
from .errors import LLMError, LLMReplyError, ProfilerError
from .llm import parsing, prompts
from .models import Category, Metric, Stage, Task
from .ports import ChatMessage, LLMPort, MemoryPort, Observation, ProfilerPort
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
        threshold_pct: float = 5.0,
    ) -> None:
        self.llm = llm
        self.profiler = profiler
        self.memory = memory
        self.tagger = tagger or Tagger()
        self.threshold_pct = threshold_pct
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
        started = time.monotonic()
        task = benchmarks.task(unit.record, buggy=unit.stage is Stage.FIX)
        self._categories[task.id] = await self.categories(task)
        try:
            if unit.stage is Stage.GENERATE:
                result = await self._generate(unit, task)
            elif unit.stage is Stage.FIX:
                result = await self._fix(unit, task)
            else:
                result = await self._refine(unit, task)
        except LLMReplyError as exc:  # the model's fault: a failed attempt
            result = UnitResult(unit, False, str(exc))
        except (LLMError, ProfilerError) as exc:  # ours or the server's: not an observation
            result = UnitResult(unit, None, f"not measured: {exc}")
        return UnitResult(
            unit=result.unit,
            success=result.success,
            detail=result.detail,
            improvement_pct=result.improvement_pct,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            seconds=time.monotonic() - started,
        )

    async def _ask(
        self, unit: Unit, task: Task, messages: Sequence[ChatMessage]
    ) -> tuple[str, int, int]:
        reply = await self.llm.complete(unit.model, messages)
        code = parsing.extract_function(reply.text, task, unit.model)
        return code, reply.prompt_tokens, reply.completion_tokens

    async def _generate(self, unit: Unit, task: Task) -> UnitResult:
        """From the prompt and its example tests (the paper's generation study)."""
        # The paper's setting: the prompt and its *example* tests; the full tests judge.
        blank = task.model_copy(update={"current_code": None, "examples": unit.record.example_test})
        code, p, c = await self._ask(unit, blank, prompts.generate(blank))
        outcome = await self.profiler.run_tests(task, code)
        return UnitResult(unit, outcome.passed, outcome.summary(), None, p, c)

    async def _fix(self, unit: Unit, task: Task) -> UnitResult:
        """The buggy solution, with what its tests say, to a passing one."""
        buggy = task.current_code or ""
        before = await self.profiler.run_tests(task, buggy)
        if before.passed:
            return UnitResult(unit, None, "the buggy solution passes its tests: not usable")
        code, p, c = await self._ask(unit, task, prompts.fix(task, buggy, before.failure_report()))
        outcome = await self.profiler.run_tests(task, code)
        return UnitResult(unit, outcome.passed, outcome.summary(), None, p, c)

    async def _refine(self, unit: Unit, task: Task) -> UnitResult:
        """The canonical solution to a significantly better one for the metric (by the
        profiler's rule), still passing its tests."""
        assert unit.metric is not None
        canonical = task.current_code or ""
        report = await self._baseline_report(task, canonical, unit.metric)
        code, p, c = await self._ask(
            unit, task, prompts.refine(task, canonical, unit.metric, report)
        )
        if code.strip() == canonical.strip():
            return UnitResult(unit, False, "returned the code unchanged", None, p, c)
        outcome = await self.profiler.run_tests(task, code)
        if not outcome.passed:
            return UnitResult(unit, False, f"tests: {outcome.summary()}", None, p, c)
        verdict = await self.profiler.compare(
            task, canonical, code, unit.metric, self.threshold_pct
        )
        return UnitResult(
            unit,
            verdict.improved,
            f"{verdict.decision}: {verdict.improvement_pct:+.1f} %",
            verdict.improvement_pct if verdict.improved else None,
            p,
            c,
        )

    async def _baseline_report(self, task: Task, code: str, metric: Metric) -> str:
        key = (task.id, metric)
        if key not in self._baselines:
            try:
                base = await self.profiler.measure(task, code, metric)
                self._baselines[key] = describe.measurement(metric, base.summary, base.unit)
            except ProfilerError as exc:
                self._baselines[key] = f"not available ({exc})"
        return self._baselines[key]
