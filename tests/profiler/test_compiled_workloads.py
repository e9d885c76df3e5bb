"""Generated workloads for compiled functions (C++, Go, Java, Rust), through the real daemon,
toolchains and sandbox: the generator (Python, as in every language) is checked and scaled on
the original, which the measuring program calls one input at a time (``serve``); the
comparison then measures on the generated inputs instead of the tiny tests, and differential
testing catches a candidate the tests let through, naming the smallest input that differs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from perforch_core.models import Language, Metric, Task, TestSpec, Workload
from profiler.client import ProfilerClient
from tests.workload_sources import GENERATOR


@dataclass(frozen=True)
class Sources:
    entry: str
    signature: str
    prefix: str
    quadratic: str
    linear: str
    neighbours: str  # passes the tests (neighbouring duplicates only), wrong on the inputs
    raises: str  # raises beyond 40 items
    raised: str  # … what the user is told it raised
    crashes: str  # kills the program where there is no duplicate
    tests: str


CPP = Sources(
    entry="has_duplicates",
    signature="bool has_duplicates(std::vector<int> items)",
    prefix="#include <algorithm>\n#include <set>\n#include <vector>\n\n",
    quadratic="""bool has_duplicates(std::vector<int> items) {
    for (size_t i = 0; i < items.size(); i++)
        for (size_t j = i + 1; j < items.size(); j++)
            if (items[i] == items[j]) return true;
    return false;
}
""",
    linear="""bool has_duplicates(std::vector<int> items) {
    std::sort(items.begin(), items.end());
    return std::adjacent_find(items.begin(), items.end()) != items.end();
}
""",
    neighbours="""bool has_duplicates(std::vector<int> items) {
    for (size_t i = 1; i < items.size(); i++)
        if (items[i] == items[i - 1]) return true;
    return false;
}
""",
    raises="""bool has_duplicates(std::vector<int> items) {
    if (items.size() > 40) throw std::length_error("too many");
    std::set<int> seen(items.begin(), items.end());
    return seen.size() != items.size();
}
""",
    raised="std::length_error",
    crashes="""bool has_duplicates(std::vector<int> items) {
    for (size_t i = 0; i < items.size(); i++)
        for (size_t j = i + 1; j < items.size(); j++)
            if (items[i] == items[j]) return true;
    return *(volatile int*)0;
}
""",
    tests="""#include <cassert>
