"""The Executor over fake ports: stages, policies, rollback, budgets, cancellation, events."""

from __future__ import annotations

import asyncio
import json

import pytest

from perforch_core import describe
from perforch_core import events as ev
from perforch_core.errors import LLMAuthError, ProfilerUnavailableError
from perforch_core.executor import Executor
from perforch_core.models import Action, Stage
from perforch_core.policy import Budget, Policy
from tests.fakes import FakeLLM, FakeMemory, FakeProfiler, block, make_task

A, B, C = "m/a", "m/b", "m/c"


def executor(replies, order=(A, B, C), delay=0.0):
    llm = FakeLLM(replies, delay=delay)
    prof = FakeProfiler()
    mem = FakeMemory(order)
    return Executor(llm, prof, mem, list(order)), llm, prof, mem


async def run(x, task, action, policy=None, budget=None, explain=False):
    """The job's result and events; no explanation call unless ``explain`` (the scripts here
    are about the stages)."""
    policy = (policy or Policy()).model_copy(update={"explain": explain})
    job = x.start(task, action, policy, budget)
    events = [e async for e in job]
    return await job.result(), events


async def test_fix_accepts_first_passing_candidate_in_rank_order():
    x, llm, _, mem = executor(
        {
            A: [block("    return x  # BUG still")],
            B: [block("    return x + 1")],
            C: [block("    return 2")],
        }
    )
    result, events = await run(x, make_task(), Action.FIX)
    assert result.status == "succeeded"
    assert result.accepted_model == B and result.accepted_stage is Stage.FIX
    assert "return x + 1" in result.final_code
    assert [m for m, _ in llm.calls] == [A, B]  # C never asked: sequential stops
    assert [o.success for o in mem.recorded] == [False, True]
    kinds = [e.kind for e in events]
    assert kinds[0] == "job_started" and kinds[-1] == "job_finished"
    assert "rolled_back" in kinds and "candidate_accepted" in kinds


async def test_fix_reports_failure_with_every_model_tried():
    x, _, _, _ = executor(
        {
            A: ["no code here"],
            B: [block("    return x  # BUG")],
            C: [LLMAuthError("m/c: key missing", model=C)],
        }
    )
    result, _ = await run(x, make_task(), Action.FIX)
    assert result.status == "failed"
    assert not result.changed
    assert [a.outcome for a in result.attempts] == ["no_code", "failed_tests", "llm_error"]
    assert "key missing" in result.attempts[2].detail


async def test_fix_when_tests_already_pass_changes_nothing():
    x, llm, _, _ = executor({})
    result, _ = await run(x, make_task("def f(x):\n    return x + 1\n"), Action.FIX)
    assert result.status == "succeeded" and not result.changed
    assert "already pass" in result.message
    assert llm.calls == []


async def test_refine_rolls_back_until_a_measured_improvement():
    good = "def f(x):\n    return x + 1\n"
    x, _, prof, mem = executor(
        {
            A: [block("    return x + 1  # FAST2 ")],
            B: [block("    return x  # BUG FAST50 ")],
            C: [block("    return 1 + x  # FAST30 ")],
        }
    )
    no_retries = Policy(repair_rounds=0, second_chance=False)
    result, events = await run(x, make_task(good), Action.OPTIMIZE, no_retries)
    assert result.status == "succeeded"
    assert result.accepted_model == C and result.verdict is not None
    assert result.verdict.improvement_pct == 30.0
    assert [a.outcome for a in result.attempts] == ["not_improved", "failed_tests", "improved"]
    # The buggy-but-"fast" candidate was never measured: tests come first.
    assert all("BUG" not in cand for _, cand in prof.compared)
    refine_obs = [o for o in mem.recorded if o.stage is Stage.REFINE]
    assert [o.improvement_pct for o in refine_obs] == [None, None, 30.0]
    assert any(isinstance(e, ev.MeasurementSample) for e in events)


