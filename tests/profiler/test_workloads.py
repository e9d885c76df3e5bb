"""Generated workloads through the real daemon and sandbox (Python): a generator is checked and
scaled on the original, the comparison measures on its inputs instead of the tiny doctest, and
differential testing catches a candidate the tests let through."""

from __future__ import annotations

import pytest

from perforch_core.models import Language, Metric, Task, TestSpec, Workload
from profiler.client import ProfilerClient
from tests.workload_sources import GENERATOR, LINEAR, QUADRATIC

# The doctest's two examples pass; it only looks at neighbours.
NEIGHBOURS = """def has_duplicates(items):
    return any(a == b for a, b in zip(items, items[1:]))
"""
DOCTEST = ">>> has_duplicates([1, 1])\nTrue\n>>> has_duplicates([1, 2, 3])\nFalse\n"


def task(workload: Workload | None = None) -> Task:
    return Task(
        id="t::has_duplicates",
        language=Language.PYTHON,
        entry_point="has_duplicates",
        module="dups",
        signature="def has_duplicates(items):",
        tests=TestSpec(kind="doctest", source=DOCTEST, origin="t"),
        workload=workload,
    )


@pytest.fixture
async def client():
    c = ProfilerClient(test_timeout_s=10)
    await c.start()
    yield c
    await c.aclose()


async def test_a_generator_is_scaled_and_the_comparison_measures_its_inputs(
    client: ProfilerClient,
):
    probe = await client.probe_workload(task(), QUADRATIC, GENERATOR, target_ns=3_000_000)
    assert probe.ok and probe.size is not None and probe.ns is not None, probe
    assert probe.ns >= 3_000_000 and probe.size > 8 and not probe.mutates
    sizes = [int(t["size"]) for t in probe.tried]
    assert sizes == sorted(sizes) and sizes[-1] == probe.size

    on_tests = await client.compare(task(), QUADRATIC, LINEAR, Metric.EXEC_TIME, 5.0)
    workload = Workload(generator=GENERATOR, size=probe.size, origin="t", per_call_ns=probe.ns)
    on_inputs = await client.compare(task(workload), QUADRATIC, LINEAR, Metric.EXEC_TIME, 5.0)
    # On the doctest (two and three items) a call costs microseconds; on the generated inputs
    # the original costs what the probe scaled it to, and the linear version wins by far more.
    assert on_tests.before.summary < 100_000 < 1_000_000 < on_inputs.before.summary
    assert on_inputs.decision == "improved"
    assert on_inputs.improvement_pct > max(50.0, on_tests.improvement_pct)


async def test_differential_testing_finds_the_smallest_input_that_differs(client: ProfilerClient):
    assert (await client.run_tests(task(), NEIGHBOURS)).passed  # the tests let it through
    same = await client.differential(task(), QUADRATIC, LINEAR, GENERATOR, sizes=[50, 500])
    assert same.ok and same.checked == 6 and same.mismatch is None
    wrong = await client.differential(task(), QUADRATIC, NEIGHBOURS, GENERATOR, sizes=[50, 500])
    assert not wrong.ok and wrong.mismatch is not None, wrong
    assert wrong.mismatch.why == "the return values differ"
    assert wrong.mismatch.size == 3  # shrunk from 50: the smallest input with a duplicate
    assert (wrong.mismatch.original, wrong.mismatch.candidate) == ("True", "False")


async def test_a_broken_generator_and_a_hanging_candidate_are_reported(client: ProfilerClient):
    # os.urandom: the random module would be seeded for it (as a generator drawing from it is)
    flaky = "import os\ndef generate_input(size, rng):\n    return (list(os.urandom(8)),)\n"
    probe = await client.probe_workload(task(), LINEAR, flaky)
    assert not probe.ok and "not deterministic" in (probe.error or ""), probe
    hangs = "def has_duplicates(items):\n    while True:\n        pass\n"
    result = await client.differential(task(), QUADRATIC, hangs, GENERATOR, [10], timeout_s=3)
    assert not result.ok and result.mismatch is None and result.error, result


