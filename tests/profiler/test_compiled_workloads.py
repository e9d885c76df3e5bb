"""Generated workloads for a C++ function, through the real daemon, g++ and the sandbox: the
generator (Python, as in every language) is checked and scaled on the original, which the
measuring program calls one input at a time (``serve``); the comparison then measures on the
generated inputs instead of the two-line test program, and differential testing catches a
candidate the tests let through, naming the smallest input that differs."""

from __future__ import annotations

import pytest

from perforch_core.models import Language, Metric, Task, TestSpec, Workload
from profiler.client import ProfilerClient
from tests.workload_sources import GENERATOR

PREFIX = "#include <algorithm>\n#include <set>\n#include <vector>\n\n"
QUADRATIC = """bool has_duplicates(std::vector<int> items) {
    for (size_t i = 0; i < items.size(); i++)
        for (size_t j = i + 1; j < items.size(); j++)
            if (items[i] == items[j]) return true;
    return false;
}
"""
LINEAR = """bool has_duplicates(std::vector<int> items) {
    std::sort(items.begin(), items.end());
    return std::adjacent_find(items.begin(), items.end()) != items.end();
}
"""
# Passes the tests (which only have neighbouring duplicates), wrong on the generated inputs.
NEIGHBOURS = """bool has_duplicates(std::vector<int> items) {
    for (size_t i = 1; i < items.size(); i++)
        if (items[i] == items[i - 1]) return true;
    return false;
}
"""
THROWS = """bool has_duplicates(std::vector<int> items) {
    if (items.size() > 40) throw std::length_error("too many");
    std::set<int> seen(items.begin(), items.end());
    return seen.size() != items.size();
}
"""
TESTS = """#include <cassert>
int main() {
    assert(has_duplicates({1, 1}));
    assert(!has_duplicates({1, 2, 3}));
    return 0;
}
"""


def task(workload: Workload | None = None) -> Task:
    return Task(
        id="dups.cpp::has_duplicates",
        language=Language.CPP,
        entry_point="has_duplicates",
        signature="bool has_duplicates(std::vector<int> items)",
        prefix=PREFIX,
        tests=TestSpec(kind="program", source=TESTS, origin="dups_test.cpp"),
        workload=workload,
    )


@pytest.fixture
async def client():
    c = ProfilerClient(test_timeout_s=20)
    await c.start()
    yield c
    await c.aclose()


async def test_a_generator_is_scaled_and_the_comparison_measures_its_inputs(
    client: ProfilerClient,
):
    assert (await client.run_tests(task(), QUADRATIC)).passed
    probe = await client.probe_workload(task(), QUADRATIC, GENERATOR, target_ns=2_000_000)
    assert probe.ok and probe.size is not None and probe.ns is not None, probe
    assert probe.ns >= 2_000_000 and probe.size > 64 and not probe.mutates
    sizes = [int(t["size"]) for t in probe.tried]
    assert sizes == sorted(sizes) and sizes[-1] == probe.size
    # quadratic: the cost of a call grows about 4× per doubling at the larger sizes
    costs = [float(t["ns"]) for t in probe.tried]
    assert costs[-1] / costs[-2] > 2.5

    on_tests = await client.compare(task(), QUADRATIC, LINEAR, Metric.EXEC_TIME, 5.0)
    workload = Workload(generator=GENERATOR, size=probe.size, origin="t", per_call_ns=probe.ns)
    on_inputs = await client.compare(task(workload), QUADRATIC, LINEAR, Metric.EXEC_TIME, 5.0)
    assert "generated inputs" in on_inputs.workload
    # On the test program a run costs well under a microsecond's worth of work per call; on the
    # generated inputs (three calls, one per seed) the original costs what the probe scaled it
    # to, and the sorted version wins by far more.
    assert on_tests.before.summary < 50_000 < 3_000_000 < on_inputs.before.summary
    assert on_inputs.decision == "improved" and on_inputs.improvement_pct > 80


async def test_differential_testing_finds_the_smallest_input_that_differs(client: ProfilerClient):
    assert (await client.run_tests(task(), NEIGHBOURS)).passed  # the tests let it through
    same = await client.differential(task(), QUADRATIC, LINEAR, GENERATOR, sizes=[50, 500])
    assert same.ok and same.checked == 6 and same.mismatch is None, same
    wrong = await client.differential(task(), QUADRATIC, NEIGHBOURS, GENERATOR, sizes=[50, 500])
    assert not wrong.ok and wrong.mismatch is not None, wrong
    assert wrong.mismatch.why == "the return values differ"
    assert wrong.mismatch.size == 3  # shrunk from 50: the smallest input with a duplicate
    assert (wrong.mismatch.original, wrong.mismatch.candidate) == ("True", "False")
    raised = await client.differential(task(), QUADRATIC, THROWS, GENERATOR, sizes=[8, 50])
    assert raised.mismatch is not None, raised
    assert raised.mismatch.why == "the original returned, the candidate raised std::length_error"


async def test_inputs_that_do_not_fit_the_parameters_blame_the_generator(client: ProfilerClient):
    strings = "def generate_input(size, rng):\n    return ([str(i) for i in range(size)],)\n"
    probe = await client.probe_workload(task(), QUADRATIC, strings)
    assert not probe.ok and "does not fit the parameter" in (probe.error or ""), probe
    crashes = QUADRATIC.replace("return false;\n}", "return *(volatile int*)0;\n}")
    result = await client.differential(task(), QUADRATIC, crashes, GENERATOR, sizes=[2])
    assert result.mismatch is not None and "a crash (signal" in result.mismatch.candidate, result
