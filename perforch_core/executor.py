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
from collections.abc import Sequence

from . import describe
from . import events as ev
from .errors import PerfOrchError
from .job import Job
from .models import Action, Stage, Task, TestOutcome
from .policy import DEFAULT_POLICY, Budget, Policy
from .ports import LLMPort, MemoryPort, ModelChooser, ProfilerPort
from .recording import every_call_failed
from .result import Attempt, JobResult, success_message
from .stages import Run
from .tagging import Tagger

__all__ = ["Executor"]

log = logging.getLogger("perforch.executor")


async def _flow(run: Run) -> JobResult:
    """The job: generate (or test the current code), fix when the tests fail, refine for an
    optimization; the result says what happened and what it rests on."""
    task, action = run.task, run.action
    if not task.categories:
        run.task = task = task.model_copy(update={"categories": await run.x.tagger.tag(task)})
    run.emit(
        ev.JobStarted,
        action=action,
        task_id=task.id,
        metric=task.metric if action is Action.OPTIMIZE else None,
        policy=run.policy.kind,
        categories=tuple(c.value for c in task.categories),
    )
    original = task.current_code or ""
    code: str | None = task.current_code
    outcome: TestOutcome | None = None
    accepted_model: str | None = None
    accepted_stage: Stage | None = None
    verdict = None

    if action is Action.GENERATE or code is None:
        code, outcome, model = await run.generate()
        if code is not None and outcome is not None and outcome.passed:
            accepted_model, accepted_stage = model, Stage.GENERATE
        if code is None:
            return run.finish("failed", "no model produced usable code", original, original)
    else:
        outcome = await run.test(code, None, None)
        if outcome.environment:  # no model can change that: say it, spend nothing
            why = outcome.environment
            return run.finish("failed", why, original, original, final_tests=outcome)
        if action is Action.OPTIMIZE and not outcome.passed:
            outcome = await run.set_aside_preexisting(code, outcome)

    assert code is not None and outcome is not None
    if not outcome.passed:
        fixed = await run.fix(code, outcome)
        if fixed is None:
            what = "the generated code" if action is Action.GENERATE else "the function"
            return run.finish(
                "failed",
                f"no model could make {what} pass its tests"
                + (f" ({run.stopped_by_budget})" if run.stopped_by_budget else ""),
                original,
                original,
                final_tests=outcome,
            )
        code, outcome, accepted_model = fixed
        accepted_stage = Stage.FIX
    elif action is Action.FIX:
        return run.finish(
            "succeeded",
            f"the tests already pass ({outcome.summary()}); nothing to fix",
            original,
            original,
            final_tests=outcome,
        )

    if action is Action.OPTIMIZE:
        refined = await run.refine(code)
        refine_attempts = [a for a in run.attempts if a.stage is Stage.REFINE]
        nothing_tried = every_call_failed(refine_attempts)
        if refined is None and nothing_tried:
            # Nothing was tried, so "no significant improvement" would be a false claim.
            return run.finish(
                "failed",
                nothing_tried,
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
            return run.finish(
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
                a.tests for a in reversed(run.attempts) if a.code == code and a.tests is not None
            )
    refine = [a for a in run.attempts if a.stage is Stage.REFINE]
    message = success_message(
        action, accepted_stage, accepted_model, verdict, run.stopped_by_budget, refine
    )
    if accepted_stage is Stage.REFINE and code in run.equivalent:
        message += f"; {describe.equivalence(*run.equivalent[code])}"
    if accepted_model is not None and _norm_code(code) != _norm_code(original):
        await run.explain(accepted_model, original, code, verdict)
    return run.finish(
        "succeeded",
        message,
        original,
        code,
        final_tests=outcome,
        verdict=verdict,
        accepted_model=accepted_model,
        accepted_stage=accepted_stage,
    )


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
        run = Run(self, job, task, action, policy or Policy(), budget or Budget(), chooser)
        job.drive(self._drive(run))
        return job

    async def attempt(
        self,
        task: Task,
        stage: Stage,
        model: str,
        *,
        threshold_pct: float = DEFAULT_POLICY.threshold_pct,
        report: str | None = None,
    ) -> Attempt | None:
        """One model's attempt at one stage, as the studies measure models (the same stages,
        tests and measurement as a job): generate the task's function; fix
        ``task.current_code`` (None when it already passes: nothing to fix); refine
        ``task.current_code`` for ``task.metric`` (``report``: its measurement as the prompt
        says it, when known). Nothing is written to Memory; the model server's and the
        profiler's failures are the attempt's outcome (``llm_error``, ``measure_error``) or
        raised, never a test failure. A unit is the model's first reply: no repair round and
        no second chance (a job's extra calls), so that units measure the model alone."""
        action = {Stage.GENERATE: Action.GENERATE, Stage.FIX: Action.FIX}.get(
            stage, Action.OPTIMIZE
        )
        policy = Policy.pin(
            [model],
            threshold_pct=threshold_pct,
            repair_rounds=0,
            second_chance=False,
            explain=False,
        )
        unlimited = Budget(max_llm_calls=None, max_wall_s=None, max_cost_usd=None)
        run = Run(self, Job(uuid.uuid4().hex[:12]), task, action, policy, unlimited)
        code = task.current_code or ""
        if stage is Stage.GENERATE:
            await run.generate()
        elif stage is Stage.FIX:
            outcome = await run.test(code, None, None)
            if outcome.passed:
                return None
            await run.fix(code, outcome)
        else:
            await run.refine(code, report)
        return run.attempts[-1] if run.attempts else None

    async def _drive(self, run: Run) -> JobResult:
        job = run.job
        started = time.monotonic()
        try:
            result = await _flow(run)
            run.emit(ev.JobFinished, success=result.status == "succeeded", summary=result.message)
            return result
        except asyncio.CancelledError:
            run.emit(ev.JobCancelled)
            return run.unchanged("cancelled", "cancelled")
        except PerfOrchError as exc:
            run.emit(ev.JobFailed, error=str(exc), error_type=type(exc).__name__)
            return run.unchanged("error", str(exc))
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            run.emit(ev.JobFailed, error=f"internal error: {exc!r}", error_type=type(exc).__name__)
            return run.unchanged("error", f"internal error: {exc!r}")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.memory.record(run.log.observations))
            log.debug("job %s took %.1fs", job.id, time.monotonic() - started)
            job.close()


def _norm_code(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())