async def test_a_pytest_projects_function_is_probed_checked_measured_and_scaled(
    client: ProfilerClient,
):
    """words.py imports a sibling relatively (``from ._text import normalize``): the module is
    imported from the project's copy, the candidate runs as its twin, and the measurement
    uses the generated inputs instead of the project's tests."""
    from pathlib import Path

    from perforch_core import complexity, source

    path = Path(__file__).resolve().parents[1] / "fixtures/projects/python/intervalkit"
    task = source.task_from_file(path / "src/intervalkit/words.py", "has_duplicates")
    assert task.tests.kind == "project"
    code = task.current_code or ""
    probe = await client.probe_workload(task, code, GENERATOR, target_ns=3_000_000)
    assert probe.ok and probe.size is not None and probe.ns is not None, probe
    workload = Workload(generator=GENERATOR, size=probe.size, origin="t", per_call_ns=probe.ns)
    task = task.model_copy(update={"workload": workload})

    diff = await client.differential(task, code, NEIGHBOURS, GENERATOR, [0, 1, 2, 3, 5, 8])
    assert not diff.ok and diff.mismatch is not None and diff.mismatch.size == 3, diff

    verdict = await client.compare(task, code, LINEAR, Metric.EXEC_TIME, 5.0)
    assert verdict.decision == "improved" and verdict.improvement_pct > 50, verdict
    assert verdict.before.summary > 1_000_000  # ms per run: the scaled inputs, not the tests

    sizes = complexity.sizes(workload)
    scaled = await client.scaling(task, code, LINEAR, GENERATOR, sizes, [1, 2, 3], Metric.EXEC_TIME)
    assert scaled.ok, scaled
    evidence = complexity.evidence(Metric.EXEC_TIME, scaled, workload.size)
    assert evidence.exponent_before is not None and evidence.exponent_before > 1.6, evidence
    assert evidence.exponent_after is not None and evidence.exponent_after < 1.4, evidence


async def test_a_pytest_projects_tests_inputs_are_read_from_its_selected_tests(
    client: ProfilerClient,
):
    """intervalkit's tests call has_duplicates with fixtures, parametrized cases and from a
    unittest class: every call's arguments are read, the duplicates once; on them a candidate
    that only looks at neighbours differs from the original."""
    from pathlib import Path

    from perforch_core import source, workloads

    path = Path(__file__).resolve().parents[1] / "fixtures/projects/python/intervalkit"
    task = source.task_from_file(path / "src/intervalkit/words.py", "has_duplicates")
    code = task.current_code or ""
    found = await client.test_inputs(task, code)
    assert found.ok and found.unreadable == 0, found
    assert found.calls == len(found.inputs) == 8  # 2 with the fixture, 5 cases, 1 unittest
    assert {"([],)", "([1, 1],)", "(['a', 'b', 'a'],)", "([[1], [2], [1]],)"} <= set(found.inputs)
    generator = workloads.tests_generator(found.inputs)
    sizes = list(range(len(found.inputs)))
    diff = await client.differential(task, code, NEIGHBOURS, generator, sizes, [0])
    assert not diff.ok and diff.mismatch is not None, diff
    assert diff.mismatch.why == "the return values differ"


async def test_the_hot_lines_are_the_quadratic_inner_loop(client: ProfilerClient):
    """Profile feedback: on its workload, the original's time is in the inner loop's two lines
    (offsets 2 and 3 after the def line), with their executions per run."""
    workload = Workload(generator=GENERATOR, size=300, origin="t")
    found = await client.hotspots(task(workload), QUADRATIC)
    assert found.ok and found.lines, found
    top = found.lines[:2]
    assert {h.offset for h in top} == {2, 3}, found.lines
    assert sum(h.share for h in top) > 0.6
    assert all(h.hits > 10_000 for h in top)  # ~300²/2 per input, three inputs
    assert "items[i] == items[j]" in {h.offset: h.code for h in top}[3]


