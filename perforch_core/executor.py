"""The Executor: runs generate → fix → refine for one task, as an async job (DESIGN §2, §4.3).

``Executor.start(task, action, policy, budget)`` returns a :class:`Job`; iterate it for the
``JobEvent`` stream, ``await job.result()`` for the :class:`JobResult`, ``job.cancel()`` to stop
it (the profiler client then kills the running processes). Every candidate is tested before it
can be accepted; a refinement is accepted only when the profiler says it improved; anything else
is rolled back to the previous correct code. Each attempt is recorded in Memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import BaseModel

from . import events as ev
from .errors import BudgetExceededError, LLMError, PerfOrchError, ProfilerError
from .llm import parsing, prompts
from .models import Action, Candidate, Metric, Stage, Task, TestOutcome
from .policy import Budget, BudgetTracker, Policy
from .ports import ChatMessage, LLMPort, MemoryPort, Observation, ProfilerPort, Sample
from .result import Attempt, JobResult
from .tagging import Tagger

log = logging.getLogger("perforch.executor")

_DONE = object()


class Job:
    """A running job: an async iterator of events plus a final result."""

    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[JobResult] | None = None

    def __aiter__(self) -> AsyncIterator[BaseModel]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BaseModel]:
        while True:
            item = await self._queue.get()
            if item is _DONE:
                return
            yield item

    async def result(self) -> JobResult:
        assert self._task is not None
        return await self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()


class _Run:
    """State of one job while it runs."""

    def __init__(
        self,
        executor: Executor,
        job: Job,
        task: Task,
        action: Action,
        policy: Policy,
        budget: Budget,
    ) -> None:
        self.x = executor
        self.job = job
        self.task = task
        self.action = action
        self.policy = policy
        self.budget = BudgetTracker(budget)
        self.attempts: list[Attempt] = []
        self.observations: list[Observation] = []
        self.stopped_by_budget: str | None = None
        self._last_usage: dict[str, Any] = {}

    # -- events ----------------------------------------------------------------------------
    def emit(self, cls: type[BaseModel], **fields: Any) -> None:
        event = cls(job_id=self.job.id, elapsed_s=round(self.budget.elapsed_s, 3), **fields)
        self.job._queue.put_nowait(event)

    # -- building blocks -------------------------------------------------------------------
    async def ask(
        self, stage: Stage, model: str, messages: Sequence[ChatMessage]
    ) -> tuple[str | None, Attempt | None]:
        """Ask ``model``; return the candidate code, or None and the failed attempt."""
        self.budget.check()
        try:
            reply = await self.x.llm.complete(model, messages)
        except LLMError as exc:
            self.emit(ev.LLMReplied, stage=stage, model=model, ok=False, error=str(exc))
            return None, Attempt(
                stage=stage, model=model, score=None, outcome="llm_error", detail=str(exc)
            )
        self.budget.charge(reply.prompt_tokens, reply.completion_tokens, reply.cost_usd)
        usage: dict[str, Any] = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "cost_usd": reply.cost_usd,
        }
        try:
            code = parsing.extract_function(reply.text, self.task, model)
        except LLMError as exc:
            self.emit(
                ev.LLMReplied,
                stage=stage,
                model=model,
                ok=False,
                error=str(exc),
                latency_s=reply.latency_s,
                **usage,
            )
            return None, Attempt(
                stage=stage,
                model=model,
                score=None,
                outcome="no_code",
                detail=str(exc),
                latency_s=reply.latency_s,
                **usage,
            )
        self.emit(
            ev.LLMReplied, stage=stage, model=model, ok=True, latency_s=reply.latency_s, **usage
        )
        self._last_usage = dict(usage, latency_s=reply.latency_s)
        return code, None

    async def test(self, code: str, stage: Stage | None, model: str | None) -> TestOutcome:
        outcome = await self.x.profiler.run_tests(self.task, code)
        cand = Candidate(code=code, model=model, stage=stage)
        self.emit(ev.TestsRun, stage=stage, model=model, candidate_id=cand.id, outcome=outcome)
        return outcome

    async def ranking(self, stage: Stage) -> list[ev.RankedModel]:
        metric = self.task.metric if stage is Stage.REFINE else None
        ranked = await self.x.memory.rank(
            stage, self.task.language, self.task.categories, metric, self.x.pool
        )
        self.emit(ev.StageStarted, stage=stage, ranking=tuple(ranked))
        chosen = self.policy.choose(stage, ranked)
        return chosen

    def record(self, attempt: Attempt, success: bool, improvement: float | None = None) -> None:
        self.attempts.append(attempt)
        self.observations.append(
            Observation(
                model=attempt.model,
                stage=attempt.stage,
                language=self.task.language,
                categories=self.task.categories,
                metric=self.task.metric if attempt.stage is Stage.REFINE else None,
                problem_id=self.task.id,
                success=success,
                improvement_pct=improvement,
                source=self.x.source,
            )
        )

    # -- stages ----------------------------------------------------------------------------
    async def generate(self) -> tuple[str | None, TestOutcome | None, str | None]:
        """Returns (code, its test outcome, model) of the generated function, or Nones."""
        best: tuple[str | None, TestOutcome | None, str | None] = (None, None, None)
        for ranked in await self.ranking(Stage.GENERATE):
            self.emit(
                ev.ModelChosen,
                stage=Stage.GENERATE,
                model=ranked.model,
                score=ranked.score,
                why=ranked.why,
            )
            try:
                code, failed = await self.ask(
                    Stage.GENERATE, ranked.model, prompts.generate(self.task)
                )
            except BudgetExceededError as exc:
                self.stopped_by_budget = str(exc)
                break
            if code is None:
                assert failed is not None
                self.record(failed.model_copy(update={"score": ranked.score}), False)
                continue
            outcome = await self.test(code, Stage.GENERATE, ranked.model)
            attempt = Attempt(
                stage=Stage.GENERATE,
                model=ranked.model,
                score=ranked.score,
                outcome="passed" if outcome.passed else "failed_tests",
                detail=outcome.summary(),
                code=code,
                tests=outcome,
                candidate_id=Candidate(code=code, model=ranked.model, stage=Stage.GENERATE).id,
                **self._last_usage,
            )
            self.record(attempt, outcome.passed)
            if outcome.passed:
                self.emit(
                    ev.CandidateAccepted,
                    stage=Stage.GENERATE,
                    model=ranked.model,
                    candidate_id=attempt.candidate_id or "",
                    reason="passes the tests",
                )
                return code, outcome, ranked.model
            if best[0] is None:
                best = (code, outcome, ranked.model)
        return best

    async def fix(self, code: str, outcome: TestOutcome) -> tuple[str, TestOutcome, str] | None:
        winners: list[tuple[str, TestOutcome, str]] = []
        for ranked in await self.ranking(Stage.FIX):
            self.emit(
                ev.ModelChosen,
                stage=Stage.FIX,
                model=ranked.model,
                score=ranked.score,
                why=ranked.why,
            )
            try:
                cand, failed = await self.ask(
                    Stage.FIX, ranked.model, prompts.fix(self.task, code, outcome.failure_report())
                )
            except BudgetExceededError as exc:
                self.stopped_by_budget = str(exc)
                break
            if cand is None:
                assert failed is not None
                self.record(failed.model_copy(update={"score": ranked.score}), False)
                self.emit(
                    ev.RolledBack,
                    stage=Stage.FIX,
                    model=ranked.model,
                    candidate_id=None,
                    reason=failed.detail,
                )
                continue
            result = await self.test(cand, Stage.FIX, ranked.model)
            cid = Candidate(code=cand, model=ranked.model, stage=Stage.FIX).id
            attempt = Attempt(
                stage=Stage.FIX,
                model=ranked.model,
                score=ranked.score,
                outcome="passed" if result.passed else "failed_tests",
                detail=result.summary(),
                code=cand,
                tests=result,
                candidate_id=cid,
                **self._last_usage,
            )
            self.record(attempt, result.passed)
            if not result.passed:
                self.emit(
                    ev.RolledBack,
                    stage=Stage.FIX,
                    model=ranked.model,
                    candidate_id=cid,
                    reason=f"tests failed: {result.summary()}",
                )
                continue
            winners.append((cand, result, ranked.model))
            if not self.policy.takes_all:
                break
        if not winners:
            return None
        cand, result, model = winners[0]  # best-ranked passing candidate
        self.emit(
            ev.CandidateAccepted,
            stage=Stage.FIX,
            model=model,
            candidate_id=Candidate(code=cand, model=model, stage=Stage.FIX).id,
            reason=f"passes the tests ({result.summary()})",
        )
        return winners[0]

    async def refine(self, code: str) -> tuple[str, Any, str] | None:
        metric = self.task.metric
        stage = Stage.REFINE

        async def on_sample(s: Sample) -> None:
            self.emit(
                ev.MeasurementSample,
                metric=s.metric,
                process=s.process,
                baseline=s.baseline,
                candidate=s.candidate,
                unit=s.unit,
            )

        try:
            base = await self.x.profiler.measure(self.task, code, metric)
            report = _describe_measurement(metric, base.summary, base.unit)
        except ProfilerError as exc:
            report = f"not available ({exc})"
        winners: list[tuple[str, Any, str]] = []
        seen = {_norm(code)}
        for ranked in await self.ranking(stage):
            self.emit(
                ev.ModelChosen, stage=stage, model=ranked.model, score=ranked.score, why=ranked.why
            )
            try:
                cand, failed = await self.ask(
                    stage, ranked.model, prompts.refine(self.task, code, metric, report)
                )
            except BudgetExceededError as exc:
                self.stopped_by_budget = str(exc)
                break
            if cand is None:
                assert failed is not None
                self.record(failed.model_copy(update={"score": ranked.score}), False)
                self.emit(
                    ev.RolledBack,
                    stage=stage,
                    model=ranked.model,
                    candidate_id=None,
                    reason=failed.detail,
                )
                continue
            cid = Candidate(code=cand, model=ranked.model, stage=stage).id
            usage = self._last_usage
            if _norm(cand) in seen:
                attempt = Attempt(
                    stage=stage,
                    model=ranked.model,
                    score=ranked.score,
                    outcome="unchanged",
                    detail="returned code already tried",
                    candidate_id=cid,
                    code=cand,
                    **usage,
                )
                self.record(attempt, False)
                self.emit(
                    ev.RolledBack,
                    stage=stage,
                    model=ranked.model,
                    candidate_id=cid,
                    reason="no change to the code",
                )
                continue
            seen.add(_norm(cand))
            result = await self.test(cand, stage, ranked.model)
            if not result.passed:
                attempt = Attempt(
                    stage=stage,
                    model=ranked.model,
                    score=ranked.score,
                    outcome="failed_tests",
                    detail=result.summary(),
                    code=cand,
                    tests=result,
                    candidate_id=cid,
                    **usage,
                )
                self.record(attempt, False)
                self.emit(
                    ev.RolledBack,
                    stage=stage,
                    model=ranked.model,
                    candidate_id=cid,
                    reason=f"tests failed: {result.summary()}",
                )
                continue
            try:
                verdict = await self.x.profiler.compare(
                    self.task, code, cand, metric, self.policy.threshold_pct, on_sample
                )
            except ProfilerError as exc:
                attempt = Attempt(
                    stage=stage,
                    model=ranked.model,
                    score=ranked.score,
                    outcome="measure_error",
                    detail=str(exc),
                    code=cand,
                    tests=result,
                    candidate_id=cid,
                    **usage,
                )
                self.record(attempt, False)
                self.emit(
                    ev.RolledBack,
                    stage=stage,
                    model=ranked.model,
                    candidate_id=cid,
                    reason=f"could not measure: {exc}",
                )
                continue
            self.emit(
                ev.Measured, stage=stage, model=ranked.model, candidate_id=cid, verdict=verdict
            )
            attempt = Attempt(
                stage=stage,
                model=ranked.model,
                score=ranked.score,
                outcome=verdict.decision,
                detail=_verdict_text(verdict),
                code=cand,
                tests=result,
                verdict=verdict,
                candidate_id=cid,
                **usage,
            )
            self.record(
                attempt, verdict.improved, verdict.improvement_pct if verdict.improved else None
            )
            if not verdict.improved:
                self.emit(
                    ev.RolledBack,
                    stage=stage,
                    model=ranked.model,
                    candidate_id=cid,
                    reason=_verdict_text(verdict),
                )
                continue
            winners.append((cand, verdict, ranked.model))
            if not self.policy.takes_all:
                break
        if not winners:
            return None
        best = max(winners, key=lambda w: w[1].improvement_pct)
        self.emit(
            ev.CandidateAccepted,
            stage=stage,
            model=best[2],
            candidate_id=Candidate(code=best[0], model=best[2], stage=stage).id,
            reason=_verdict_text(best[1]),
        )
        return best

    # -- the job ---------------------------------------------------------------------------
    async def run(self) -> JobResult:
        task, action = self.task, self.action
        if not task.categories:
            self.task = task = task.model_copy(update={"categories": await self.x.tagger.tag(task)})
        self.emit(
            ev.JobStarted,
            action=action,
            task_id=task.id,
            metric=task.metric if action is Action.OPTIMIZE else None,
            policy=self.policy.kind,
            categories=tuple(c.value for c in task.categories),
        )
        original = task.current_code or ""
        code: str | None = task.current_code
        outcome: TestOutcome | None = None
        accepted_model: str | None = None
        accepted_stage: Stage | None = None
        verdict = None

        if action is Action.GENERATE or code is None:
            code, outcome, model = await self.generate()
            if code is not None and outcome is not None and outcome.passed:
                accepted_model, accepted_stage = model, Stage.GENERATE
            if code is None:
                return self.finish("failed", "no model produced usable code", original, original)
        else:
            outcome = await self.test(code, None, None)

        assert code is not None and outcome is not None
        if not outcome.passed:
            fixed = await self.fix(code, outcome)
            if fixed is None:
                what = "the generated code" if action is Action.GENERATE else "the function"
                return self.finish(
                    "failed",
                    f"no model could make {what} pass its tests"
                    + (f" ({self.stopped_by_budget})" if self.stopped_by_budget else ""),
                    original,
                    original,
                    final_tests=outcome,
                )
            code, outcome, accepted_model = fixed
            accepted_stage = Stage.FIX
        elif action is Action.FIX:
            return self.finish(
                "succeeded",
                f"the tests already pass ({outcome.summary()}); nothing to fix",
                original,
                original,
                final_tests=outcome,
            )

        if action is Action.OPTIMIZE:
            refined = await self.refine(code)
            refine_attempts = [a for a in self.attempts if a.stage is Stage.REFINE]
            if (
                refined is None
                and refine_attempts
                and all(a.outcome == "llm_error" for a in refine_attempts)
            ):
                # Nothing was tried, so "no significant improvement" would be a false claim.
                first = refine_attempts[0].detail
                return self.finish(
                    "failed",
                    f"every model call failed; first error: {first}",
                    original,
                    code,
                    final_tests=outcome,
                    accepted_model=accepted_model,
                    accepted_stage=accepted_stage,
                )
            if refined is not None:
                code, verdict, accepted_model = refined
                accepted_stage = Stage.REFINE
                outcome = next(
                    a.tests
                    for a in reversed(self.attempts)
                    if a.code == code and a.tests is not None
                )
        message = self._message(action, accepted_stage, accepted_model, verdict)
        return self.finish(
            "succeeded",
            message,
            original,
            code,
            final_tests=outcome,
            verdict=verdict,
            accepted_model=accepted_model,
            accepted_stage=accepted_stage,
        )

    def _message(self, action: Action, stage: Stage | None, model: str | None, verdict: Any) -> str:
        budget = f"; stopped early: {self.stopped_by_budget}" if self.stopped_by_budget else ""
        if action is Action.OPTIMIZE:
            if verdict is not None:
                return f"{_verdict_text(verdict)} by {model}{budget}"
            prefix = f"fixed by {model}, but " if stage is Stage.FIX else ""
            return (
                f"{prefix}no significant improvement: the code is unchanged{budget}"
                if stage is None
                else f"{prefix}no significant improvement beyond the fix{budget}"
            )
        if stage is Stage.GENERATE:
            return f"generated by {model}; the tests pass{budget}"
        return f"fixed by {model}; the tests pass{budget}"

    def finish(
        self, status: Any, message: str, original: str, final: str, **fields: Any
    ) -> JobResult:
        b = self.budget
        if (
            status == "failed"
            and self.attempts
            and all(a.outcome == "llm_error" for a in self.attempts)
        ):
            message = f"every model call failed; first error: {self.attempts[0].detail}"
        return JobResult(
            job_id=self.job.id,
            action=self.action,
            task_id=self.task.id,
            metric=self.task.metric if self.action is Action.OPTIMIZE else None,
            status=status,
            message=message,
            original_code=original,
            final_code=final,
            attempts=tuple(self.attempts),
            llm_calls=b.calls,
            prompt_tokens=b.prompt_tokens,
            completion_tokens=b.completion_tokens,
            cost_usd=b.cost_usd,
            elapsed_s=b.elapsed_s,
            stopped_by_budget=self.stopped_by_budget,
            **fields,
        )


def _norm(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


def _describe_measurement(metric: Metric, value: float, unit: str) -> str:
    if metric is Metric.EXEC_TIME:
        return f"{value / 1e6:.3f} ms of CPU time per run of the tests"
    if metric is Metric.CPU_UTILIZATION:
        return f"CPU utilization {value:.2f}"
    label = "mean" if metric is Metric.AVG_MEMORY else "peak"
    return f"{label} memory {value / 1024:.1f} KiB allocated while running the tests"


def _verdict_text(v: Any) -> str:
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
    return f"inconclusive {v.metric.label} change ({change:+.1f} %, {ci}, {v.processes} processes)"


class Executor:
    """Starts jobs over the core's ports."""

    def __init__(
        self,
        llm: LLMPort,
        profiler: ProfilerPort,
        memory: MemoryPort,
        pool: Sequence[str],
        *,
        tagger: Tagger | None = None,
        source: str = "user",
    ) -> None:
        self.llm = llm
        self.profiler = profiler
        self.memory = memory
        self.pool = list(pool)
        self.tagger = tagger or Tagger()
        self.source = source

    def start(
        self, task: Task, action: Action, policy: Policy | None = None, budget: Budget | None = None
    ) -> Job:
        job = Job(uuid.uuid4().hex[:12])
        run = _Run(self, job, task, action, policy or Policy(), budget or Budget())
        job._task = asyncio.create_task(self._drive(run), name=f"job-{job.id}")
        return job

    async def _drive(self, run: _Run) -> JobResult:
        job = run.job
        started = time.monotonic()
        try:
            result = await run.run()
            run.emit(ev.JobFinished, success=result.status == "succeeded", summary=result.message)
            return result
        except asyncio.CancelledError:
            run.emit(ev.JobCancelled)
            original = run.task.current_code or ""
            return run.finish("cancelled", "cancelled", original, original)
        except PerfOrchError as exc:
            run.emit(ev.JobFailed, error=str(exc), error_type=type(exc).__name__)
            original = run.task.current_code or ""
            return run.finish("error", str(exc), original, original)
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            run.emit(ev.JobFailed, error=f"internal error: {exc!r}", error_type=type(exc).__name__)
            original = run.task.current_code or ""
            return run.finish("error", f"internal error: {exc!r}", original, original)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.memory.record(run.observations))
            log.debug("job %s took %.1fs", job.id, time.monotonic() - started)
            job._queue.put_nowait(_DONE)
