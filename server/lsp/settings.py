"""The language server's settings (initialization options and ``workspace/configuration``,
section ``perforch``), validated softly: a bad value is reported once, in one message, and its
default is used; everything valid is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perforch_core.memory.store import default_path
from perforch_core.models import Metric
from perforch_core.policy import DEFAULT_BUDGET, DEFAULT_POLICY, Budget, Policy, PolicyKind


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    models: list[str] = Field(
        default_factory=list, description="model pool (litellm names); empty: the local models"
    )
    memory_path: Path = Field(default_factory=default_path, alias="memoryPath")
    policy: PolicyKind = "sequential"
    n: int = Field(
        default=DEFAULT_POLICY.n,
        ge=1,
        le=20,
        description="models per stage (sequential, best_of_n)",
    )
    threshold_pct: float = Field(default=DEFAULT_POLICY.threshold_pct, ge=0.0, alias="thresholdPct")
    generated_workload: bool = Field(
        default=DEFAULT_POLICY.generated_workload, alias="generatedWorkload"
    )
    repair_rounds: int = Field(
        default=DEFAULT_POLICY.repair_rounds, ge=0, le=3, alias="repairRounds"
    )
    second_chance: bool = Field(default=DEFAULT_POLICY.second_chance, alias="secondChance")
    profile_feedback: bool = Field(default=DEFAULT_POLICY.profile_feedback, alias="profileFeedback")
    explain: bool = Field(default=DEFAULT_POLICY.explain)
    metric: Metric = Field(default=Metric.EXEC_TIME, description="default metric to optimize")
    # None: no limit.
    max_llm_calls: int | None = Field(
        default=DEFAULT_BUDGET.max_llm_calls, ge=1, alias="maxLlmCalls"
    )
    max_seconds: float | None = Field(default=DEFAULT_BUDGET.max_wall_s, gt=0, alias="maxSeconds")
    max_cost_usd: float | None = Field(
        default=DEFAULT_BUDGET.max_cost_usd, ge=0, alias="maxCostUsd"
    )
    auto_apply: bool = Field(
        default=False, alias="autoApply", description="apply results without asking"
    )
    python: str | None = Field(default=None, description="interpreter that runs Python code")
    model_picker: Literal["message", "custom"] = Field(
        default="message",
        alias="modelPicker",
        description="how to ask for a model: window/showMessageRequest, or the client's own "
        "perforch/chooseModel request",
    )

    def policy_for(self) -> Policy:
        """The job policy (``pinned`` tries the ``models`` setting in order)."""
        return Policy.of(
            self.policy,
            self.models,
            n=self.n,
            threshold_pct=self.threshold_pct,
            how_to_name="set perforch.models to the models to try",
        ).model_copy(
            update={
                "generated_workload": self.generated_workload,
                "repair_rounds": self.repair_rounds,
                "second_chance": self.second_chance,
                "profile_feedback": self.profile_feedback,
                "explain": self.explain,
            }
        )

    def budget(self) -> Budget:
        return Budget(
            max_llm_calls=self.max_llm_calls,
            max_wall_s=self.max_seconds,
            max_cost_usd=self.max_cost_usd,
        )


def parse(raw: object) -> tuple[Settings, str | None]:
    """Settings from a client's JSON (None or {} → defaults), and one message naming what was
    wrong and ignored, or None."""
    if raw is None:
        return Settings(), None
    if not isinstance(raw, dict):
        return Settings(), f"PerfOrch settings must be an object, got {type(raw).__name__}: ignored"
    inner = raw.get("perforch")
    data: dict[str, Any] = dict(inner) if isinstance(inner, dict) else dict(raw)
    problems: list[str] = []
    for _ in range(len(data) + 1):
        try:
            settings = Settings.model_validate(data)
            break
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            for err in exc.errors():
                where = ".".join(str(x) for x in err["loc"]) or "settings"
                problems.append(f"{where}: {err['msg']}")
            if not bad:
                settings = Settings()
                break
            for key in bad:
                data.pop(key, None)
    else:
        settings = Settings()
    if not problems:
        return settings, None
    return settings, "PerfOrch settings ignored (defaults used): " + "; ".join(problems)