# HumanEval's shape: check(candidate) asserting on a few calls; it reads the result only.
MEDIAN_CHECK = """def check(candidate):
    assert candidate([3, 1, 2]) == 2
    assert candidate([5, 4, 1, 2, 3]) == 3
    assert candidate([7]) == 7
    assert candidate([3, 1, 2]) == 2
"""
MEDIAN = "def median(xs):\n    return sorted(xs)[len(xs) // 2]\n"
SORTS_IN_PLACE = "def median(xs):\n    xs.sort()\n    return xs[len(xs) // 2]\n"


def median_task(kind: str = "check", source: str = MEDIAN_CHECK) -> Task:
    return Task(
        id="t::median",
        language=Language.PYTHON,
        entry_point="median",
        module="stats_mod",
        signature="def median(xs):",
        tests=TestSpec(kind=kind, source=source, origin="t"),
    )


async def test_the_tests_inputs_are_read_and_catch_a_candidate_the_tests_let_through(
    client: ProfilerClient,
):
    """The arguments of the tests' calls, read before each call runs, distinct, as literals;
    on them the candidate that sorts its argument in place (its tests pass: they never look
    at the argument again) differs from the original."""
    from perforch_core import workloads

    found = await client.test_inputs(median_task(), MEDIAN)
    assert found.ok, found
    assert found.inputs == ("([3, 1, 2],)", "([5, 4, 1, 2, 3],)", "([7],)")
    assert found.calls == 4 and found.unreadable == 0
    assert (await client.run_tests(median_task(), SORTS_IN_PLACE)).passed
    generator = workloads.tests_generator(found.inputs)
    sizes = list(range(len(found.inputs)))
    same = await client.differential(median_task(), MEDIAN, MEDIAN, generator, sizes, [0])
    assert same.ok and same.checked == 3, same
    wrong = await client.differential(median_task(), MEDIAN, SORTS_IN_PLACE, generator, sizes, [0])
    assert not wrong.ok and wrong.mismatch is not None, wrong
    assert "mutates its input" in wrong.mismatch.why and wrong.mismatch.input == "([3, 1, 2],)"


async def test_the_tests_inputs_of_doctests_and_objects(client: ProfilerClient):
    """Doctest examples are read the same way; an argument that is no literal (an object) is
    counted and not kept."""
    doctest = ">>> median([2, 9, 4])\n4\n>>> median(range(3))\n1\n"
    found = await client.test_inputs(median_task("doctest", doctest), MEDIAN)
    assert found.ok and found.inputs == ("([2, 9, 4],)",), found
    assert found.calls == 2 and found.unreadable == 1


LAZY = """def pairs(items):
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            yield items[i], items[j]
"""
LAZY_FASTER = "import itertools\n\ndef pairs(items):\n    return itertools.combinations(items, 2)\n"
PAIRS_GENERATOR = (
    "def generate_input(size, rng):\n    return ([rng.randint(0, 9) for _ in range(size)],)\n"
)


async def test_a_lazy_function_is_measured_on_what_drawing_its_result_costs(
    client: ProfilerClient,
):
    """A generator function returns at once; its work is in the drawing. The probe scales the
    inputs on the drawing's cost and the comparison times it (milliseconds a call, not the
    microsecond a generator object costs)."""
    lazy = Task(
        id="t::pairs",
        language=Language.PYTHON,
        entry_point="pairs",
        module="pairs_mod",
        signature="def pairs(items):",
        tests=TestSpec(kind="doctest", source=">>> list(pairs([1, 2]))\n[(1, 2)]\n", origin="t"),
    )
    probe = await client.probe_workload(lazy, LAZY, PAIRS_GENERATOR, target_ns=3_000_000)
    assert probe.ok and probe.size is not None and probe.ns is not None, probe
    assert probe.ns >= 3_000_000 and probe.size > 64
    workload = Workload(
        generator=PAIRS_GENERATOR, size=probe.size, origin="t", per_call_ns=probe.ns
    )
    lazy = lazy.model_copy(update={"workload": workload})
    same = await client.differential(lazy, LAZY, LAZY_FASTER, PAIRS_GENERATOR, [0, 5, 50])
    assert same.ok, same
    verdict = await client.compare(lazy, LAZY, LAZY_FASTER, Metric.EXEC_TIME, 5.0)
    assert verdict.before.summary > 1_000_000, verdict  # ns per run: the drawing, timed
