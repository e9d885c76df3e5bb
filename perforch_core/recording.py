"""What a job keeps of each model's try: the :class:`Attempt` (for the result and the user) and
the matching Memory :class:`Observation` (for the ranking), both built here and only here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import events as ev
from .models import Stage, Task
from .ports import Observation
from .result import Attempt, AttemptOutcome


@dataclass(frozen=True)
class Proposal:
    """A model's usable candidate and what asking for it cost."""

    code: str
    candidate_id: str
    usage: dict[str, Any]


class Recorder:
    """The attempts and observations of one job (or one study unit), in order."""

    def __init__(self, source: str) -> None:
        self.source = source  # the Memory's name for where observations come from
        self.attempts: list[Attempt] = []
        self.observations: list[Observation] = []

    def add(
        self,
        task: Task,
        stage: Stage,
        ranked: ev.RankedModel,
        outcome: AttemptOutcome,
        detail: str,
        *,
        success: bool,
        proposal: Proposal | None = None,
        usage: dict[str, Any] | None = None,
        improvement_pct: float | None = None,
        **fields: Any,
    ) -> Attempt:
        """Keep one attempt (``fields``: its tests and verdict) and its observation."""
        spent = proposal.usage if proposal is not None and usage is None else (usage or {})
        attempt = Attempt(
            stage=stage,
            model=ranked.model,
            score=ranked.score,
            outcome=outcome,
            detail=detail,
            candidate_id=proposal.candidate_id if proposal else None,
            code=proposal.code if proposal else None,
            **spent,
            **fields,
        )
        self.attempts.append(attempt)
        self.observations.append(
            Observation(
                model=attempt.model,
                stage=stage,
                language=task.language,
                categories=task.categories,
                metric=task.metric if stage is Stage.REFINE else None,
                problem_id=task.id,
                success=success,
                improvement_pct=improvement_pct,
                source=self.source,
            )
        )
        return attempt


def every_call_failed(attempts: Sequence[Attempt]) -> str | None:
    """The message when every attempt was a failed model call (nothing was tried, so no other
    conclusion may be drawn), else None."""
    if attempts and all(a.outcome == "llm_error" for a in attempts):
        return f"every model call failed; first error: {attempts[0].detail}"
    return None
