"""What a finished job returns: the final code, every attempt, the evidence and the costs."""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .models import Action, Metric, Stage, TestOutcome, Verdict

AttemptOutcome = Literal[
    "passed",
    "failed_tests",
    "no_code",
    "llm_error",
    "unchanged",
    "improved",
    "not_improved",
    "inconclusive",
    "measure_error",
]


class Attempt(BaseModel):
    """One model's try at one stage."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    model: str
    score: float | None
    outcome: AttemptOutcome
    detail: str
    candidate_id: str | None = None
    code: str | None = None
    tests: TestOutcome | None = None
    verdict: Verdict | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0


class JobResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: str
    action: Action
    task_id: str
    metric: Metric | None
    status: Literal["succeeded", "failed", "cancelled", "error"]
    message: str
    original_code: str
    final_code: str
    accepted_model: str | None = None
    accepted_stage: Stage | None = None
    final_tests: TestOutcome | None = None
    verdict: Verdict | None = None
    attempts: tuple[Attempt, ...] = ()
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    stopped_by_budget: str | None = None

    @property
    def changed(self) -> bool:
        return self.final_code.strip() != self.original_code.strip()

    def diff(self, path: str = "function") -> str:
        return "".join(
            difflib.unified_diff(
                self.original_code.splitlines(keepends=True),
                self.final_code.splitlines(keepends=True),
                fromfile=f"a/{path}",
                tofile=f"b/{path}",
            )
        )