int main() {
    assert(has_duplicates({1, 1}));
    assert(!has_duplicates({1, 2, 3}));
    return 0;
}
""",
)

GO = Sources(
    entry="HasDuplicates",
    signature="func HasDuplicates(items []int) bool",
    prefix='package main\n\nimport (\n\t"testing"\n)\n\n',
    quadratic="""func HasDuplicates(items []int) bool {
	for i := 0; i < len(items); i++ {
		for j := i + 1; j < len(items); j++ {
			if items[i] == items[j] {
				return true
			}
		}
	}
	return false
}
""",
    linear="""func HasDuplicates(items []int) bool {
	seen := make(map[int]bool, len(items))
	for _, x := range items {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}
""",
    neighbours="""func HasDuplicates(items []int) bool {
	for i := 1; i < len(items); i++ {
		if items[i] == items[i-1] {
			return true
		}
	}
	return false
}
""",
    raises="""func HasDuplicates(items []int) bool {
	if len(items) > 40 {
		panic("too many")
	}
	seen := map[int]bool{}
	for _, x := range items {
		seen[x] = true
	}
	return len(seen) != len(items)
}
""",
    raised="panic(string)",
    crashes="""func HasDuplicates(items []int) bool {
	for i := 0; i < len(items); i++ {
		for j := i + 1; j < len(items); j++ {
			if items[i] == items[j] {
				return true
			}
		}
	}
	done := make(chan bool)
	go func() { panic("a goroutine's panic ends the program") }()
	return <-done
}
""",
    tests="""func TestHasDuplicates(t *testing.T) {
	if !HasDuplicates([]int{1, 1}) {
		t.Fatal("1 1 has a duplicate")
	}
	if HasDuplicates([]int{1, 2, 3}) {
		t.Fatal("1 2 3 has none")
	}
}
""",
)

JAVA = Sources(
    entry="hasDuplicates",
    signature="public boolean hasDuplicates(List<Integer> items)",
    # "class of" in a comment: a name the driver tries and skips (it does not load)
    prefix="import java.util.*;\n\n// Duplicates: the class of lists with a repeated item.\n"
    "class Solution {\n",
    quadratic="""    public boolean hasDuplicates(List<Integer> items) {
        for (int i = 0; i < items.size(); i++)
            for (int j = i + 1; j < items.size(); j++)
                if (items.get(i).equals(items.get(j))) return true;
        return false;
    }
""",
    linear="""    public boolean hasDuplicates(List<Integer> items) {
        return new HashSet<>(items).size() != items.size();
    }
""",
    neighbours="""    public boolean hasDuplicates(List<Integer> items) {
        for (int i = 1; i < items.size(); i++)
            if (items.get(i).equals(items.get(i - 1))) return true;
        return false;
    }
""",
    raises="""    public boolean hasDuplicates(List<Integer> items) {
        if (items.size() > 40) throw new IllegalArgumentException("too many");
        return new HashSet<>(items).size() != items.size();
    }
""",
    raised="java.lang.IllegalArgumentException",
    crashes="""    public boolean hasDuplicates(List<Integer> items) {
        for (int i = 0; i < items.size(); i++)
            for (int j = i + 1; j < items.size(); j++)
                if (items.get(i).equals(items.get(j))) return true;
        Runtime.getRuntime().halt(3);
        return false;
    }
""",
    tests="""public class Main {
    public static void main(String[] args) {
        Solution s = new Solution();
        if (!s.hasDuplicates(new ArrayList<>(List.of(1, 1)))) throw new AssertionError("1 1");
        if (s.hasDuplicates(new ArrayList<>(List.of(1, 2, 3)))) throw new AssertionError("1 2 3");
    }
}
""",
)

RUST = Sources(
    entry="has_duplicates",
    signature="fn has_duplicates(items: &[i64]) -> bool",
    prefix="use std::collections::HashSet;\n\n",
    quadratic="""fn has_duplicates(items: &[i64]) -> bool {
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            if items[i] == items[j] {
                return true;
            }
        }
    }
    false
}
""",
    linear="""fn has_duplicates(items: &[i64]) -> bool {
    let seen: HashSet<i64> = items.iter().copied().collect();
    seen.len() != items.len()
}
""",
    neighbours="""fn has_duplicates(items: &[i64]) -> bool {
    items.windows(2).any(|w| w[0] == w[1])
}
""",
    raises="""fn has_duplicates(items: &[i64]) -> bool {
    assert!(items.len() <= 40, "too many");
    let seen: HashSet<i64> = items.iter().copied().collect();
    seen.len() != items.len()
}
""",
    raised="panic",
    crashes="""fn has_duplicates(items: &[i64]) -> bool {
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            if items[i] == items[j] {
                return true;
            }
        }
    }
    std::process::abort()
}
""",
    tests="""
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_has_duplicates() {
        assert!(has_duplicates(&[1, 1]));
        assert!(!has_duplicates(&[1, 2, 3]));
    }
}
""",
)

SOURCES = {Language.CPP: CPP, Language.GO: GO, Language.JAVA: JAVA, Language.RUST: RUST}


def task(language: Language, workload: Workload | None = None) -> Task:
    s = SOURCES[language]
    return Task(
        id=f"dups::{s.entry}",
        language=language,
        entry_point=s.entry,
        signature=s.signature,
        prefix=s.prefix,
        suffix="}\n" if language is Language.JAVA else "",
        tests=TestSpec(kind="program", source=s.tests, origin="the file's tests"),
        workload=workload,
    )


@pytest.mark.parametrize("language", list(SOURCES))
async def test_a_generator_is_scaled_and_the_comparison_measures_its_inputs(
    client: ProfilerClient, language: Language
):
    s, t = SOURCES[language], task(language)
    assert (await client.run_tests(t, s.quadratic)).passed
    probe = await client.probe_workload(t, s.quadratic, GENERATOR, target_ns=2_000_000)
    assert probe.ok and probe.size is not None and probe.ns is not None, probe
    assert probe.ns >= 2_000_000 and probe.size > 64 and not probe.mutates
    sizes = [int(x["size"]) for x in probe.tried]
    assert sizes == sorted(sizes) and sizes[-1] == probe.size

    on_tests = await client.compare(t, s.quadratic, s.linear, Metric.EXEC_TIME, 5.0)
    workload = Workload(generator=GENERATOR, size=probe.size, origin="t", per_call_ns=probe.ns)
    on_inputs = await client.compare(
        task(language, workload), s.quadratic, s.linear, Metric.EXEC_TIME, 5.0
    )
    assert "generated inputs" in on_inputs.workload
    # On the tests a run is a few small calls; on the generated inputs (one call per seed) the
    # original costs what the probe scaled it to, and the linear version wins by far more.
    assert on_tests.before.summary < 200_000 < 3_000_000 < on_inputs.before.summary
    assert on_inputs.decision == "improved" and on_inputs.improvement_pct > 80


@pytest.mark.parametrize("language", list(SOURCES))
async def test_differential_testing_finds_the_smallest_input_that_differs(
    client: ProfilerClient, language: Language
):
    s, t = SOURCES[language], task(language)
    assert (await client.run_tests(t, s.neighbours)).passed  # the tests let it through
    same = await client.differential(t, s.quadratic, s.linear, GENERATOR, sizes=[50, 500])
    assert same.ok and same.checked == 6 and same.mismatch is None, same
    wrong = await client.differential(t, s.quadratic, s.neighbours, GENERATOR, sizes=[50, 500])
    assert not wrong.ok and wrong.mismatch is not None, wrong
    assert wrong.mismatch.why == "the return values differ"
    assert wrong.mismatch.size == 3  # shrunk from 50: the smallest input with a duplicate
    assert (wrong.mismatch.original, wrong.mismatch.candidate) == ("True", "False")
    raised = await client.differential(t, s.quadratic, s.raises, GENERATOR, sizes=[8, 50])
    assert raised.mismatch is not None, raised
    assert raised.mismatch.why == f"the original returned, the candidate raised {s.raised}"


@pytest.mark.parametrize("language", list(SOURCES))
async def test_inputs_that_do_not_fit_blame_the_generator_and_a_crash_is_a_difference(
    client: ProfilerClient, language: Language
):
    s, t = SOURCES[language], task(language)
    strings = "def generate_input(size, rng):\n    return ([str(i) for i in range(size)],)\n"
    probe = await client.probe_workload(t, s.quadratic, strings)
    assert not probe.ok and "does not fit the parameter" in (probe.error or ""), probe
    # size 2: no duplicate, so the crashing line is reached
    result = await client.differential(t, s.quadratic, s.crashes, GENERATOR, sizes=[2])
    assert result.mismatch is not None and "a crash (" in result.mismatch.candidate, result


async def test_a_call_that_never_returns_is_stopped_and_the_probe_settles_below_it(
    client: ProfilerClient,
):
    """Past 100 items the function spins forever: the probe stops the call at its cap (1 s),
    kills the measuring program (started again for the next call) and bisects the sizes
    between the last that ran and it, instead of running into its own timeout."""
    spins = """bool has_duplicates(std::vector<int> items) {
    volatile unsigned long spin = 0;
    while (items.size() > 100) spin = spin + 1;
    std::set<int> seen(items.begin(), items.end());
    return seen.size() != items.size();
}
"""
    t = task(Language.CPP)
    probe = await client.probe_workload(t, spins, GENERATOR, target_ns=2_000_000)
    assert probe.ok and probe.size is not None, probe
    sizes = [int(x["size"]) for x in probe.tried]
    assert 64 < probe.size <= 100 and 128 not in sizes, sizes


async def test_inputs_that_cannot_grow_are_measured_thousands_at_a_time(client: ProfilerClient):
    """Five items at every size: the calls cost the same however large the size, and nothing
    in the input can grow, so the measuring program gets thousands of different inputs (it
    reads them all before it times anything) instead of three it would time in nanoseconds."""
    five = "def generate_input(size, rng):\n    return ([rng.randrange(9) for _ in range(5)],)\n"
    s, t = CPP, task(Language.CPP)
    probe = await client.probe_workload(t, s.quadratic, five, target_ns=2_000_000, sizes=(8, 512))
    # A call reads ~1.5 µs through the serving program (its clock reads included): thousands.
    assert probe.ok and probe.size == 8 and probe.inputs is not None, probe
    assert 1000 < probe.inputs <= 4096, probe
    seeds = tuple(range(1, probe.inputs + 1))
    workload = Workload(generator=five, size=8, seeds=seeds, origin="t", per_call_ns=probe.ns)
    verdict = await client.compare(
        task(Language.CPP, workload), s.quadratic, s.linear, Metric.EXEC_TIME, 5.0
    )
    assert f"× {probe.inputs} seeds" in verdict.workload and verdict.before.summary > 0, verdict


async def test_a_go_modules_function_is_probed_checked_and_measured_in_the_module(
    client: ProfilerClient,
):
    """A function in a package of a Go module (an internal package and an unexported helper
    beside it, an external test package, a go.mod older than the driver's language): the
    measuring program is built in a copy of the module, with the package copied twice, and
    measures the generated inputs instead of the package's four-item tests. The user's tree
    is not written."""
    from pathlib import Path

    from perforch_core import source, workloads
    from perforch_core.errors import HarnessError

    root = Path(__file__).resolve().parents[1] / "fixtures/projects/go/setkit"
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    t = source.task_from_file(root / "sets/sets.go", "HasDuplicates")
    assert t.tests.kind == "project" and t.tests.project is not None
    code = t.current_code or ""
    # Its test's 300 subtests print 28 KB under -v, more than the sandbox keeps of a run's
    # output: the test's result is read from the whole output (go-edlib read 4 of 7 tests).
    tested = await client.run_tests(t, code)
    assert tested.passed and tested.total == 1, tested
    probe = await client.probe_workload(t, code, GENERATOR, target_ns=2_000_000)
    assert probe.ok and probe.size is not None and probe.ns is not None, probe
    assert probe.ns >= 2_000_000 and probe.size > 64 and not probe.mutates

    wrong = await client.differential(t, code, GO.neighbours, GENERATOR, sizes=[50, 500])
    assert wrong.mismatch is not None and wrong.mismatch.size == 3, wrong
    assert (wrong.mismatch.original, wrong.mismatch.candidate) == ("True", "False")

    workload = Workload(generator=GENERATOR, size=probe.size, origin="t", per_call_ns=probe.ns)
    verdict = await client.compare(
        t.model_copy(update={"workload": workload}), code, GO.linear, Metric.EXEC_TIME, 5.0
    )
    assert "generated inputs" in verdict.workload and "copied twice" in verdict.method
    assert verdict.before.summary > 3_000_000  # ns per run: the scaled inputs, not the tests
    assert verdict.decision == "improved" and verdict.improvement_pct > 80, verdict

    # A method is measured by its tests: no generator is asked for, and the profiler says why.
    add = source.task_from_file(root / "sets/sets.go", "Add")
    assert workloads.supported(t) and not workloads.supported(add)
    with pytest.raises(HarnessError, match="is a method"):
        await client.probe_workload(add, add.current_code or "", GENERATOR)
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == before


WORDS = """def generate_input(size, rng):
    words = [f"word{n}" for n in rng.sample(range(10 * size + 10), size)]
    if size > 2:
        words[-3] = words[-1].upper()  # the same word twice, in capitals first
    return (words,)
"""
DISTINCT_BY_HASH = """public static int countDistinct(List<String> words) {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (String w : words) {
        seen.add(Normalizer.key(w));
    }
    return seen.size();
}
"""


async def test_a_maven_projects_method_is_probed_checked_and_measured_beside_its_classes(
    client: ProfilerClient,
):
    """A method of a Maven project (a helper class beside it, a dependency from the user's
    repository): the project is built twice and the measuring program loads each version's
    classes through a class loader of its own; a candidate that forgets the case of a word
    passes nothing wrong through differential testing."""
    from pathlib import Path

    from perforch_core import source, workloads

    root = Path(__file__).resolve().parents[1] / "fixtures/projects/java/wordstats"
    path = root / "src/main/java/com/example/wordstats/WordStats.java"
    t = source.task_from_file(path, "countDistinct")
    assert t.tests.kind == "project" and workloads.supported(t)
    code = t.current_code or ""
    probe = await client.probe_workload(t, code, WORDS, target_ns=2_000_000)
    assert probe.ok and probe.size is not None and probe.ns is not None, probe
    assert probe.ns >= 2_000_000 and probe.size > 64

    careless = code.replace("seen.add(key);", "seen.add(w);")
    wrong = await client.differential(t, code, careless, WORDS, sizes=[50, 500])
    assert wrong.mismatch is not None and wrong.mismatch.size == 3, wrong

    workload = Workload(generator=WORDS, size=probe.size, origin="t", per_call_ns=probe.ns)
    verdict = await client.compare(
        t.model_copy(update={"workload": workload}), code, DISTINCT_BY_HASH, Metric.EXEC_TIME, 5.0
    )
    assert "generated inputs" in verdict.workload and "class loader" in verdict.method
    assert verdict.decision == "improved" and verdict.improvement_pct > 80, verdict


DEDUP_BY_SORT = """pub fn dedup_sorted(v: &[i64]) -> Vec<i64> {
    let mut out = v.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}
"""


async def test_a_cargo_crates_function_is_probed_checked_and_measured_in_its_test_binary(
    client: ProfilerClient,
):
    """A function in a module of a Cargo crate (a dependency, criterion as a dev-dependency,
    unit tests beside it): the candidate's version and the measuring program are appended to
    a copy of its file as test modules, the crate's test binary is built with --release, and
    it measures the generated inputs instead of the crate's tests."""
    from pathlib import Path

    from perforch_core import source, workloads

    root = Path(__file__).resolve().parents[1] / "fixtures/projects/rust/numkit"
    before = (root / "src/stats.rs").read_text()
    t = source.task_from_file(root / "src/stats.rs", "dedup_sorted")
    assert t.tests.kind == "project" and workloads.supported(t)
    code = t.current_code or ""
    probe = await client.probe_workload(t, code, GENERATOR, target_ns=2_000_000)
    assert probe.ok and probe.size is not None and probe.ns is not None, probe
    assert probe.ns >= 2_000_000 and probe.size > 64

    unsorted = DEDUP_BY_SORT.replace("    out.sort_unstable();\n", "")
    wrong = await client.differential(t, code, unsorted, GENERATOR, sizes=[50, 500])
    assert wrong.mismatch is not None and wrong.mismatch.size == 2, wrong

    workload = Workload(generator=GENERATOR, size=probe.size, origin="t", per_call_ns=probe.ns)
    verdict = await client.compare(
        t.model_copy(update={"workload": workload}), code, DEDUP_BY_SORT, Metric.EXEC_TIME, 5.0
    )
    assert "generated inputs" in verdict.workload and "--release" in verdict.method
    assert verdict.decision == "improved" and verdict.improvement_pct > 80, verdict
    assert (root / "src/stats.rs").read_text() == before