async def test_a_refine_candidate_that_fails_gets_a_repair_round_with_the_failure():
    good = "def f(x):\n    return x + 1\n"
    x, llm, _, _ = executor(
        {A: [block("    return x  # BUG FAST50 "), block("    return x + 1  # FAST40 ")]},
        order=(A,),
    )
    result, events = await run(x, make_task(good), Action.OPTIMIZE)
    assert result.accepted_model == A and result.verdict is not None
    assert [(a.outcome, a.retry) for a in result.attempts] == [
        ("failed_tests", ""),
        ("improved", "repair"),
    ]
    assert result.llm_calls == 2
    repair = llm.calls[1][1]
    assert repair[-2].role == "assistant" and "BUG" in repair[-2].content  # its own candidate
    assert repair[-1].content.startswith("That version is not usable: it fails the tests")
    chosen = [e for e in events if isinstance(e, ev.ModelChosen)]
    assert chosen[-1].why == "repair round: told why its candidate was rolled back"


async def test_an_unchanged_reply_gets_one_second_chance_and_repairs_are_bounded():
    good = 'def f(x):\n    """Return x + 1."""\n    return x + 1\n'  # as replies parse
    x, llm, _, _ = executor(
        {
            A: [block("    return x + 1"), block("    return x + 1")],  # unchanged twice
            B: [block("    return x  # BUG "), block("    return x - 1  # BUG ")],
            C: [block("    return x + 1"), block("    return 1 + x  # FAST25 ")],
        }
    )
    result, _ = await run(x, make_task(good), Action.OPTIMIZE)
    assert result.accepted_model == C and result.verdict is not None
    assert [(a.model, a.outcome, a.retry) for a in result.attempts] == [
        (A, "unchanged", ""),
        (A, "unchanged", "second_chance"),  # one second chance only
        (B, "failed_tests", ""),
        (B, "failed_tests", "repair"),  # one repair round by default
        (C, "unchanged", ""),
        (C, "improved", "second_chance"),
    ]
    assert result.llm_calls == 6
    assert "That is the original function, unchanged" in llm.calls[1][1][-1].content


async def test_refine_without_improvement_keeps_the_original():
    good = "def f(x):\n    return x + 1\n"
    x, _, _, _ = executor(
        {
            A: [block("    return x + 1  # FAST1 ")],
            B: [block("    return x+1")],
            C: [block("    return x+1")],
        }
    )
    result, _ = await run(x, make_task(good), Action.OPTIMIZE)
    assert result.status == "succeeded" and not result.changed
    assert "no significant improvement" in result.message
    assert result.attempts[-1].outcome == "unchanged"  # C repeated B's code: not re-measured


async def test_best_of_n_asks_all_and_keeps_the_largest_gain():
    good = "def f(x):\n    return x + 1\n"
    x, llm, _, _ = executor(
        {
            A: [block("    return x + 1  # FAST10 ")],
            B: [block("    return 1 + x  # FAST40 ")],
            C: [block("    return (x + 1)  # FAST20 ")],
        }
    )
    result, _ = await run(x, make_task(good), Action.OPTIMIZE, Policy(kind="best_of_n", n=3))
    assert len(llm.calls) == 3
    assert result.accepted_model == B


async def test_top1_asks_only_the_top_model():
    x, llm, _, _ = executor({A: [block("    return x  # BUG")], B: [block("    return x + 1")]})
    result, _ = await run(x, make_task(), Action.FIX, Policy(kind="top1"))
    assert [m for m, _ in llm.calls] == [A]
    assert result.status == "failed"


async def test_pinned_policy_uses_the_named_models_in_order():
    x, llm, _, _ = executor({C: [block("    return x + 1")]})
    result, events = await run(x, make_task(), Action.FIX, Policy.pin([C]))
    assert [m for m, _ in llm.calls] == [C]
    assert result.accepted_model == C
    chosen = [e for e in events if isinstance(e, ev.ModelChosen)]
    assert chosen[0].model == C


async def test_generate_then_fix_when_the_generated_code_fails():
    x, llm, _, _ = executor(
        {
            A: [block("    return x  # BUG"), block("    return x + 1")],
            B: [block("    return x + 1")],
        }
    )
    result, _ = await run(x, make_task(None), Action.GENERATE)
    assert result.status == "succeeded" and result.accepted_stage is Stage.FIX
    assert [m for m, _ in llm.calls] == [A, A]  # generate: top-1; fix: top-5 from the top


