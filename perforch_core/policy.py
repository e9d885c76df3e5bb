"""Policies (which models a stage tries, in what order) and budgets (when a job must stop).

- ``sequential`` (the paper's default): generate with the top-ranked model; fix and refine try
  the top ``n`` (5) one after another and accept the first candidate that passes (fix) or passes
  *and* measurably improves (refine).
- ``top1``: only the top-ranked model, at every stage.
- ``best_of_n``: every one of the top ``n`` is asked; the passing candidate of the best-ranked
  model wins for fix, the largest significant improvement wins for refine.
- ``pinned``: the user names the models (per stage or for all stages), tried in that order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import BudgetExceededError, ConfigError
from .events import RankedModel
from .models import Stage

PolicyKind = Literal["sequential", "top1", "best_of_n", "pinned"]


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: PolicyKind = "sequential"
    n: int = Field(default=5, ge=1, le=20)
    pinned: dict[Stage, tuple[str, ...]] = Field(
        default_factory=dict, description="pinned models per stage (kind = pinned)"
    )
    threshold_pct: float = Field(default=5.0, ge=0.0, description="minimum improvement")
    repair_rounds: int = Field(
        default=1,
        ge=0,
        le=3,
        description="refine: a candidate that fails the tests or differs from the original gets "
        "the failure back this many times (one LLM call each) before it is rolled back",
    )
    second_chance: bool = Field(
        default=True,
        description="refine: a model that returns the code unchanged is asked once more, told "
        "so, with a different strategy (one LLM call)",
    )
    explain: bool = Field(
        default=True,
        description="after a change is accepted, its model explains it in a short paragraph "
        "(one LLM call, shown as the model's words)",
    )
    profile_feedback: bool = Field(
        default=False,
        description="refine: the prompt says where the time goes (per-line hot spots, Python) "
        "and how one call's time grows with the input (on a generated workload). Off by default "
        "until the ENAMEL ablation shows it helps: on the demo it made the local 1.5B's reply "
        "unparseable",
    )
    generated_workload: bool = Field(
        default=True,
        description="refine measures on generated inputs and checks candidates against the "
        "original on them (Python; workloads.py)",
    )

    @classmethod
    def pin(cls, models: Sequence[str], **kw: object) -> Policy:
        if not models:
            raise ConfigError("a pinned policy needs at least one model")
        return cls(kind="pinned", pinned={s: tuple(models) for s in Stage}, **kw)  # type: ignore[arg-type]

    @classmethod
    def of(
        cls,
        kind: PolicyKind,
        models: Sequence[str],
        *,
        n: int | None = None,
        threshold_pct: float | None = None,
        how_to_name: str = "",
    ) -> Policy:
        """The policy a user asked for, from the CLI's flags or the editor's settings:
        ``pinned`` tries ``models`` in order, and is a ``ConfigError`` when they name none (a
        pinned policy with no models would do nothing); ``how_to_name`` says how to name them
        in the front end at hand."""
        threshold = DEFAULT_POLICY.threshold_pct if threshold_pct is None else threshold_pct
        if kind == "pinned":
            if not models:
                raise ConfigError(
                    "the policy is 'pinned' but no models are named",
                    hint=f"{how_to_name}, or choose another policy" if how_to_name else None,
                )
            return cls.pin(models, threshold_pct=threshold)
        return cls(kind=kind, n=DEFAULT_POLICY.n if n is None else n, threshold_pct=threshold)

    @property
    def takes_all(self) -> bool:
        """Whether a stage asks every chosen model instead of stopping at the first success."""
        return self.kind == "best_of_n"

    def choose(self, stage: Stage, ranking: Sequence[RankedModel]) -> list[RankedModel]:
        if self.kind == "pinned":
            names = self.pinned.get(stage, ())
            scores = {r.model: r for r in ranking}
            return [
                scores.get(
                    m,
                    RankedModel(model=m, score=float("nan"), why="chosen by you (no Memory data)"),
                )
                for m in names
            ]
        if self.kind == "top1" or (self.kind == "sequential" and stage is Stage.GENERATE):
            return list(ranking[:1])
        return list(ranking[: self.n])


class Budget(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_llm_calls: int | None = Field(default=30, ge=1)
    max_wall_s: float | None = Field(default=1800.0, gt=0)
    max_cost_usd: float | None = Field(default=2.0, ge=0)


# The defaults every front end shows and uses (the CLI's flags, the editor's settings).
DEFAULT_POLICY = Policy()
DEFAULT_BUDGET = Budget()


class BudgetTracker:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.started = time.monotonic()
        self.calls = 0
        self.cost_usd = 0.0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def calls_left(self) -> int | None:
        """LLM calls the budget still allows (None: no limit)."""
        limit = self.budget.max_llm_calls
        return None if limit is None else max(0, limit - self.calls)

    def check(self) -> None:
        b = self.budget
        if b.max_llm_calls is not None and self.calls >= b.max_llm_calls:
            raise BudgetExceededError(f"budget of {b.max_llm_calls} LLM calls used up")
        if b.max_wall_s is not None and self.elapsed_s >= b.max_wall_s:
            raise BudgetExceededError(f"time budget of {b.max_wall_s:.0f} s used up")
        if b.max_cost_usd is not None and self.cost_usd >= b.max_cost_usd:
            raise BudgetExceededError(f"cost budget of ${b.max_cost_usd:.2f} used up")

    def charge(self, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.cost_usd += cost_usd
