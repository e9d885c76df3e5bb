"""Job events (DESIGN §4.1): the one JSON-serializable stream every front end renders.

A job yields these in order; the CLI prints them live, the language server forwards them as
``perforch/jobEvent`` notifications and the study logs store them. ``kind`` is the tag.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .models import Action, HotLine, Metric, Scaling, Stage, TestOutcome, Verdict, Workload


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    job_id: str
    elapsed_s: float = 0.0


class RankedModel(BaseModel):
    model_config = ConfigDict(frozen=True)
    model: str
    score: float
    why: str
    observations: int = 0  # problems PerfOrch measured that stand behind the score


class JobStarted(_Event):
    kind: Literal["job_started"] = "job_started"
    action: Action
    task_id: str
    metric: Metric | None
    policy: str
    categories: tuple[str, ...] = ()


class StageStarted(_Event):
    kind: Literal["stage_started"] = "stage_started"
    stage: Stage
    ranking: tuple[RankedModel, ...] = ()


class ModelChosen(_Event):
    kind: Literal["model_chosen"] = "model_chosen"
    stage: Stage
    model: str
    score: float | None
    why: str


class LLMReplied(_Event):
    kind: Literal["llm_reply"] = "llm_reply"
    stage: Stage
    model: str
    ok: bool
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0


class TestsRun(_Event):
    __test__ = False

    kind: Literal["tests_run"] = "tests_run"
    stage: Stage | None
    model: str | None
    candidate_id: str
    outcome: TestOutcome


class MeasurementSample(_Event):
    """One per-process ratio or value streamed by the profiler while a comparison runs."""

    kind: Literal["measurement_sample"] = "measurement_sample"
    metric: Metric
    process: int
    baseline: float
    candidate: float
    unit: str


class Measured(_Event):
    kind: Literal["measured"] = "measured"
    stage: Stage
    model: str
    candidate_id: str
    verdict: Verdict


class WorkloadPrepared(_Event):
    """What refinement measures on: a generated workload (``workloads.py``), or the tests and
    why there is none."""

    kind: Literal["workload"] = "workload"
    workload: Workload | None
    detail: str
    benchmarks: tuple[str, ...] = ()  # the user's own, measured instead (no generator asked)


class Explained(_Event):
    """The accepting model's short account of its change (its words)."""

    kind: Literal["explained"] = "explained"
    model: str
    text: str


class HotspotsFound(_Event):
    """Where the function's time goes on its workload, as the refine prompt is told."""

    kind: Literal["hotspots"] = "hotspots"
    lines: tuple[HotLine, ...]


class ScalingMeasured(_Event):
    """Complexity evidence for the accepted refinement (``complexity.py``), or why there is
    none although a workload was there."""

    kind: Literal["scaling"] = "scaling"
    scaling: Scaling | None
    detail: str = ""


class EquivalenceChecked(_Event):
    """A candidate that passed the tests behaved as the original on every input it was then
    checked on (differential testing): the return value, the arguments afterwards and the
    type of an exception raised."""

    kind: Literal["equivalence_checked"] = "equivalence_checked"
    model: str
    candidate_id: str
    generated: int = 0  # generated inputs (sizes × seeds)
    tests: int = 0  # inputs the tests call the function with


class CandidateAccepted(_Event):
    kind: Literal["candidate_accepted"] = "candidate_accepted"
    stage: Stage
    model: str | None
    candidate_id: str
    reason: str


class RolledBack(_Event):
    kind: Literal["rolled_back"] = "rolled_back"
    stage: Stage
    model: str
    candidate_id: str | None
    reason: str


class ProfilerRestarted(_Event):
    """The profiler daemon died during a step; it was started again and the step runs again
    (once: a second death fails the step)."""

    kind: Literal["profiler_restarted"] = "profiler_restarted"
    during: str  # e.g. "testing qwen's candidate"
    detail: str


class JobFinished(_Event):
    kind: Literal["job_finished"] = "job_finished"
    success: bool
    summary: str


class JobFailed(_Event):
    kind: Literal["job_failed"] = "job_failed"
    error: str
    error_type: str


class JobCancelled(_Event):
    kind: Literal["job_cancelled"] = "job_cancelled"


JobEvent = Annotated[
    JobStarted
    | StageStarted
    | ModelChosen
    | LLMReplied
    | TestsRun
    | MeasurementSample
    | Measured
    | WorkloadPrepared
    | HotspotsFound
    | Explained
    | ScalingMeasured
    | EquivalenceChecked
    | CandidateAccepted
    | RolledBack
    | ProfilerRestarted
    | JobFinished
    | JobFailed
    | JobCancelled,
    Field(discriminator="kind"),
]

JOB_EVENT_ADAPTER: TypeAdapter[JobEvent] = TypeAdapter(JobEvent)


def event_to_json(event: _Event) -> str:
    return event.model_dump_json()


def event_from_json(data: str | bytes) -> JobEvent:
    return JOB_EVENT_ADAPTER.validate_json(data)
