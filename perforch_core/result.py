"""What a finished job returns: the final code, every attempt, the evidence and the costs."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import Action, Metric, Scaling, Stage, TestOutcome, Verdict, Workload

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
    "differs",  # passed the tests, differed from the original on generated inputs
]


class Attempt(BaseModel):
    """One model's try at one stage."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    model: str
    score: float | None
    outcome: AttemptOutcome
    detail: str
    retry: Literal["", "repair", "second_chance"] = Field(
        default="",
        description="a refine round after the same model's failed (repair) or unchanged "
        "(second_chance) reply",
    )
    candidate_id: str | None = None
    code: str | None = None
    tests: TestOutcome | None = None
    verdict: Verdict | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0


class Explanation(BaseModel):
    """What the model whose change was accepted says it changed and why: its words, not
    PerfOrch's measurement."""

    model_config = ConfigDict(frozen=True)

    model: str
    text: str


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
    scaling: Scaling | None = Field(
        default=None, description="complexity evidence for the accepted refinement"
    )
    workload: Workload | None = Field(
        default=None, description="the generated workload refinement measured on, if any"
    )
    explanation: Explanation | None = Field(
        default=None, description="the accepting model's short account of its change"
    )
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


_NOT_MEASURED = {
    "failed_tests": "failed the tests",
    "no_code": "gave no usable code",
    "unchanged": "returned the code unchanged",
    "differs": "differed from the original on generated inputs",
    "llm_error": "got no reply",
    "measure_error": "could not be measured",
}


def unmeasured(refine: Sequence[Attempt]) -> str | None:
    """Why no refine candidate was measured ("2 failed the tests, 1 returned the code
    unchanged"), or None when one was: then "no significant improvement" is a measurement."""
    if not refine or any(a.verdict is not None for a in refine):
        return None
    counts = Counter(a.outcome for a in refine)
    return ", ".join(f"{n} {_NOT_MEASURED.get(o, o)}" for o, n in counts.items())


def success_message(
    action: Action,
    stage: Stage | None,
    model: str | None,
    verdict: Verdict | None,
    stopped_by_budget: str | None = None,
    refine: Sequence[Attempt] = (),
) -> str:
    """What a succeeded job says: who changed the code and why it may land. ``refine``: the
    refine stage's attempts, so that a job whose candidates were never measured does not claim
    "no significant improvement"."""
    from . import describe  # describe renders events, which carry results

    budget = f"; stopped early: {stopped_by_budget}" if stopped_by_budget else ""
    if action is Action.OPTIMIZE:
        if verdict is not None:
            return f"{describe.verdict(verdict)} by {model}{budget}"
        prefix = f"fixed by {model}, but " if stage is Stage.FIX else ""
        why = unmeasured(refine)
        if why is not None:
            what = "the code is unchanged" if stage is None else "the fix is kept"
            return f"{prefix}no candidate was measured ({why}): {what}{budget}"
        return (
            f"{prefix}no significant improvement: the code is unchanged{budget}"
            if stage is None
            else f"{prefix}no significant improvement beyond the fix{budget}"
        )
    if stage is Stage.GENERATE:
        return f"generated by {model}; the tests pass{budget}"
    return f"fixed by {model}; the tests pass{budget}"
