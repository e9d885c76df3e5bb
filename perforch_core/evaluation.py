"""Evaluation on a benchmark, for a pool of models: the paper's Table 8 (pass@1 of one model
alone, the same model in the generate → fix workflow, and full orchestration), Table 9
(refinement of the canonical solutions per metric: problems improved, median and range), and
Tables 16–18 (gains and LLM calls per policy).

Memory must not know the problems it is scored on: problems are split into k folds by number,
and a problem is evaluated with a Memory view that holds only *study* observations of the other
folds (no paper priors, no notes measured on these same problems). What the evaluation itself
observes is kept in its results, not written to Memory.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from . import benchmarks
from .errors import ConfigError, LLMError, ProfilerError
from .events import RankedModel
from .executor import Executor
from .llm import parsing, prompts
from .memory.store import Memory, Scope
from .models import Action, Category, Language, Metric, Stage, Task
from .policy import Budget, Policy, PolicyKind
from .ports import LLMPort, ModelChoice, Observation, ProfilerPort
from .result import JobResult

ConfigKind = Literal["single", "workflow", "perforch"]


@dataclass(frozen=True)
class Config:
    """``single:MODEL`` (one generation, no fix), ``workflow:MODEL`` (generate → fix with that
    model only), ``perforch`` (Memory-ranked models per stage under ``policy``)."""

    kind: ConfigKind
    model: str | None = None
    policy: PolicyKind = "sequential"

    @classmethod
    def parse(cls, text: str, policy: PolicyKind = "sequential") -> Config:
        kind, _, model = text.partition(":")
        if kind == "perforch" and not model:
            return cls("perforch", None, policy)
        if kind in ("single", "workflow") and model:
            return cls(kind, model)  # type: ignore[arg-type]
        raise ConfigError(
            f"--config {text!r}: use single:MODEL, workflow:MODEL or perforch",
        )

    @property
    def label(self) -> str:
        return (
            f"perforch ({self.policy})" if self.kind == "perforch" else f"{self.kind}:{self.model}"
        )


class FoldMemory:
    """The Memory port for one problem: study evidence about other folds only; records nothing
    (the evaluation reports what it saw instead of learning from it)."""

    def __init__(self, memory: Memory, exclude: frozenset[str]) -> None:
        self.memory = memory
        self.scope = Scope(exclude_problems=exclude, sources=frozenset({"study"}), priors=False)
        self.recorded: list[Observation] = []

    async def rank(
        self,
        stage: Stage,
        language: Language,
        categories: Sequence[Category],
        metric: Metric | None,
        candidates: Sequence[str],
    ) -> list[RankedModel]:
        return await self.memory.rank(stage, language, categories, metric, candidates, self.scope)

    async def record(self, observations: Sequence[Observation]) -> None:
        self.recorded.extend(observations)

    async def record_choice(self, choice: ModelChoice) -> None:
        return None


def fold_of(numbers: Sequence[int], k: int, seed: int = 0) -> dict[int, int]:
    """Problem number → fold (a seeded shuffle dealt round-robin into ``k`` folds)."""
    order = sorted(set(numbers))
    random.Random(seed).shuffle(order)
    return {n: i % k for i, n in enumerate(order)}


@dataclass(frozen=True)
class GenerationOutcome:
    config: str
    language: Language
    problem: str
    passed: bool
    llm_calls: int
    seconds: float
    model: str | None  # the model whose code passed
    detail: str


@dataclass(frozen=True)
class RefineOutcome:
    config: str
    language: Language
    problem: str
    metric: Metric
    improved: bool
    improvement_pct: float | None
    llm_calls: int
    seconds: float
    model: str | None
    detail: str


@dataclass(frozen=True)
class JudgedRefinement:
    """A refinement job re-measured by an independent judge (ENAMEL's own inputs, not the
    workload PerfOrch generated): what PerfOrch claimed beside what the judge measured."""

    variant: str  # the policy switches of an ablation: "default", "no_repair", …
    language: Language
    problem: str
    metric: Metric
    claimed: bool  # the job accepted a change as significantly better
    claimed_pct: float | None
    judged: bool  # the judge's interval clears the threshold too
    judged_pct: float | None
    judged_low: float | None
    judged_high: float | None
    same_results: bool | None  # the change returns what the original does on the judge's inputs
    judge: str  # the judge's workload ("ENAMEL level 4") or why there was none
    llm_calls: int
    repair_calls: int
    second_chance_calls: int
    accepted_retry: str  # "", "repair" or "second_chance": the round that made the change
    seconds: float
    model: str | None
    detail: str


class Evaluation:
    def __init__(
        self,
        llm: LLMPort,
        profiler: ProfilerPort,
        memory: Memory,
        pool: Sequence[str],
        *,
        folds: dict[int, int],
        threshold_pct: float = 5.0,
        budget: Budget | None = None,
    ) -> None:
        self.llm = llm
        self.profiler = profiler
        self.memory = memory
        self.pool = list(pool)
        self.folds = folds
        self.threshold_pct = threshold_pct
        self.budget = budget or Budget(max_llm_calls=12, max_wall_s=900, max_cost_usd=1.0)

    def _fold_memory(self, record: benchmarks.Record) -> FoldMemory:
        fold = self.folds[record.number]
        prefix = record.task_id.split("/")[0]
        exclude = frozenset(f"{prefix}/{n}" for n, f in self.folds.items() if f == fold)
        return FoldMemory(self.memory, exclude)

    async def _job(
        self,
        config: Config,
        record: benchmarks.Record,
        task: Task,
        action: Action,
        policy_update: Mapping[str, object] | None = None,
    ) -> JobResult:
        """One Executor job under ``config``: the whole pool ranked by the fold's Memory, or
        the configuration's one model pinned; ``policy_update`` changes the policy's switches
        (an ablation: ``{"repair_rounds": 0}``)."""
        if config.kind == "perforch":
            pool = self.pool
            # The explanation of an accepted change is for a person, not the measured work.
            policy = Policy(kind=config.policy, threshold_pct=self.threshold_pct, explain=False)
        else:
            assert config.model is not None
            pool = [config.model]
            policy = Policy.pin(pool, threshold_pct=self.threshold_pct, explain=False)
        if policy_update:
            policy = Policy.model_validate({**policy.model_dump(), **policy_update})
        executor = Executor(self.llm, self.profiler, self._fold_memory(record), pool, source="eval")
        job = executor.start(task, action, policy, self.budget)
        async for _ in job:
            pass
        return await job.result()

    async def generation(self, config: Config, record: benchmarks.Record) -> GenerationOutcome:
        started = time.monotonic()
        task = benchmarks.task(record)
        blank = task.model_copy(update={"current_code": None, "examples": record.example_test})
        label, lang = config.label, record.language
        if config.kind == "single":
            assert config.model is not None
            passed, detail = await self._single_generation(config.model, blank)
            return GenerationOutcome(
                label, lang, record.task_id, passed, 1, time.monotonic() - started,
                config.model if passed else None, detail,
            )  # fmt: skip
        result = await self._job(config, record, blank, Action.GENERATE)
        return GenerationOutcome(
            label, lang, record.task_id, result.status == "succeeded", result.llm_calls,
            time.monotonic() - started, result.accepted_model, result.message,
        )  # fmt: skip

    async def _single_generation(self, model: str, blank: Task) -> tuple[bool, str]:
        try:
            reply = await self.llm.complete(model, prompts.generate(blank))
            code = parsing.extract_function(reply.text, blank, model)
        except LLMError as exc:
            return False, str(exc)
        try:
            outcome = await self.profiler.run_tests(blank, code)
        except ProfilerError as exc:
            return False, f"not measured: {exc}"
        return outcome.passed, outcome.summary()

    async def refine_job(
        self,
        config: Config,
        record: benchmarks.Record,
        metric: Metric,
        policy_update: Mapping[str, object] | None = None,
    ) -> JobResult:
        """The job that optimizes the canonical solution for ``metric`` (the paper refines
        correct code), whole: an evaluation with its own judge re-measures its final code."""
        task = benchmarks.task(record).model_copy(
            update={"metric": metric, "examples": record.example_test}
        )
        return await self._job(config, record, task, Action.OPTIMIZE, policy_update)

    async def refinement(
        self, config: Config, record: benchmarks.Record, metric: Metric
    ) -> RefineOutcome:
        """Optimize the canonical solution (the paper refines correct code)."""
        started = time.monotonic()
        result = await self.refine_job(config, record, metric)
        v = result.verdict
        improved = v is not None and v.improved and result.changed
        return RefineOutcome(
            config.label, record.language, record.task_id, metric, improved,
            v.improvement_pct if (improved and v is not None) else None, result.llm_calls,
            time.monotonic() - started, result.accepted_model, result.message,
        )  # fmt: skip
