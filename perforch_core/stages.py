"""One job's stages while it runs (:class:`Run`): asking the ranked models, taking their
candidates, testing, measuring, accepting or rolling back, each step announced as an event and
recorded (``recording.py``); the job's flow over them is ``executor.py``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from . import caching, complexity, describe, languages, projects, refine_inputs
from . import events as ev
from .errors import (
    BudgetExceededError,
    LLMError,
    LLMReplyError,
    ProfilerError,
    ProfilerUnavailableError,
    StorageError,
)
from .job import Job
from .llm import parsing, prompts
from .models import Action, Candidate, Scaling, Stage, Task, TestOutcome, Verdict, Workload
from .policy import Budget, BudgetTracker, Policy
from .ports import (
    ChatMessage,
    ModelChoice,
    ModelChooser,
    ProfilerPort,
    Sample,
)
from .recording import Proposal, Recorder, every_call_failed
from .result import Attempt, AttemptOutcome, Explanation, JobResult

T = TypeVar("T")

if TYPE_CHECKING:
    from .executor import Executor

log = logging.getLogger("perforch.stages")


class _StopStage(Exception):
    """The budget ran out: stop asking models in this stage."""


def reply_tokens(task: Task) -> int:
    """Tokens a reply may need: the function's length (about 3 characters a token) and half
    again for changes, at least the model's usual limit is kept by the gateway."""
    return int(len(task.current_code or task.signature) / 3 * 1.5) + 256


RETRY_WHY = {
    "repair": "repair round: told why its candidate was rolled back",
    "second_chance": "second chance: told it returned the code unchanged",
}