async def test_generate_keeps_the_stub_as_the_original_it_replaces():
    """The front ends hand generate the function as it is (a stub): the result's original is
    that text, so --apply and the editor's edit compare with what is really in the file."""
    stub = 'def f(x):\n    """Return x + 1."""\n    raise NotImplementedError\n'
    x, llm, _, _ = executor({A: [block("    return x + 1")]})
    result, _ = await run(x, make_task(stub), Action.GENERATE)
    assert result.status == "succeeded" and result.accepted_stage is Stage.GENERATE
    assert result.original_code == stub and result.changed
    assert "return x + 1" in result.final_code
    assert [m for m, _ in llm.calls] == [A]  # the stub is neither tested nor fixed


async def test_call_budget_stops_the_job_with_a_clear_reason():
    x, llm, _, _ = executor({A: [block("    return x  # BUG")], B: [block("    return x + 1")]})
    result, _ = await run(x, make_task(), Action.FIX, budget=Budget(max_llm_calls=1))
    assert len(llm.calls) == 1
    assert result.status == "failed"
    assert result.stopped_by_budget and "1 LLM calls" in result.stopped_by_budget


async def test_cancel_ends_the_job_cleanly_mid_llm_call():
    x, _, _, _ = executor({A: [block("    return x + 1")]}, delay=30)
    job = x.start(make_task(), Action.FIX)
    seen = []

    async def consume():
        async for e in job:
            seen.append(e)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    job.cancel()
    result = await asyncio.wait_for(job.result(), 5)
    await asyncio.wait_for(consumer, 5)
    assert result.status == "cancelled" and not result.changed
    assert seen[-1].kind == "job_cancelled"


async def test_every_event_round_trips_through_json():
    good = "def f(x):\n    return x + 1\n"
    x, _, _, _ = executor({A: [block("    return 1 + x  # FAST30 ")]})
    _, events = await run(x, make_task(good), Action.OPTIMIZE)
    for e in events:
        back = ev.event_from_json(e.model_dump_json())
        assert back == e
        json.loads(e.model_dump_json())


async def test_a_profiler_that_dies_mid_step_is_said_and_the_step_runs_again():
    """The daemon dies while a candidate is tested and again while one is measured: each time
    the job says so and the step runs once more (the client starts a new daemon); a third
    death in the same step would fail it."""
    x, _, prof, _ = executor({A: [block("    return x + 1  # FAST30 ")]}, order=(A,))
    real_tests, real_compare = prof.run_tests, prof.compare
    deaths = {"tests": 1, "compare": 1}

    async def run_tests(t, code):
        if "FAST30" in code and deaths["tests"]:
            deaths["tests"] -= 1
            raise ProfilerUnavailableError("the profiler daemon exited (code -9)")
        return await real_tests(t, code)

    async def compare(*args, **kwargs):
        if deaths["compare"]:
            deaths["compare"] -= 1
            raise ProfilerUnavailableError("the profiler daemon exited (code -9)")
        return await real_compare(*args, **kwargs)

    prof.run_tests, prof.compare = run_tests, compare  # type: ignore[method-assign]
    result, events = await run(x, make_task("def f(x):\n    return x + 1\n"), Action.OPTIMIZE)
    assert result.status == "succeeded" and result.changed, result.message
    restarts = [e for e in events if e.kind == "profiler_restarted"]
    assert [r.during for r in restarts] == [
        f"testing {A}'s candidate",
        f"measuring {A}'s candidate",
    ]
    line = describe.event(restarts[0]).line or ""
    assert "died while testing" in line and "code -9" in line and "runs again" in line


@pytest.mark.parametrize("action", [Action.FIX, Action.OPTIMIZE])
async def test_a_crashing_port_becomes_a_job_failed_event(action):
    class Broken(FakeProfiler):
        async def run_tests(self, task, code):
            raise RuntimeError("boom")

    x = Executor(FakeLLM({}), Broken(), FakeMemory([A]), [A])
    job = x.start(make_task(), action)
    events = [e async for e in job]
    result = await job.result()
    assert result.status == "error" and "boom" in result.message
    assert events[-1].kind == "job_failed"


async def test_optimize_whose_candidates_all_fail_says_none_was_measured():
    """ "No significant improvement" is a measurement; when every candidate failed its tests
    nothing was measured, and the message says what happened instead."""
    good = "def f(x):\n    return x + 1\n"
    x, _, _, _ = executor(
        {A: [block("    return x  # BUG")], B: [block("    return x - 1  # BUG")], C: []}
    )
    result, _ = await run(x, make_task(good), Action.OPTIMIZE)
    assert result.status == "succeeded" and not result.changed
    assert result.message.startswith("no candidate was measured (2 failed the tests"), (
        result.message
    )
    assert result.message.endswith(": the code is unchanged")


