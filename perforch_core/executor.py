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
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from . import describe, projects
from . import events as ev
from .errors import BudgetExceededError, LLMError, PerfOrchError, ProfilerError, StorageError
from .job import DONE, Job
from .llm import parsing, prompts
from .models import Action, Candidate, Stage, Task, TestOutcome, Verdict
from .policy import Budget, BudgetTracker, Policy
from .ports import (
    ChatMessage,
    LLMPort,
    MemoryPort,
    ModelChoice,
    ModelChooser,
    Observation,
    ProfilerPort,
    Sample,
)
from .result import Attempt, AttemptOutcome, JobResult
from .tagging import Tagger

log = logging.getLogger("perforch.executor")


class _StopStage(Exception):
    """The budget ran out: stop asking models in this stage."""


@dataclass(frozen=True)
class _Proposal:
    code: str
    candidate_id: str
    usage: dict[str, Any]


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
        chooser: ModelChooser | None = None,
    ) -> None:
        self.x = executor
        self.chooser = chooser
        self.job = job
        self.task = task
        self.action = action
        self.policy = policy
        self.budget = BudgetTracker(budget)
        self.attempts: list[Attempt] = []
        self.observations: list[Observation] = []
        self.stopped_by_budget: str | None = None

    # -- events ----------------------------------------------------------------------------
    def emit(self, cls: type[BaseModel], **fields: Any) -> None:
        event = cls(job_id=self.job.id, elapsed_s=round(self.budget.elapsed_s, 3), **fields)
        self.job._queue.put_nowait(event)

    # -- building blocks -------------------------------------------------------------------
    async def propose(
        self, stage: Stage, ranked: ev.RankedModel, messages: Sequence[ChatMessage]
    ) -> _Proposal | None:
        """Ask ``ranked.model`` for a candidate. None when it gave no usable code (recorded and
        rolled back); raises ``_StopStage`` when the budget is used up."""
        self.emit(
            ev.ModelChosen, stage=stage, model=ranked.model, score=ranked.score, why=ranked.why
        )
        try:
            self.budget.check()
        except BudgetExceededError as exc:
            self.stopped_by_budget = str(exc)
            raise _StopStage from exc
        try:
            reply = await self.x.llm.complete(ranked.model, messages)
        except LLMError as exc:
            self.emit(ev.LLMReplied, stage=stage, model=ranked.model, ok=False, error=str(exc))
            self.reject(stage, ranked, "llm_error", str(exc), reason=str(exc), usage={})
            return None
        self.budget.charge(reply.prompt_tokens, reply.completion_tokens, reply.cost_usd)
        usage: dict[str, Any] = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "cost_usd": reply.cost_usd,
            "latency_s": reply.latency_s,
        }
        try:
            code = parsing.extract_function(reply.text, self.task, ranked.model)
        except LLMError as exc:
            self.emit(
                ev.LLMReplied, stage=stage, model=ranked.model, ok=False, error=str(exc), **usage
            )
            self.reject(stage, ranked, "no_code", str(exc), reason=str(exc), usage=usage)
            return None
        self.emit(ev.LLMReplied, stage=stage, model=ranked.model, ok=True, **usage)
        cid = Candidate(code=code, model=ranked.model, stage=stage).id
        return _Proposal(code=code, candidate_id=cid, usage=usage)

    async def proposals(
        self, stage: Stage, messages: Sequence[ChatMessage]
    ) -> AsyncIterator[tuple[ev.RankedModel, _Proposal]]:
        """The stage's models in policy order, each with its usable candidate; models without
        one are skipped (recorded by ``propose``); stops when the budget runs out."""
        for ranked in await self.ranking(stage):
            try:
                proposal = await self.propose(stage, ranked, messages)
            except _StopStage:
                return
            if proposal is not None:
                yield ranked, proposal

    def reject(
        self,
        stage: Stage,
        ranked: ev.RankedModel,
        outcome: AttemptOutcome,
        detail: str,
        *,
        reason: str,
        usage: dict[str, Any],
        proposal: _Proposal | None = None,
        **fields: Any,
    ) -> None:
        """Record a failed attempt and announce its rollback."""
        cid = proposal.candidate_id if proposal else None
        self.record(
            Attempt(
                stage=stage,
                model=ranked.model,
                score=ranked.score,
                outcome=outcome,
                detail=detail,
                candidate_id=cid,
                code=proposal.code if proposal else None,
                **usage,
                **fields,
            ),
            False,
        )
        self.emit(ev.RolledBack, stage=stage, model=ranked.model, candidate_id=cid, reason=reason)

    async def passing(
        self, stage: Stage, ranked: ev.RankedModel, proposal: _Proposal
    ) -> TestOutcome | None:
        """Test a proposal; a failing one is recorded and rolled back (None)."""
        result = await self.test(proposal.code, stage, ranked.model)
        if result.passed:
            return result
        self.reject(
            stage,
            ranked,
            "failed_tests",
            result.summary(),
            reason=f"tests failed: {result.summary()}",
            usage=proposal.usage,
            proposal=proposal,
            tests=result,
        )
        return None

    async def test(self, code: str, stage: Stage | None, model: str | None) -> TestOutcome:
        outcome = await self.x.profiler.run_tests(self.task, code)
        project = self.task.tests.project
        if project is not None and project.set_aside:
            aside = tuple(t.id for t in project.set_aside)
            outcome = outcome.model_copy(update={"preexisting": aside})
        cand = Candidate(code=code, model=model, stage=stage)
        self.emit(ev.TestsRun, stage=stage, model=model, candidate_id=cand.id, outcome=outcome)
        return outcome

    async def set_aside_preexisting(self, code: str, outcome: TestOutcome) -> TestOutcome:
        """Optimizing code whose project tests partly fail already: the failing ones are
        pre-existing failures, not a reason to "fix" the function; the rest judge (and the
        tests run again without them). Unchanged when nothing can be set aside."""
        project = self.task.tests.project
        narrowed = projects.set_aside_failing(project, outcome) if project else None
        if narrowed is None:
            return outcome
        tests = self.task.tests.model_copy(update={"project": narrowed})
        self.task = self.task.model_copy(update={"tests": tests})
        return await self.test(code, None, None)

    async def ranking(self, stage: Stage) -> list[ev.RankedModel]:
        metric = self.task.metric if stage is Stage.REFINE else None
        ranked = await self.x.memory.rank(
            stage, self.task.language, self.task.categories, metric, self.x.pool
        )
        self.emit(ev.StageStarted, stage=stage, ranking=tuple(ranked))
        pick = await self.chooser(stage, ranked) if self.chooser and ranked else None
        if not pick:
            return self.policy.choose(stage, ranked)
        # A person chose: that model, and only it, does the stage; the choice is kept in Memory.
        known = {r.model: r for r in ranked}.get(pick)
        why = f"chosen by you ({known.why})" if known else "chosen by you (no Memory data)"
        score = known.score if known else float("nan")
        choice = ModelChoice(
            stage=stage,
            language=self.task.language,
            categories=self.task.categories,
            metric=metric,
            offered_first=ranked[0].model,
            picked=pick,
            problem_id=self.task.id,
        )
        try:
            await self.x.memory.record_choice(choice)
        except StorageError as exc:
            log.warning("%s", exc)
        return [ev.RankedModel(model=pick, score=score, why=why)]

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

    def accept(self, stage: Stage, model: str, code: str, reason: str) -> None:
        cid = Candidate(code=code, model=model, stage=stage).id
        self.emit(ev.CandidateAccepted, stage=stage, model=model, candidate_id=cid, reason=reason)

    # -- stages ----------------------------------------------------------------------------
    async def generate(self) -> tuple[str | None, TestOutcome | None, str | None]:
        """(code, its test outcome, model) of the generated function: the first that passes,
        else the first that produced code, else Nones."""
        first: tuple[str | None, TestOutcome | None, str | None] = (None, None, None)
        stage = Stage.GENERATE
        async for ranked, proposal in self.proposals(stage, prompts.generate(self.task)):
            outcome = await self.test(proposal.code, stage, ranked.model)
            self.record(
                Attempt(
                    stage=stage,
                    model=ranked.model,
                    score=ranked.score,
                    outcome="passed" if outcome.passed else "failed_tests",
                    detail=outcome.summary(),
                    code=proposal.code,
                    tests=outcome,
                    candidate_id=proposal.candidate_id,
                    **proposal.usage,
                ),
                outcome.passed,
            )
            if outcome.passed:
                self.accept(stage, ranked.model, proposal.code, "passes the tests")
                return proposal.code, outcome, ranked.model
            if first[0] is None:
                first = (proposal.code, outcome, ranked.model)
        return first

    async def fix(self, code: str, outcome: TestOutcome) -> tuple[str, TestOutcome, str] | None:
        """The best-ranked passing repair of ``code``, or None."""
        stage = Stage.FIX
        winners: list[tuple[str, TestOutcome, str]] = []
        messages = prompts.fix(self.task, code, outcome.failure_report())
        async for ranked, proposal in self.proposals(stage, messages):
            result = await self.passing(stage, ranked, proposal)
            if result is None:
                continue
            self.record(
                Attempt(
                    stage=stage,
                    model=ranked.model,
                    score=ranked.score,
                    outcome="passed",
                    detail=result.summary(),
                    code=proposal.code,
                    tests=result,
                    candidate_id=proposal.candidate_id,
                    **proposal.usage,
                ),
                True,
            )
            winners.append((proposal.code, result, ranked.model))
            if not self.policy.takes_all:
                break
        if not winners:
            return None
        best = winners[0]
        self.accept(stage, best[2], best[0], f"passes the tests ({best[1].summary()})")
        return best

    async def refine(self, code: str) -> tuple[str, Verdict, str] | None:
        """The accepted refinement of ``code`` (largest significant gain under best_of_n, the
        first one otherwise), or None: then ``code`` stays."""
        metric, stage = self.task.metric, Stage.REFINE

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
            report = describe.measurement(metric, base.summary, base.unit)
        except ProfilerError as exc:
            report = f"not available ({exc})"
        messages = prompts.refine(self.task, code, metric, report)
        winners: list[tuple[str, Verdict, str]] = []
        seen = {_norm(code)}
        async for ranked, proposal in self.proposals(stage, messages):
            usage = proposal.usage
            if _norm(proposal.code) in seen:
                self.reject(
                    stage,
                    ranked,
                    "unchanged",
                    "returned code already tried",
                    reason="no change to the code",
                    usage=usage,
                    proposal=proposal,
                )
                continue
            seen.add(_norm(proposal.code))
            result = await self.passing(stage, ranked, proposal)
            if result is None:
                continue
            try:
                verdict = await self.x.profiler.compare(
                    self.task, code, proposal.code, metric, self.policy.threshold_pct, on_sample
                )
            except ProfilerError as exc:
                self.reject(
                    stage,
                    ranked,
                    "measure_error",
                    str(exc),
                    reason=f"could not measure: {exc}",
                    usage=usage,
                    proposal=proposal,
                    tests=result,
                )
                continue
            self.emit(
                ev.Measured,
                stage=stage,
                model=ranked.model,
                candidate_id=proposal.candidate_id,
                verdict=verdict,
            )
            if not verdict.improved:
                self.reject(
                    stage,
                    ranked,
                    verdict.decision,
                    describe.verdict(verdict),
                    reason=describe.verdict(verdict),
                    usage=usage,
                    proposal=proposal,
                    tests=result,
                    verdict=verdict,
                )
                continue
            self.record(
                Attempt(
                    stage=stage,
                    model=ranked.model,
                    score=ranked.score,
                    outcome="improved",
                    detail=describe.verdict(verdict),
                    code=proposal.code,
                    tests=result,
                    verdict=verdict,
                    candidate_id=proposal.candidate_id,
                    **usage,
                ),
                True,
                verdict.improvement_pct,
            )
            winners.append((proposal.code, verdict, ranked.model))
            if not self.policy.takes_all:
                break
        if not winners:
            return None
        best = max(winners, key=lambda w: w[1].improvement_pct)
        self.accept(stage, best[2], best[0], describe.verdict(best[1]))
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
            if action is Action.OPTIMIZE and not outcome.passed:
                outcome = await self.set_aside_preexisting(code, outcome)

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
            unmeasured = [a for a in refine_attempts if a.outcome == "measure_error"]
            if refined is None and unmeasured and not any(a.verdict for a in refine_attempts):
                # A candidate passed its tests but nothing could be measured: "no significant
                # improvement" would claim a measurement that did not happen.
                return self.finish(
                    "failed",
                    f"no candidate could be measured; first error: {unmeasured[0].detail}",
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
                return f"{describe.verdict(verdict)} by {model}{budget}"
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
        self,
        task: Task,
        action: Action,
        policy: Policy | None = None,
        budget: Budget | None = None,
        *,
        chooser: ModelChooser | None = None,
    ) -> Job:
        """Start a job; ``chooser`` (a person, through the editor) may pick each stage's model
        from the Memory's ranking."""
        job = Job(uuid.uuid4().hex[:12])
        run = _Run(self, job, task, action, policy or Policy(), budget or Budget(), chooser)
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
            job._queue.put_nowait(DONE)
