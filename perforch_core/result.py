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


def describe_measurement(metric: Metric, value: float, unit: str) -> str:
    if metric is Metric.EXEC_TIME:
        return f"{value / 1e6:.3f} ms of CPU time per run of the tests"
    if metric is Metric.CPU_UTILIZATION:
        return f"CPU utilization {value:.2f}"
    label = "mean" if metric is Metric.AVG_MEMORY else "peak"
    return f"{label} memory {value / 1024:.1f} KiB allocated while running the tests"


def verdict_text(v: Verdict) -> str:
    """A verdict as a change of the metric: negative = less time / memory (better)."""
    change, low, high = -v.improvement_pct, -v.interval_pct.high, -v.interval_pct.low
    ci = f"95% CI {low:+.1f}…{high:+.1f} %"
    if v.decision == "improved":
        return f"{v.metric.label} {change:+.1f} % ({ci}, {v.processes} processes)"
    if v.decision == "not_improved":
        return (
            f"no significant {v.metric.label} gain ({change:+.1f} %, {ci}; "
            f"needs ≤ −{v.threshold_pct:g} %)"
        )
    if v.note:
        return f"inconclusive {v.metric.label} change: {v.note}"
    return f"inconclusive {v.metric.label} change ({change:+.1f} %, {ci}, {v.processes} processes)"