async def test_optimize_with_no_model_answering_fails_instead_of_claiming_no_gain():
    from perforch_core.errors import LLMUnavailableError

    good = "def f(x):\n    return x + 1\n"
    x, _, _, _ = executor(
        {
            A: [LLMUnavailableError("server down", model=A)],
            B: [LLMUnavailableError("server down", model=B)],
            C: [LLMUnavailableError("server down", model=C)],
        }
    )
    result, _ = await run(x, make_task(good), Action.OPTIMIZE)
    assert result.status == "failed"
    assert "every model call failed" in result.message and "server down" in result.message


async def test_optimize_whose_candidates_cannot_be_measured_fails_instead_of_claiming_no_gain():
    """A candidate passed its tests but the profiler could not measure it (a project whose
    tests skip themselves, a harness error): nothing was compared, so no "no significant
    improvement"."""
    from perforch_core.errors import HarnessError

    good = "def f(x):\n    return x + 1\n"
    x, _, prof, _ = executor({A: [block("    return x + 1  # FAST30 ")]}, order=(A,))

    async def cannot(*args, **kwargs):
        raise HarnessError("every selected test was skipped: nothing to measure")

    prof.compare = cannot  # type: ignore[method-assign]
    result, _ = await run(x, make_task(good), Action.OPTIMIZE)
    assert result.status == "failed" and not result.changed
    assert result.message == (
        "no candidate could be measured; first error: every selected test was skipped: "
        "nothing to measure"
    )


async def test_optimize_sets_aside_a_project_tests_preexisting_failure_and_never_fixes():
    from perforch_core.models import ProjectSpec, TestCase, TestFailure, TestOutcome, TestSpec

    good = "def f(x):\n    return x + 1\n"
    spec = ProjectSpec(
        kind="pytest",
        root="/p",
        file="m.py",
        tests=(
            TestCase(id="tests/test_m.py::test_f", file="tests/test_m.py", found_by="calls f"),
            TestCase(id="tests/test_m.py::test_g", file="tests/test_m.py", found_by="calls g → f"),
        ),
    )
    task = make_task(good).model_copy(
        update={"tests": TestSpec(kind="project", source="", origin="p", project=spec)}
    )
    x, _, prof, _ = executor({A: [block("    return x + 1  # FAST30 ")]}, order=(A,))
    real = prof.run_tests

    async def run_tests(t, code):
        ids = [c.id for c in t.tests.project.tests]
        if "tests/test_m.py::test_g" in ids:  # g's own bug: fails whatever f does
            return TestOutcome(
                passed=False,
                total=2,
                failures=(TestFailure(name="tests.test_m.test_g", message="g is wrong"),),
            )
        return await real(t, code)

    prof.run_tests = run_tests  # type: ignore[method-assign]
    result, events = await run(x, task, Action.OPTIMIZE)
    assert result.status == "succeeded" and result.changed, result.message
    assert {a.stage for a in result.attempts} == {Stage.REFINE}  # no fix was asked for
    assert result.final_tests is not None
    assert result.final_tests.preexisting == ("tests/test_m.py::test_g",)
    runs = [e for e in events if e.kind == "tests_run" and e.model is None]
    assert [r.outcome.passed for r in runs] == [False, True]


@pytest.mark.parametrize("action", [Action.OPTIMIZE, Action.FIX])
async def test_tests_that_cannot_run_for_want_of_dependencies_end_the_job_without_a_model(
    action: Action,
):
    """A project whose dependencies are not cached fails the same whatever the code: no model
    is asked to "fix" it (found on agnivade/levenshtein with an empty module cache)."""
    from perforch_core.models import TestOutcome

    why = "the project's dependencies are not in the Go module cache, and there is no network"
    x, llm, prof, _ = executor({A: [block("    return x + 1")]}, order=(A,))

    async def run_tests(t, code):
        return TestOutcome(passed=False, error=f"{why}\nmkdir …: read-only", environment=why)

    prof.run_tests = run_tests  # type: ignore[method-assign]
    result, _ = await run(x, make_task("def f(x):\n    return x\n"), action)
    assert result.status == "failed" and not result.changed
    assert result.message == why
    assert result.attempts == () and llm.calls == []


