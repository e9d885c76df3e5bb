"""The user's own projects (tests/fixtures/projects/, in the layouts real repositories have),
run through the real daemon with the real toolchains: the tests that exercise a function pass
on the user's code, fail with the failing test named when the function is broken, fail with
the compiler's first error line when it does not build; a clearly better candidate measures
as improved; the user's tree is never written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from perforch_core import source
from perforch_core.llm.parsing import extract_function
from perforch_core.models import Metric
from profiler.client import ProfilerClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


@dataclass(frozen=True)
class Case:
    kind: str
    file: str
    function: str
    bug: tuple[str, str]  # breaks the behaviour, still builds
    typo: tuple[str, str]  # does not build
    build_error: str  # what the first error line says
    faster: str  # a reply with a clearly faster version (imports and helpers included)


CASES = {
    "pytest": Case(
        "pytest",
        "python/intervalkit/src/intervalkit/words.py",
        "has_duplicates",
        ("return True", "return False"),
        ("if items[i] == items[j]:", "if items[i] == items[j]"),
        "SyntaxError",
        "import itertools\n\ndef has_duplicates(items):\n"
        "    try:\n        return len(set(items)) != len(items)\n    except TypeError:\n"
        "        return any(a == b for a, b in itertools.combinations(items, 2))\n",
    ),
    "go": Case(
        "go",
        "go/textstats/words.go",
        "TopWords",
        ("counts[a] < counts[b]", "counts[a] > counts[b]"),
        ("words[j], words[j+1] = b, a", "words[j], words[j+1] = b, undefinedName"),
        "undefined: undefinedName",
        'import "sort"\n\nfunc before(counts map[string]int, a, b string) bool {\n'
        "\tif counts[a] != counts[b] {\n\t\treturn counts[a] > counts[b]\n\t}\n"
        "\treturn a < b\n}\n\n"
        "func TopWords(text string, n int) []string {\n\tcounts := Frequencies(text)\n"
        "\twords := make([]string, 0, len(counts))\n\tfor w := range counts {\n"
        "\t\twords = append(words, w)\n\t}\n"
        "\tsort.Slice(words, func(i, j int) bool { return before(counts, words[i], words[j]) })\n"
        "\tif n < len(words) {\n\t\twords = words[:n]\n\t}\n\treturn words\n}\n",
    ),
    "cargo": Case(
        "cargo",
        "rust/numkit/src/stats.rs",
        "dedup_sorted",
        ("out.sort();", "out.reverse();"),
        ("out.push(x);", "out.push(y);"),
        "error[E0425]",
        "pub fn dedup_sorted(v: &[i64]) -> Vec<i64> {\n    let mut out = v.to_vec();\n"
        "    out.sort_unstable();\n    out.dedup();\n    out\n}\n",
    ),
    "cargo-workspace": Case(
        "cargo",
        "rust/textws/crates/wordcount/src/lib.rs",
        "distinct_words",
        ("out.push(w);", "out.insert(0, w);"),
        ("out.push(w);", "out.push(word_);"),
        "error[E0425]: cannot find value `word_` in this scope (at crates/wordcount/src/lib.rs",
        "use std::collections::HashSet;\n\npub fn distinct_words(text: &str) -> Vec<String> {\n"
        "    let mut seen = HashSet::new();\n    let mut out = Vec::new();\n"
        "    for word in text.split_whitespace() {\n        let w = word.to_lowercase();\n"
        "        if seen.insert(w.clone()) {\n            out.push(w);\n        }\n    }\n"
        "    out\n}\n",
    ),
    "gradle": Case(
        "gradle",
        "java/ranges-gradle/src/main/java/org/example/ranges/Ranges.java",
        "merge",
        ("r[0] <= out.get(out.size() - 1)[1]", "r[0] < out.get(out.size() - 1)[1]"),
        ("sorted.set(min, t);", "sorted.set(min, t)"),
        "Ranges.java:23: error: ';' expected",
        "import java.util.Comparator;\n\npublic static List<int[]> merge(List<int[]> ranges) {\n"
        "    List<int[]> sorted = new ArrayList<>(ranges);\n"
        "    sorted.sort(Comparator.comparingInt(r -> r[0]));\n"
        "    List<int[]> out = new ArrayList<>();\n    for (int[] r : sorted) {\n"
        "        if (!out.isEmpty() && r[0] <= out.get(out.size() - 1)[1]) {\n"
        "            int[] last = out.get(out.size() - 1);\n"
        "            last[1] = Math.max(last[1], r[1]);\n        } else {\n"
        "            out.add(new int[] {r[0], r[1]});\n        }\n    }\n    return out;\n}\n",
    ),
    "maven": Case(
        "maven",
        "java/wordstats/src/main/java/com/example/wordstats/WordStats.java",
        "countDistinct",
        ("seen.add(key);", "seen.add(w);"),
        ("seen.add(key);", "seen.add(key)"),
        "error: ';' expected",
        "import java.util.HashSet;\nimport java.util.Set;\n\n"
        "public static int countDistinct(List<String> words) {\n"
        "    Set<String> seen = new HashSet<>();\n    for (String w : words) {\n"
        "        seen.add(Normalizer.key(w));\n    }\n    return seen.size();\n}\n",
    ),
    "cmake": Case(
        "cmake",
        "cpp/rangeutil/src/rangeutil.cpp",
        "count_distinct",
        ("found = true;", "found = false;"),
        ("found = true;", "found = true"),
        "src/rangeutil.cpp:13:29: error: expected",
        "#include <unordered_set>\n\n"
        "std::size_t count_distinct(const std::vector<std::int64_t>& v) {\n"
        "    return std::unordered_set<std::int64_t>(v.begin(), v.end()).size();\n}\n",
    ),
    "cpp-self-test": Case(
        "cpp-self-test",
        "cpp/selftest/histogram.cpp",
        "histogram",
        ("++c;", "c += 2;"),
        ("++c;", "++c"),
        "histogram.cpp:13:28: error: expected",
        "std::vector<int> histogram(const std::vector<int>& samples, int buckets) {\n"
        "    std::vector<int> counts(buckets > 0 ? buckets : 0, 0);\n"
        "    for (int s : samples)\n        if (s >= 0 && s < buckets) ++counts[s];\n"
        "    return counts;\n}\n",
    ),
}


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@pytest.fixture
async def daemon():
    client = ProfilerClient(test_timeout_s=120)
    await client.start()
    yield client
    await client.aclose()


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CASES))
async def test_a_projects_tests_pass_fail_named_and_do_not_build_readably(
    daemon: ProfilerClient, kind: str
):
    case = CASES[kind]
    path = FIXTURES / case.file
    before = _tree_digest(path.parents[len(Path(case.file).parts) - 2])
    task = source.task_from_file(path, case.function)
    project = task.tests.project
    assert project is not None and project.kind == case.kind and project.tests

    good = task.current_code or ""
    outcome = await daemon.run_tests(task, good)
    assert outcome.passed, outcome.failure_report()
    if kind == "cargo":  # dedup_exhaustive is selected but not built without its feature
        assert outcome.total == 4, outcome  # 2 unit tests, 1 integration, 1 doctest

    broken = good.replace(*case.bug)
    assert broken != good
    outcome = await daemon.run_tests(task, broken)
    assert not outcome.passed and outcome.failures, outcome
    assert outcome.failures[0].message.strip()

    typo = good.replace(*case.typo)
    assert typo != good
    outcome = await daemon.run_tests(task, typo)
    assert not outcome.passed and outcome.error is not None
    first = outcome.error.splitlines()[0]
    assert case.build_error in first, outcome.error  # the compiler's own words, first
    assert outcome.summary() == first[:200]

    # Every run worked on a sandboxed copy: the user's tree is exactly as it was.
    assert _tree_digest(path.parents[len(Path(case.file).parts) - 2]) == before


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CASES))
async def test_a_clearly_faster_reply_is_merged_tested_and_measured_as_improved(
    daemon: ProfilerClient, kind: str
):
    case = CASES[kind]
    task = source.task_from_file(FIXTURES / case.file, case.function)
    candidate = extract_function(f"```\n{case.faster}```", task, "a model")
    outcome = await daemon.run_tests(task, candidate)
    assert outcome.passed, outcome.failure_report()
    verdict = await daemon.compare(task, task.current_code or "", candidate, Metric.EXEC_TIME, 5.0)
    assert verdict.decision == "improved", verdict
    assert "project's own tests" in verdict.method
    if kind == "go":  # the package has a benchmark reaching TopWords: it is the workload
        assert verdict.workload == "your benchmarks: BenchmarkTopWords"
    elif kind == "cargo":  # criterion's bench_dedup reaches dedup_sorted (bench_mode does not)
        assert verdict.workload == "your benchmarks: bench:stats:bench_dedup"
        assert "criterion's own estimate of one iteration" in verdict.method, verdict.method
    elif kind == "cmake":  # a Google Benchmark program's BM_CountDistinct reaches it
        assert verdict.workload == "your benchmarks: bench:rangeutil_bench:BM_CountDistinct"
        assert "one iteration of each per run" in verdict.method, verdict.method
    else:
        assert verdict.workload.startswith("the project's "), verdict.workload


async def test_a_project_whose_dependencies_are_not_cached_gets_one_clear_message(
    daemon: ProfilerClient, tmp_path: Path
):
    (tmp_path / "go.mod").write_text(
        "module example.com/off\n\ngo 1.22\n\nrequire example.com/not/cached v1.0.0\n"
    )
    (tmp_path / "off.go").write_text(
        'package off\n\nimport "example.com/not/cached"\n\n'
        "func ID() string { return cached.Name() }\n"
    )
    (tmp_path / "off_test.go").write_text(
        'package off\n\nimport "testing"\n\n'
        'func TestID(t *testing.T) {\n\tif ID() == "" {\n\t\tt.Fatal("empty")\n\t}\n}\n'
    )
    task = source.task_from_file(tmp_path / "off.go", "ID")
    outcome = await daemon.run_tests(task, task.current_code or "")
    assert not outcome.passed and outcome.error is not None
    assert outcome.error.startswith("the project's dependencies are not in the Go module cache")
    assert "no network" in outcome.summary()


async def test_a_doctest_and_a_callers_failing_test_measure_after_being_set_aside(
    daemon: ProfilerClient,
):
    """merge_ranges is judged by its doctest, its own test and total_length's test, which fails
    on the user's code: set aside, the other two measure (a doctest's runner clears its globals
    after each run; the process clock reads 0 for such short runs under RLIMIT_CPU)."""
    from perforch_core import projects

    task = source.task_from_file(
        FIXTURES / "python/intervalkit/src/intervalkit/ranges.py", "merge_ranges"
    )
    good = task.current_code or ""
    before = await daemon.run_tests(task, good)
    assert not before.passed and len(before.failures) == 1
    assert task.tests.project is not None
    spec = projects.set_aside_failing(task.tests.project, before)
    assert spec is not None and [t.id for t in spec.set_aside] == [
        "tests/test_ranges.py::test_total_length_counts_integers"
    ]
    task = task.model_copy(update={"tests": task.tests.model_copy(update={"project": spec})})
    assert (await daemon.run_tests(task, good)).passed
    measured = await daemon.measure(task, good, Metric.EXEC_TIME)
    assert measured.unit == "ns" and min(measured.values) > 0, measured


# The function made to hold 48 MiB while it runs: (after this line of the function, insert).
HOLDS = {
    "pytest": ("def has_duplicates(items):\n", "    _hold = bytearray(48 * 2**20)\n"),
    "go": (
        "func TopWords(text string, n int) []string {\n",
        "\thold := make([]byte, 48<<20)\n\tfor i := 0; i < len(hold); i += 4096 {\n"
        "\t\thold[i] = 1\n\t}\n",
    ),
    "cargo": (
        "pub fn dedup_sorted(v: &[i64]) -> Vec<i64> {\n",
        "    let hold = vec![1u8; 48 << 20];\n    std::hint::black_box(&hold);\n",
    ),
    "maven": (
        "public static int countDistinct(List<String> words) {\n",
        "        byte[] hold = new byte[48 << 20];\n"
        "        java.util.Arrays.fill(hold, (byte) 1);\n",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(HOLDS))
async def test_mean_memory_on_a_projects_tests_sees_what_the_function_holds(
    daemon: ProfilerClient, kind: str
):
    """pytest in one process (tracemalloc sampled), Go's test binary, Rust's loop of test
    binaries and JUnit's JVM as processes (the tree's private memory sampled): the version
    holding 48 MiB is the baseline, the user's code measures as an improvement on it."""
    case = CASES[kind]
    task = source.task_from_file(FIXTURES / case.file, case.function)
    light = task.current_code or ""
    after, hold = HOLDS[kind]
    assert after in light, light
    heavy = light.replace(after, after + hold, 1)
    assert (await daemon.run_tests(task, heavy)).passed
    verdict = await daemon.compare(task, heavy, light, Metric.AVG_MEMORY, 5.0)
    assert verdict.decision == "improved", verdict
    assert verdict.improvement_pct > 10, verdict  # the JVM's own ~250 MiB dilutes it most
    assert ("tracemalloc" if kind == "pytest" else "RssAnon") in verdict.method


