"""The ports the core talks through (DESIGN §3): LLM, profiler, Memory, event sink.

The Executor depends only on these protocols; adapters (the litellm gateway, the profiler
client, the SQLite Memory) implement them, and unit tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from .events import RankedModel
from .models import Category, Language, Measurement, Metric, Stage, Task, TestOutcome, Verdict


@dataclass(frozen=True)
class LLMReply:
    model: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    truncated: bool = False  # the reply stopped at its token limit (finish_reason "length")


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


class LLMPort(Protocol):
    async def complete(
        self, model: str, messages: Sequence[ChatMessage], *, min_tokens: int | None = None
    ) -> LLMReply:
        """``model``'s reply; ``min_tokens``: let it be at least this long (a long function's
        reply needs more than the model's default limit)."""
        ...


@dataclass(frozen=True)
class Sample:
    """One fresh measuring process's result, streamed while a comparison runs."""

    metric: Metric
    process: int
    baseline: float
    candidate: float
    unit: str


OnSample = Callable[[Sample], Awaitable[None]]


class ProfilerPort(Protocol):
    async def run_tests(self, task: Task, code: str) -> TestOutcome: ...

    async def compare(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        metric: Metric,
        threshold_pct: float,
        on_sample: OnSample | None = None,
    ) -> Verdict: ...

    async def measure(
        self, task: Task, code: str, metric: Metric, on_sample: OnSample | None = None
    ) -> Measurement: ...


class Observation(BaseModel):
    """One measured outcome of one model on one problem (a Memory row)."""

    model_config = ConfigDict(frozen=True)

    model: str
    stage: Stage
    language: Language
    categories: tuple[Category, ...] = ()
    metric: Metric | None = None
    problem_id: str
    success: bool
    improvement_pct: float | None = None
    source: str = "user"


class MemoryPort(Protocol):
    async def rank(
        self,
        stage: Stage,
        language: Language,
        categories: Sequence[Category],
        metric: Metric | None,
        candidates: Sequence[str],
    ) -> list[RankedModel]: ...

    async def record(self, observations: Sequence[Observation]) -> None: ...

    async def record_choice(self, choice: ModelChoice) -> None: ...


class ModelChoice(BaseModel):
    """A person picked ``picked`` for a stage where the ranking offered ``offered_first``."""

    model_config = ConfigDict(frozen=True)
    stage: Stage
    language: Language
    categories: tuple[Category, ...] = ()
    metric: Metric | None = None
    offered_first: str | None
    picked: str
    problem_id: str


# Asked at the start of a stage with the Memory's ranking; returns the model to use for the
# stage, or None to let the policy choose.
ModelChooser = Callable[[Stage, Sequence[RankedModel]], Awaitable[str | None]]