async def test_llm_tagging_keeps_categories_a_majority_names():
    from perforch_core.models import Category
    from perforch_core.tagging import Tagger

    llm = FakeLLM({"t/1": ["array, sorting"], "t/2": ["Array, math"], "t/3": ["array"]})
    cats = await Tagger(llm, ["t/1", "t/2", "t/3"]).tag(make_task(categories=()))
    assert cats == (Category.ARRAY,)


async def test_tagging_falls_back_to_keywords_when_no_model_answers():
    from perforch_core.models import Category
    from perforch_core.tagging import Tagger

    task = make_task(categories=(), description="Count the primes below n in the list.")
    cats = await Tagger(FakeLLM({}), ["t/down"]).tag(task)
    assert Category.NUMBER_THEORY in cats and Category.COUNTING in cats


async def test_a_persons_pick_runs_the_stage_alone_and_is_recorded_in_memory():
    x, llm, _, mem = executor(
        {
            A: [block("    return x + 1")],
            B: [block("    return x  # BUG")],
            C: [block("    return 2")],
        }
    )
    offered: list[list[str]] = []

    async def choose(stage, ranking):
        offered.append([r.model for r in ranking])
        return C

    job = x.start(make_task(), Action.FIX, Policy(explain=False), chooser=choose)
    events = [e async for e in job]
    result = await job.result()
    assert offered == [[A, B, C]]  # the Memory's ranking, best first
    assert [m for m, _ in llm.calls] == [C]  # only the pick was asked
    assert result.accepted_model == C
    chosen = next(e for e in events if e.kind == "model_chosen")
    assert chosen.model == C and chosen.why.startswith("chosen by you")
    assert [(c.stage, c.offered_first, c.picked) for c in mem.choices] == [(Stage.FIX, A, C)]


async def test_declining_to_pick_leaves_the_policy_in_charge():
    x, _, _, mem = executor({A: [block("    return x + 1")]})

    async def decline(stage, ranking):
        return None

    job = x.start(make_task(), Action.FIX, chooser=decline)
    _ = [e async for e in job]
    assert (await job.result()).accepted_model == A
    assert mem.choices == []


async def test_a_reply_cut_off_at_its_token_limit_is_said_so_and_long_functions_get_room():
    from tests.fakes import TRUNCATED

    body = "\n".join(f"    y{i} = x + {i}" for i in range(200)) + "\n    return x + 1\n"
    long = f"def f(x):\n{body}"
    x, llm, _, _ = executor(
        {A: [TRUNCATED + '```python\ndef f(x):\n    """Return x + 1.\n    y = ']}, order=(A,)
    )
    result, _ = await run(x, make_task(long), Action.OPTIMIZE, Policy(repair_rounds=0))
    (attempt,) = result.attempts
    assert attempt.outcome == "no_code"
    assert attempt.detail.startswith("the reply was cut off at its token limit (5 tokens)")
    assert llm.min_tokens[0] is not None and llm.min_tokens[0] > len(long) / 3  # room for it


async def test_an_accepted_change_is_explained_in_its_models_words():
    good = "def f(x):\n    return x + 1\n"
    x, llm, _, _ = executor(
        {A: [block("    return x + 1  # FAST30 "), "It adds one ```x``` once. It is faster."]},
        order=(A,),
    )
    result, events = await run(x, make_task(good), Action.OPTIMIZE, explain=True)
    assert result.explanation is not None and result.explanation.model == A
    assert result.explanation.text == "It adds one once. It is faster."  # no code in it
    assert "Measured: exec time" in llm.calls[-1][1][-1].content
    assert result.llm_calls == 2
    (said,) = [e for e in events if isinstance(e, ev.Explained)]
    assert describe.event(said).line == f"{A} says (its words): It adds one once. It is faster."
    # No change accepted, nothing to explain.
    x, llm, _, _ = executor({A: [block("    return x + 1  # FAST1 ")]}, order=(A,))
    result, _ = await run(x, make_task(good), Action.OPTIMIZE, explain=True)
    assert result.explanation is None and len(llm.calls) == 1