class Run:
    """State of one job while it runs, and the stages it runs."""

    def __init__(
        self,
        executor: Executor,  # the ports and the model pool
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
        self.log = Recorder(executor.source)
        self.stopped_by_budget: str | None = None
        self.scaling: Scaling | None = None  # complexity evidence for the accepted refinement
        self.explanation: Explanation | None = None  # the accepting model's own words
        self.checks: Workload | None = None  # a generator that only checks candidates
        self.tests_inputs: tuple[str, ...] | None = None  # the tests' calls (None: not read yet)
        # Candidates that matched the original: code → (generated inputs, the tests' inputs).
        self.equivalent: dict[str, tuple[int, int]] = {}

    @property
    def attempts(self) -> list[Attempt]:
        return self.log.attempts

    # -- events ----------------------------------------------------------------------------
    def emit(self, cls: type[BaseModel], **fields: Any) -> None:
        event = cls(job_id=self.job.id, elapsed_s=round(self.budget.elapsed_s, 3), **fields)
        self.job.publish(event)

    # -- building blocks -------------------------------------------------------------------
    async def propose(
        self,
        stage: Stage,
        ranked: ev.RankedModel,
        messages: Sequence[ChatMessage],
        retry: str = "",
    ) -> Proposal | None:
        """Ask ``ranked.model`` for a candidate (``retry``: again, after its failed or
        unchanged candidate). None when it gave no usable code (recorded and rolled back);
        raises ``_StopStage`` when the budget is used up."""
        why = RETRY_WHY.get(retry, ranked.why)
        self.emit(ev.ModelChosen, stage=stage, model=ranked.model, score=ranked.score, why=why)
        marks: dict[str, Any] = {"retry": retry} if retry else {}
        try:
            self.budget.check()
        except BudgetExceededError as exc:
            self.stopped_by_budget = str(exc)
            raise _StopStage from exc
        try:
            reply = await self.x.llm.complete(
                ranked.model, messages, min_tokens=reply_tokens(self.task)
            )
        except LLMError as exc:
            self.emit(ev.LLMReplied, stage=stage, model=ranked.model, ok=False, error=str(exc))
            self.reject(stage, ranked, "llm_error", str(exc), reason=str(exc), usage={}, **marks)
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
            if reply.truncated:  # the cause, not the parse error it leads to
                exc = LLMReplyError(
                    f"the reply was cut off at its token limit ({reply.completion_tokens} "
                    f"tokens) before the code ended ({exc})",
                    model=ranked.model,
                )
            self.emit(
                ev.LLMReplied, stage=stage, model=ranked.model, ok=False, error=str(exc), **usage
            )
            self.reject(stage, ranked, "no_code", str(exc), reason=str(exc), usage=usage, **marks)
            return None
        self.emit(ev.LLMReplied, stage=stage, model=ranked.model, ok=True, **usage)
        cid = Candidate(code=code, model=ranked.model, stage=stage).id
        return Proposal(code=code, candidate_id=cid, usage=usage)

    async def proposals(
        self,
        stage: Stage,
        messages: Sequence[ChatMessage],
        ranking: Sequence[ev.RankedModel] | None = None,
    ) -> AsyncIterator[tuple[ev.RankedModel, Proposal]]:
        """The stage's models in policy order (``ranking``, when the stage has it already),
        each with its usable candidate; models without one are skipped (recorded by
        ``propose``); stops when the budget runs out."""
        for ranked in ranking if ranking is not None else await self.ranking(stage):
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
        proposal: Proposal | None = None,
        **fields: Any,
    ) -> None:
        """Record a failed attempt and announce its rollback."""
        self.log.add(
            self.task,
            stage,
            ranked,
            outcome,
            detail,
            success=False,
            proposal=proposal,
            usage=usage,
            **fields,
        )
        cid = proposal.candidate_id if proposal else None
        self.emit(ev.RolledBack, stage=stage, model=ranked.model, candidate_id=cid, reason=reason)

    async def passing(
        self, stage: Stage, ranked: ev.RankedModel, proposal: Proposal, **marks: Any
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
            **marks,
        )
        return None

    async def survive_profiler_death(self, during: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``; if the profiler daemon dies during it, say so and call it once more (the
        client starts a new daemon on the next request)."""
        try:
            return await call()
        except ProfilerUnavailableError as exc:
            self.emit(ev.ProfilerRestarted, during=during, detail=str(exc))
            return await call()

    async def test(self, code: str, stage: Stage | None, model: str | None) -> TestOutcome:
        who = f"{model}'s candidate" if model else "your code"
        outcome = await self.survive_profiler_death(
            f"testing {who}", lambda: self.x.profiler.run_tests(self.task, code)
        )
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
            self.log.add(
                self.task,
                stage,
                ranked,
                "passed" if outcome.passed else "failed_tests",
                outcome.summary(),
                success=outcome.passed,
                proposal=proposal,
                tests=outcome,
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
            self.log.add(
                self.task,
                stage,
                ranked,
                "passed",
                result.summary(),
                success=True,
                proposal=proposal,
                tests=result,
            )
            winners.append((proposal.code, result, ranked.model))
            if not self.policy.takes_all:
                break
        if not winners:
            return None
        best = winners[0]
        self.accept(stage, best[2], best[0], f"passes the tests ({best[1].summary()})")
        return best

    async def refine(self, code: str, report: str | None = None) -> tuple[str, Verdict, str] | None:
        """The accepted refinement of ``code`` (largest significant gain under best_of_n, the
        first one otherwise), or None: then ``code`` stays. ``report``: the baseline's
        measurement as the prompt says it, when the caller has it already."""
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

        ranking = await self.ranking(stage)
        if ranking and await refine_inputs.prepare_workload(self, code, ranking[0].model):
            report = None  # the baseline again, on the workload
        if report is None:
            report = await baseline_report(self.x.profiler, self.task, code)
        if self.policy.profile_feedback:
            report += await refine_inputs.profile_feedback(self, code)
        messages = prompts.refine(self.task, code, metric, report)
        winners: list[tuple[str, Verdict, str]] = []
        seen = {_norm(code)}

        async def judge(ranked: ev.RankedModel, proposal: Proposal, retry: str) -> str | None:
            """Test, check and measure one candidate; a winner joins ``winners``. Returns what
            a retry of the same model would be told ("unchanged", or why it failed), None
            when there is nothing to retry."""
            usage, marks = proposal.usage, dict[str, Any](retry=retry)
            if _norm(proposal.code) in seen:
                same = _norm(proposal.code) == _norm(code)
                why = "returned the code unchanged" if same else "returned code already tried"
                self.reject(
                    stage,
                    ranked,
                    "unchanged",
                    why,
                    reason="no change to the code",
                    usage=usage,
                    proposal=proposal,
                    **marks,
                )
                return "unchanged" if same else None
            seen.add(_norm(proposal.code))
            result = await self.passing(stage, ranked, proposal, **marks)
            if result is None:
                failed = self.attempts[-1].tests
                return f"it fails the tests:\n{failed.failure_report() if failed else ''}"
            differs = await refine_inputs.differs(
                self, code, proposal.code, ranked.model, proposal.candidate_id
            )
            if differs is not None:
                self.reject(
                    stage,
                    ranked,
                    "differs",
                    differs,
                    reason=differs,
                    usage=usage,
                    proposal=proposal,
                    tests=result,
                    **marks,
                )
                return f"it {differs}"
            try:
                verdict = await self.survive_profiler_death(
                    f"measuring {ranked.model}'s candidate",
                    lambda: self.x.profiler.compare(
                        self.task, code, proposal.code, metric, self.policy.threshold_pct, on_sample
                    ),
                )
                verdict = caching.guarded(
                    languages.support(self.task.language), code, proposal.code, verdict
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
                    **marks,
                )
                return None
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
                    **marks,
                )
                return None
            self.log.add(
                self.task,
                stage,
                ranked,
                "improved",
                describe.verdict(verdict),
                success=True,
                proposal=proposal,
                improvement_pct=verdict.improvement_pct,
                tests=result,
                verdict=verdict,
                **marks,
            )
            winners.append((proposal.code, verdict, ranked.model))
            return None

        async for ranked, proposal in self.proposals(stage, messages, ranking):
            conversation, retry, repairs, second = list(messages), "", 0, False
            while True:
                feedback = await judge(ranked, proposal, retry)
                if feedback is None:
                    break
                if feedback == "unchanged":
                    if second or not self.policy.second_chance:
                        break
                    second, retry = True, "second_chance"
                    conversation = prompts.second_chance(
                        self.task, conversation, proposal.code, metric
                    )
                else:
                    if repairs >= self.policy.repair_rounds:
                        break
                    repairs, retry = repairs + 1, "repair"
                    conversation = prompts.repair(
                        self.task, conversation, proposal.code, feedback, metric
                    )
                try:
                    again = await self.propose(stage, ranked, conversation, retry=retry)
                except _StopStage:
                    break
                if again is None:
                    break
                proposal = again
            if winners and not self.policy.takes_all:
                break
        if not winners:
            return None
        best = max(winners, key=lambda w: w[1].improvement_pct)
        self.accept(stage, best[2], best[0], describe.verdict(best[1]))
        if self.task.workload is not None:
            self.scaling, why = await complexity.measure(self.x.profiler, self.task, code, best[0])
            self.emit(ev.ScalingMeasured, scaling=self.scaling, detail=why)
        return best

    async def explain(self, model: str, before: str, after: str, verdict: Verdict | None) -> None:
        """One short paragraph from the model whose change was accepted: what changed and
        why (shown as the model's words, beside the measurement). Skipped when the policy or
        the budget has no room; a failed call is only logged."""
        if not self.policy.explain or self.budget.calls_left == 0:
            return
        evidence = describe.verdict(verdict) if verdict is not None else ""
        why = (
            f"uses less {self.task.metric.label}"
            if self.action is Action.OPTIMIZE
            else "now passes the tests"
        )
        if self.action is Action.GENERATE:
            why = "does what the function must do"
        try:
            self.budget.check()
            reply = await self.x.llm.complete(
                model, prompts.explain(self.task, before, after, evidence, why)
            )
        except (LLMError, BudgetExceededError) as exc:
            log.info("no explanation: %s", exc)
            return
        self.budget.charge(reply.prompt_tokens, reply.completion_tokens, reply.cost_usd)
        text = " ".join(parsing.prose(reply.text).split())[:1200]
        if text:
            self.explanation = Explanation(model=model, text=text)
            self.emit(ev.Explained, model=model, text=text)

    def unchanged(self, status: Any, message: str) -> JobResult:
        """The result of a job that ended before changing the code."""
        original = self.task.current_code or ""
        return self.finish(status, message, original, original)

    def finish(
        self, status: Any, message: str, original: str, final: str, **fields: Any
    ) -> JobResult:
        b = self.budget
        if status == "failed":
            message = every_call_failed(self.attempts) or message
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
            scaling=self.scaling,
            workload=self.task.workload,
            explanation=self.explanation,
            **fields,
        )


def _norm(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


async def baseline_report(profiler: ProfilerPort, task: Task, code: str) -> str:
    """The code's measurement for the task's metric as the refine prompt says it."""
    try:
        base = await profiler.measure(task, code, task.metric)
    except ProfilerError as exc:
        return f"not available ({exc})"
    return describe.measurement(task.metric, base.summary, base.unit)
