"""What refinement measures and tells the models besides the tests: a generated workload
prepared for the task (``workloads.py``), each candidate checked against the original on its
inputs, and the profile feedback the refine prompt carries. Functions over one job's ``Run``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import describe, workloads
from . import events as ev
from .errors import ProfilerError

if TYPE_CHECKING:
    from .stages import Run

log = logging.getLogger("perforch.stages")


async def profile_feedback(run: Run, code: str) -> str:
    """What the refine prompt adds to the measurement: how one call's time grows on the
    generated workload, and the function's hot lines (where the profiler finds them)."""
    text = ""
    w = run.task.workload
    if w is not None and w.growth is not None and w.per_call_ns is not None:
        text += (
            f". On generated inputs of size {w.size} one call takes "
            f"{describe.value(w.per_call_ns, 'ns')}, and its time grows as n^{w.growth:.1f} "
            "with the input's size"
        )
    if not hasattr(run.x.profiler, "hotspots"):
        return text
    try:
        found = await run.x.profiler.hotspots(run.task, code)
    except ProfilerError as exc:
        log.info("no hot spots: %s", exc)
        return text
    if not found.ok or not found.lines:
        return text
    run.emit(ev.HotspotsFound, lines=found.lines)
    rows = "\n".join(
        f"- line {h.offset} of the function, `{h.code}`: {h.share:.0%} of its time, "
        f"run {h.hits:,} times"
        for h in found.lines
    )
    return f"{text}.\nWhere the function's time goes (one run of the workload):\n{rows}"


async def prepare_workload(run: Run, code: str, model: str) -> bool:
    """Give the task a generated workload (``workloads.py``) where one applies; True when
    it got one. What happened is an event either way."""
    project = run.task.tests.project
    if project is not None and project.benchmarks:  # the user's benchmarks come first
        run.emit(
            ev.WorkloadPrepared,
            workload=None,
            detail="they reach the function",
            benchmarks=tuple(b.id for b in project.benchmarks),
        )
        return False
    profiler = workloads.usable_profiler(run.x.profiler)
    if (
        not run.policy.generated_workload
        or profiler is None
        or run.task.workload is not None
        or not workloads.supported(run.task)
    ):
        return False
    left = run.budget.calls_left
    if left is not None and left <= workloads.ATTEMPTS:
        # The generator would take the calls the candidates need.
        detail = (
            f"the budget of {run.budget.budget.max_llm_calls} LLM calls leaves no room "
            "for an input generator"
        )
        run.emit(ev.WorkloadPrepared, workload=None, detail=detail)
        return False
    workload, detail, replies = await workloads.prepare(
        run.x.llm, profiler, workloads.usable_memory(run.x.memory), run.task, code, model
    )
    for reply in replies:
        run.budget.charge(reply.prompt_tokens, reply.completion_tokens, reply.cost_usd)
    if workload is not None and workload.checks_only:
        run.checks = workload  # the tests are measured; these inputs check candidates
        workload = None
    run.emit(ev.WorkloadPrepared, workload=workload, detail=detail)
    if workload is None:
        return False
    run.task = run.task.model_copy(update={"workload": workload})
    return True


async def differs(
    run: Run, code: str, candidate: str, model: str = "", candidate_id: str = ""
) -> str | None:
    """Why ``candidate`` does not behave as ``code`` (None: it does, or there is nothing to
    check it on): on the generated inputs (the measured workload's, else a checks-only
    generator's), then on the arguments the tests call the function with — where a test
    checks less than everything (a length, a property) or not the arguments afterwards."""
    profiler = workloads.usable_profiler(run.x.profiler)
    if profiler is None:
        return None
    checked = [0, 0]  # generated inputs, the tests' inputs
    workload = run.task.workload or run.checks
    if workload is not None:
        why = await _differential(
            run,
            code,
            candidate,
            workload.generator,
            workloads.sizes(workload),
            list(workload.seeds),
            "a generated input",
            checked,
            0,
        )
        if why is not None:
            return why
    generator = await _tests_generator(run, code)
    if generator is not None:
        sizes = list(range(len(run.tests_inputs or ())))
        why = await _differential(
            run, code, candidate, generator, sizes, [0], "an input of its tests", checked, 1
        )
        if why is not None:
            return why
    if any(checked):
        run.equivalent[candidate] = (checked[0], checked[1])
        run.emit(
            ev.EquivalenceChecked,
            model=model,
            candidate_id=candidate_id,
            generated=checked[0],
            tests=checked[1],
        )
    return None


async def _differential(
    run: Run,
    code: str,
    candidate: str,
    generator: str,
    sizes: list[int],
    seeds: list[int],
    where: str,
    checked: list[int] | None = None,
    slot: int = 0,
) -> str | None:
    """Why ``candidate`` differs from ``code`` on ``generator``'s inputs (None: it does not;
    the inputs checked are added to ``checked[slot]``)."""
    profiler = workloads.usable_profiler(run.x.profiler)
    assert profiler is not None
    try:
        result = await profiler.differential(run.task, code, candidate, generator, sizes, seeds)
    except ProfilerError as exc:
        return f"could not be checked against the original: {exc}"
    if result.ok:
        if checked is not None:
            checked[slot] += result.checked
        return None
    if result.mismatch is not None:
        return workloads.describe_mismatch(result.mismatch, where)
    return f"could not be checked against the original: {result.error}"


async def _tests_generator(run: Run, code: str) -> str | None:
    """The arguments the tests call the original with, as a generator (read once per job);
    None where there are none to check on: the profiler does not read them for this kind of
    tests, none is a literal, or the original itself answers them differently from one call
    to the next (it is not deterministic, and no candidate could match it)."""
    if run.tests_inputs is None:
        run.tests_inputs = ()
        inputs = await _read_tests_inputs(run, code)
        if inputs:
            try:
                generator = workloads.tests_generator(inputs)
            except (ValueError, SyntaxError) as exc:  # the profiler's literals are checked
                log.warning("the tests' inputs are not literals: %s", exc)
                return None
            sizes = list(range(len(inputs)))
            why = await _differential(run, code, code, generator, sizes, [0], "its tests' input")
            if why is None:
                run.tests_inputs = inputs
            else:
                log.info("the tests' inputs do not check candidates: the original %s", why)
    if not run.tests_inputs:
        return None
    return workloads.tests_generator(run.tests_inputs)


async def _read_tests_inputs(run: Run, code: str) -> tuple[str, ...]:
    if not hasattr(run.x.profiler, "test_inputs"):
        return ()
    try:
        found = await run.x.profiler.test_inputs(run.task, code)
    except ProfilerError as exc:
        log.info("the tests' inputs were not read: %s", exc)
        return ()
    if not found.ok:
        log.info("the tests' inputs were not read: %s", found.error)
        return ()
    log.info(
        "the tests call %s %d times; %d distinct literal inputs kept (%d not literals)",
        run.task.entry_point,
        found.calls,
        len(found.inputs),
        found.unreadable,
    )
    return tuple(found.inputs)