async def test_tracing_finds_the_tests_the_static_search_cannot_and_is_kept(
    daemon: ProfilerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A test reaching the function only through another module is invisible to a search for
    calls; running every test under a tracer finds it, and discovery uses the kept map until a
    file changes."""
    from perforch_core import languages, projects
    from perforch_core.projects import testmap

    monkeypatch.setenv("PERFORCH_TEST_MAPS", str(tmp_path / "maps"))
    root = tmp_path / "calc"
    (root / "calc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "calc"\n')
    (root / "calc" / "__init__.py").write_text("")
    (root / "calc" / "core.py").write_text("def double(x):\n    return 2 * x\n")
    (root / "calc" / "more.py").write_text(
        "from calc.core import double as twice\n\n\ndef quad(x):\n    return twice(twice(x))\n"
    )
    (root / "tests" / "test_core.py").write_text(
        "from calc import core\n\n\ndef test_double():\n    assert core.double(2) == 4\n"
    )
    (root / "tests" / "test_more.py").write_text(
        "from calc.more import quad\n\n\ndef test_quad():\n    assert quad(1) == 4\n\n\n"
        "def test_nothing():\n    assert True\n"
    )
    path = root / "calc" / "core.py"
    static = source.task_from_file(path, "double")
    assert static.tests.project is not None
    assert [t.id for t in static.tests.project.tests] == ["tests/test_core.py::test_double"]

    traced = await daemon.trace_tests(static, static.current_code or "")
    assert traced.error is None and traced.ran == 3
    assert sorted(traced.reached) == [
        "tests/test_core.py::test_double",
        "tests/test_more.py::test_quad",
    ]
    testmap.save(static.tests.project.options[testmap.KEY_OPTION], traced.reached, traced.ran)

    now = source.task_from_file(path, "double")
    assert now.tests.project is not None
    assert [t.id for t in now.tests.project.tests] == sorted(traced.reached)
    assert all(t.found_by.endswith("(traced)") for t in now.tests.project.tests)
    assert now.tests.project.others == 1
    assert (await daemon.run_tests(now, now.current_code or "")).passed

    # A changed test file: the map is stale, the static search answers again.
    (root / "tests" / "test_more.py").write_text(
        "from calc.more import quad\n\n\ndef test_quad():\n    assert quad(2) == 8\n"
    )
    support = languages.support(static.language)
    spec = projects.discover(support, path, path.read_text(), "double")
    assert spec is not None and [t.id for t in spec.tests] == ["tests/test_core.py::test_double"]


def _statically(language, path: Path, function: str, lines: str):
    """The project spec the static search finds for ``function`` (no map kept yet), with the
    function's lines for the tracer, and a task for it."""
    from perforch_core import languages, projects

    support = languages.support(language)
    text = path.read_text()
    spec = projects.discover(support, path, text, function)
    assert spec is not None
    spec = spec.model_copy(update={"options": {**spec.options, "lines": lines}})
    task = support.task_from_text(
        path,
        text,
        function,
        tests_file=None,
        metric=Metric.EXEC_TIME,
        tests=projects.test_spec(spec),
    )
    return spec, task


async def test_tracing_a_go_package_by_coverage_finds_a_function_passed_as_a_value(
    daemon: ProfilerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """``Apply(Double, 2)`` never writes ``Double(``: the call search misses the test that
    exercises Double; a coverage run of each test sees Double's lines run."""
    from perforch_core.models import Language
    from perforch_core.projects import testmap

    monkeypatch.setenv("PERFORCH_TEST_MAPS", str(tmp_path / "maps"))
    root = tmp_path / "calc"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/calc\n\ngo 1.21\n")
    (root / "calc.go").write_text(
        "package calc\n\nfunc Double(x int) int {\n\treturn 2 * x\n}\n\n"
        "func Apply(f func(int) int, x int) int {\n\treturn f(x)\n}\n"
    )
    (root / "calc_test.go").write_text(
        'package calc\n\nimport "testing"\n\n'
        "func TestApplyDouble(t *testing.T) {\n"
        "\tif Apply(Double, 2) != 4 {\n\t\tt.Fail()\n\t}\n}\n\n"
        "func TestNothing(t *testing.T) {}\n"
    )
    path = root / "calc.go"
    spec, task = _statically(Language.GO, path, "Double", "3-5")
    assert spec.tests == () and spec.others == 2
    traced = await daemon.trace_tests(task, task.current_code or "")
    assert traced.error is None, traced.error
    assert (traced.reached, traced.ran) == (["TestApplyDouble"], 2)
    testmap.save(spec.options[testmap.KEY_OPTION], traced.reached, traced.ran)
    now = source.task_from_file(path, "Double")
    assert now.tests.project is not None
    assert [t.id for t in now.tests.project.tests] == ["TestApplyDouble"]
    assert (await daemon.run_tests(now, now.current_code or "")).passed


POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>calc</artifactId>
  <version>1.0.0</version>
  <properties><maven.compiler.release>17</maven.compiler.release></properties>
  <dependencies>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>5.11.4</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
</project>
"""


async def test_tracing_a_maven_project_by_jacoco_survives_a_test_that_exhausts_memory(
    daemon: ProfilerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """``apply(Calc::twice, 2)`` and a @Nested test reach ``twice`` unseen by the call search;
    JaCoCo's per-test record sees its lines run. A test throwing OutOfMemoryError (which JUnit
    rethrows, ending the launch, as commons-text's 7 GiB tests do) is kept as run and the
    tests after it still run."""
    from perforch_core.models import Language
    from perforch_core.projects import testmap

    monkeypatch.setenv("PERFORCH_TEST_MAPS", str(tmp_path / "maps"))
    root = tmp_path / "calc"
    main = root / "src" / "main" / "java" / "com" / "example"
    test = root / "src" / "test" / "java" / "com" / "example"
    main.mkdir(parents=True)
    test.mkdir(parents=True)
    (root / "pom.xml").write_text(POM)
    (main / "Calc.java").write_text(
        "package com.example;\n\nimport java.util.function.IntUnaryOperator;\n\n"
        "public final class Calc {\n"
        "    static int twice(int x) {\n        return 2 * x;\n    }\n\n"
        "    public static int apply(IntUnaryOperator f, int x) {\n"
        "        return f.applyAsInt(x);\n    }\n}\n"
    )
    (test / "CalcTest.java").write_text(
        "package com.example;\n\nimport static org.junit.jupiter.api.Assertions.assertEquals;\n\n"
        "import org.junit.jupiter.api.MethodOrderer;\nimport org.junit.jupiter.api.Nested;\n"
        "import org.junit.jupiter.api.Test;\nimport org.junit.jupiter.api.TestMethodOrder;\n\n"
        "@TestMethodOrder(MethodOrderer.MethodName.class)\n"  # a, b, c, then the nested class
        "class CalcTest {\n"
        "    @Test\n    void a_appliesTwice() {\n"
        "        assertEquals(4, Calc.apply(Calc::twice, 2));\n    }\n\n"
        "    @Test\n    void b_exhaustsMemory() {\n"
        '        throw new OutOfMemoryError("simulated: needs 7 GiB");\n    }\n\n'
        "    @Test\n    void c_nothing() {\n        assertEquals(1, 1);\n    }\n\n"
        "    @Nested\n    class Inner {\n"
        "        @Test\n        void d_negates() {\n"
        "            assertEquals(-6, Calc.apply(x -> -Calc.apply(Calc::twice, x), 3));\n"
        "        }\n    }\n}\n"
    )
    path = main / "Calc.java"
    spec, task = _statically(Language.JAVA, path, "twice", "6-8")
    assert spec.tests == () and spec.others == 4
    traced = await daemon.trace_tests(task, task.current_code or "")
    assert traced.error is None, traced.error
    assert traced.ran == 4  # the tests after the one that ended the launch ran too
    assert sorted(traced.reached) == [
        "com.example.CalcTest#a_appliesTwice",
        "com.example.CalcTest#d_negates",
    ]
    testmap.save(spec.options[testmap.KEY_OPTION], traced.reached, traced.ran)
    now = source.task_from_file(path, "twice")
    assert now.tests.project is not None
    assert sorted(t.id for t in now.tests.project.tests) == sorted(traced.reached)
    assert now.tests.project.others == 2
    outcome = await daemon.run_tests(now, now.current_code or "")
    assert outcome.passed, outcome.error
    assert outcome.total == 2  # the nested class's test is selected by its top-level name


async def test_tracing_a_cmake_project_by_gcov_runs_each_ctest_test_alone(
    daemon: ProfilerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """``apply(twice, 2)`` never writes ``twice(``: the call search misses the program that
    exercises it; a coverage build's gcov counts, one ctest test at a time, see it run."""
    from perforch_core.models import Language
    from perforch_core.projects import testmap

    monkeypatch.setenv("PERFORCH_TEST_MAPS", str(tmp_path / "maps"))
    root = tmp_path / "calc"
    (root / "tests").mkdir(parents=True)
    (root / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\nproject(calc CXX)\n"
        "add_library(calc calc.cpp)\ntarget_include_directories(calc PUBLIC .)\n"
        "enable_testing()\nadd_subdirectory(tests)\n"
    )
    (root / "calc.h").write_text("int twice(int x);\nint apply(int (*f)(int), int x);\n")
    (root / "calc.cpp").write_text(
        "int twice(int x) {\n    return 2 * x;\n}\n\n"
        "int apply(int (*f)(int), int x) {\n    return f(x);\n}\n"
    )
    (root / "tests" / "CMakeLists.txt").write_text(
        "add_executable(apply_test apply_test.cpp)\n"
        "target_link_libraries(apply_test PRIVATE calc)\n"
        "add_test(NAME apply_test COMMAND apply_test)\n"
        "add_executable(nothing_test nothing_test.cpp)\n"
        "add_test(NAME nothing_test COMMAND nothing_test)\n"
    )
    (root / "tests" / "apply_test.cpp").write_text(
        '#include "calc.h"\n\nint main() {\n    return apply(twice, 2) == 4 ? 0 : 1;\n}\n'
    )
    (root / "tests" / "nothing_test.cpp").write_text("int main() {\n    return 0;\n}\n")
    path = root / "calc.cpp"
    spec, task = _statically(Language.CPP, path, "twice", "1-3")
    assert spec.tests == ()
    traced = await daemon.trace_tests(task, task.current_code or "")
    assert traced.error is None, traced.error
    assert (traced.reached, traced.ran) == (["exe:apply_test"], 2)
    testmap.save(spec.options[testmap.KEY_OPTION], traced.reached, traced.ran)
    now = source.task_from_file(path, "twice")
    assert now.tests.project is not None
    assert [(t.id, t.file) for t in now.tests.project.tests] == [
        ("exe:apply_test", "tests/apply_test.cpp")
    ]
    outcome = await daemon.run_tests(now, now.current_code or "")
    assert outcome.passed and outcome.total == 1, outcome.error


async def test_a_go_package_using_cgo_builds_with_the_c_compiler(
    daemon: ProfilerClient, tmp_path: Path
):
    """A file importing "C" is part of the package only with cgo on: without it the test
    would see ``undefined: Twice``."""
    root = tmp_path / "cg"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/cg\n\ngo 1.21\n")
    (root / "cg.go").write_text(
        'package cg\n\n// int twice(int x) { return 2 * x; }\nimport "C"\n\n'
        "func Twice(x int) int {\n\treturn int(C.twice(C.int(x)))\n}\n\n"
        "func Add(a, b int) int {\n\treturn a + b\n}\n"
    )
    (root / "cg_test.go").write_text(
        'package cg\n\nimport "testing"\n\n'
        "func TestAdd(t *testing.T) {\n\tif Add(Twice(1), 1) != 3 {\n\t\tt.Fail()\n\t}\n}\n"
    )
    task = source.task_from_file(root / "cg.go", "Add")
    outcome = await daemon.run_tests(task, task.current_code or "")
    assert outcome.passed and outcome.total == 1, outcome.error


async def test_a_pytest_benchmark_that_reaches_the_function_is_the_workload(
    daemon: ProfilerClient,
):
    """tests/test_bench.py hands most_common_word to pytest-benchmark's fixture: it judges with
    the other tests (run once, --benchmark-disable) and alone is what is measured."""
    task = source.task_from_file(
        FIXTURES / "python/intervalkit/src/intervalkit/words.py", "most_common_word"
    )
    faster = (
        "from collections import Counter\n\ndef most_common_word(text):\n"
        "    words = [normalize(w) for w in text.split()]\n    counts = Counter(words)\n"
        "    best, best_count = None, 0\n    for word in words:\n"
        "        if counts[word] > best_count:\n            best, best_count = word, counts[word]\n"
        "    return best\n"
    )
    candidate = extract_function(f"```\n{faster}```", task, "a model")
    outcome = await daemon.run_tests(task, candidate)
    assert outcome.passed and outcome.total == 3, outcome.failure_report()
    verdict = await daemon.compare(task, task.current_code or "", candidate, Metric.EXEC_TIME, 5.0)
    assert verdict.decision == "improved", verdict
    assert verdict.workload == "your benchmarks: tests/test_bench.py::test_most_common_word_speed"
