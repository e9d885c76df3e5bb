"""Finding the project around a file and the tests that exercise a function in it, on the
fixture projects (tests/fixtures/projects/, in the layouts real repositories have)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perforch_core import projects, source
from perforch_core.errors import NoTestsError
from perforch_core.models import TestCase, TestFailure, TestOutcome

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


def _tests(rel: str, function: str) -> list[tuple[str, str]]:
    task = source.task_from_file(FIXTURES / rel, function)
    assert task.tests.kind == "project" and task.tests.project is not None
    return [(t.id, t.found_by) for t in task.tests.project.tests]


def test_python_package_in_src_layout_all_exercising_tests_not_the_first_found():
    assert _tests("python/intervalkit/src/intervalkit/words.py", "has_duplicates") == [
        ("tests/test_words.py::test_no_duplicates", "calls has_duplicates"),
        ("tests/test_words.py::test_duplicate_at_the_end", "calls has_duplicates"),
        ("tests/test_words.py::test_small_cases", "calls has_duplicates"),
        ("tests/test_words.py::TestUnittestStyle::test_unhashable_items", "calls has_duplicates"),
    ]
    task = source.task_from_file(
        FIXTURES / "python/intervalkit/src/intervalkit/words.py", "has_duplicates"
    )
    spec = task.tests.project
    assert spec is not None
    assert spec.options["import_root"] == "src" and spec.options["module"] == "intervalkit.words"
    assert spec.others == 5  # the file's other tests, the ranges tests and the benchmark
    # The prompt shows the selected tests' code.
    assert "def test_duplicate_at_the_end" in task.tests.source


def test_python_doctest_and_a_callers_test_are_found():
    assert _tests("python/intervalkit/src/intervalkit/ranges.py", "merge_ranges") == [
        (
            "src/intervalkit/ranges.py::intervalkit.ranges.merge_ranges",
            "its docstring's examples",
        ),
        ("tests/test_ranges.py::test_merge_touching", "calls merge_ranges"),
        (
            "tests/test_ranges.py::test_total_length_counts_integers",
            "calls total_length → merge_ranges",
        ),
    ]


def test_go_package_of_several_files_with_helpers_and_an_external_test_package():
    assert _tests("go/textstats/words.go", "TopWords") == [
        ("TestTopWords", "calls checkTop → TopWords"),
        ("TestTopWordsLong", "calls TopWords"),
    ]
    assert sorted(_tests("go/textstats/words.go", "Unique")) == [
        ("TestUniqueFromOutside", "calls Unique"),
        ("TestUniqueKeepsOrder", "calls Unique"),
    ]


def test_rust_unit_integration_and_doc_tests():
    assert _tests("rust/numkit/src/stats.rs", "dedup_sorted") == [
        ("doc:stats::dedup_sorted", "its doc comment's example"),
        ("lib:stats::tests::dedup_small", "calls dedup_sorted"),
        ("lib:stats::tests::dedup_large", "calls dedup_sorted"),
        ("lib:stats::tests::dedup_exhaustive", "calls dedup_sorted"),  # behind a feature
        ("test:api:join_after_dedup", "calls dedup_sorted"),
    ]
    # A free function's name used as a method elsewhere (`v.join(",")`) is not a call of it.
    assert _tests("rust/numkit/src/format.rs", "join") == [
        ("test:api:join_after_dedup", "calls join")
    ]


def test_java_junit_jupiter_tests_including_parameterized():
    assert [
        t
        for t, _ in _tests(
            "java/wordstats/src/main/java/com/example/wordstats/WordStats.java", "countDistinct"
        )
    ] == [
        "com.example.wordstats.WordStatsTest#countsDistinctIgnoringCase",
        "com.example.wordstats.WordStatsTest#countsManyWords",
        "com.example.wordstats.WordStatsTest#countsSplitText",
    ]


def test_cmake_gtest_cases_and_a_plain_add_test_program():
    assert _tests("cpp/rangeutil/src/rangeutil.cpp", "has_duplicate") == [
        ("case:HasDuplicate.Basic", "calls has_duplicate"),
        ("exe:smoke", "tests/smoke.cpp calls has_duplicate"),
    ]


def test_cpp_file_that_tests_itself():
    assert _tests("cpp/selftest/histogram.cpp", "histogram") == [
        ("main", "main() calls test → histogram")
    ]


def test_a_project_with_no_test_of_the_function_says_so(tmp_path: Path):
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "x.go").write_text(
        "package x\n\nfunc A() int { return 1 }\n\nfunc B() int { return 2 }\n"
    )
    (tmp_path / "x_test.go").write_text(
        'package x\n\nimport "testing"\n\n'
        "func TestB(t *testing.T) {\n\tif B() != 2 {\n\t\tt.Fail()\n\t}\n}\n"
    )
    with pytest.raises(NoTestsError, match="none of the 1 tests of the go project"):
        source.task_from_file(tmp_path / "x.go", "A")


def test_a_call_written_inside_a_string_is_not_a_call(tmp_path: Path):
    """A test that writes a program mentioning the function (an editor test, a code generator)
    does not exercise it."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "calc"\n')
    (tmp_path / "calc.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(
        "import calc\n\n\ndef test_double():\n    assert calc.double(2) == 4\n\n\n"
        'def test_writes_a_program(tmp_path):\n    (tmp_path / "p.py").write_text('
        '"from calc import double\\nprint(double(3))\\n")\n'
    )
    task = source.task_from_file(tmp_path / "calc.py", "double")
    assert task.tests.project is not None
    assert [t.id for t in task.tests.project.tests] == ["tests/test_calc.py::test_double"]
    assert task.tests.project.others == 1


@pytest.mark.parametrize(
    ("test_id", "reported"),
    [
        (
            "tests/test_words.py::TestUnittestStyle::test_unhashable_items",
            "tests.test_words.TestUnittestStyle.test_unhashable_items",
        ),
        ("tests/test_words.py::test_small_cases", "tests.test_words.test_small_cases[items2-True]"),
        (
            "com.example.wordstats.WordStatsTest#countsManyWords",
            "com.example.wordstats.WordStatsTest.countsManyWords()",
        ),
        ("case:CountDistinct.Many", "CountDistinct.Many"),
        ("lib:stats::tests::dedup_small", "stats::tests::dedup_small"),
        ("TestTopWords", "TestTopWords"),
    ],
)
def test_a_failure_as_each_runner_names_it_maps_back_to_its_test(test_id: str, reported: str):
    task = source.task_from_file(
        FIXTURES / "python/intervalkit/src/intervalkit/words.py", "has_duplicates"
    )
    spec = task.tests.project
    assert spec is not None
    other = spec.tests[0].model_copy(update={"id": "zzz::other"})
    mine = spec.tests[0].model_copy(update={"id": test_id})
    spec = spec.model_copy(update={"tests": (mine, other)})
    outcome = TestOutcome(
        passed=False, total=2, failures=(TestFailure(name=reported, message="x"),)
    )
    assert projects.failing(spec, outcome) == [mine]
    narrowed = projects.set_aside_failing(spec, outcome)
    assert narrowed is not None and narrowed.tests == (other,) and narrowed.set_aside == (mine,)
    # Every test failing, or a build error: nothing is set aside (that is a fix, not noise).
    both = TestOutcome(
        passed=False,
        total=2,
        failures=(
            TestFailure(name=reported, message="x"),
            TestFailure(name="zzz.other", message="x"),
        ),
    )
    assert projects.set_aside_failing(spec, both) is None
    assert (
        projects.set_aside_failing(spec, TestOutcome(passed=False, error="the build failed"))
        is None
    )


def test_a_workspace_member_crate_and_a_gradle_project():
    assert _tests("rust/textws/crates/wordcount/src/lib.rs", "distinct_words") == [
        ("lib:tests::keeps_first_appearance_order", "calls distinct_words"),
        ("test:many:many_words", "calls distinct_words"),
        ("report/lib:tests::reports_counts", "calls report → distinct_words"),  # a dependent
    ]
    task = source.task_from_file(
        FIXTURES / "rust/textws/crates/wordcount/src/lib.rs", "distinct_words"
    )
    spec = task.tests.project
    assert spec is not None
    assert spec.root.endswith("textws") and spec.workdir == "crates/wordcount"
    assert spec.options == {"crate": "wordcount"}
    assert [
        t
        for t, _ in _tests(
            "java/ranges-gradle/src/main/java/org/example/ranges/Ranges.java", "merge"
        )
    ] == [
        "org.example.ranges.RangesTest#mergesOverlappingAndTouching",
        "org.example.ranges.RangesTest#mergesManyRanges",
        "org.example.ranges.RangesTest#coveredCountsEachIntegerOnce",  # covered() calls merge
    ]


def test_two_projects_never_share_a_build_cache(tmp_path: Path):
    import shutil

    from profiler.projects.base import project_cache

    specs = []
    for name in ("one", "two"):
        shutil.copytree(FIXTURES / "go" / "textstats", tmp_path / name)
        task = source.task_from_file(tmp_path / name / "words.go", "TopWords")
        assert task.tests.project is not None
        specs.append(task.tests.project)
    again = source.task_from_file(tmp_path / "one" / "words.go", "Unique").tests.project
    assert again is not None
    assert project_cache(specs[0]) != project_cache(specs[1])
    assert project_cache(specs[0]) == project_cache(again)  # one project: one cache


@pytest.mark.parametrize(
    ("message", "said"),
    [
        (
            "    words_test.go:26: \n\tError Trace:\twords_test.go:26\n"
            "\tError:      \tNot equal: \n",
            "Error:      \tNot equal:",
        ),
        (
            "org.opentest4j.AssertionFailedError: expected: <2> but was: <3>\n\tat x",
            "org.opentest4j.AssertionFailedError: expected: <2>",
        ),
        ("just one line", "just one line"),
    ],
)
def test_a_failure_summary_names_the_line_that_says_what_went_wrong(message: str, said: str):
    outcome = TestOutcome(passed=False, total=3, failures=(TestFailure(name="T", message=message),))
    assert outcome.summary().startswith(f"1 of 3 failed: T: {said}")


def test_pytest_plugins_stay_on_with_the_projects_own_interpreter():
    """Only PerfOrch's interpreter standing in for a project without one runs pytest without
    plugin autoload; a project whose own environment it is (PerfOrch's repository itself)
    keeps its plugins, or its pytest configuration would not even parse."""
    import sys

    from perforch_core.models import ProjectSpec
    from profiler.languages.python.project import _pytest_step

    spec = ProjectSpec(kind="pytest", root="/p", file="m.py", tests=(), options={"module": "m"})
    alone = _pytest_step(spec, sys.executable, [])
    assert alone.env.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") == "1"
    own = spec.model_copy(update={"options": {"module": "m", "python": sys.executable}})
    assert "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in _pytest_step(own, sys.executable, []).env


def test_a_docstring_whose_examples_doctest_skips_is_not_a_test(tmp_path: Path):
    """toolz's frequencies() has only a ``# doctest: +SKIP`` example: it runs nothing."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "calc"\n')
    (tmp_path / "calc.py").write_text(
        'def double(x):\n    """Twice x.\n\n    >>> double(2)  # doctest: +SKIP\n    4\n    """\n'
        "    return 2 * x\n"
    )
    (tmp_path / "test_calc.py").write_text(
        "from calc import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
    )
    task = source.task_from_file(tmp_path / "calc.py", "double")
    assert task.tests.project is not None
    assert [t.id for t in task.tests.project.tests] == ["test_calc.py::test_double"]
    (tmp_path / "test_calc.py").unlink()
    with pytest.raises(NoTestsError):
        source.task_from_file(tmp_path / "calc.py", "double")


def test_a_go_coverage_profile_says_whether_the_functions_lines_ran():
    from profiler.languages.go.project import reached

    profile = (
        "mode: count\n"
        "example.com/calc/calc.go:3.25,5.2 1 0\n"
        "example.com/calc/calc.go:7.41,9.2 1 3\n"
        "example.com/calc/other.go:3.25,5.2 1 9\n"
    )
    assert not reached(profile, "calc.go", 3, 5)  # its block never ran
    assert reached(profile, "calc.go", 7, 9)
    assert not reached(profile, "calc.go", 11, 12)  # no block there
    assert reached(profile, "sub/other.go", 3, 5)  # matched by the package's file name


def test_gcov_reports_and_ctest_entries_are_read_as_the_trace_needs():
    from profiler.languages.cpp.project import reached_lines, trace_id

    one = {
        "files": [
            {"file": "/perforch/src/src/calc.cpp", "lines": [{"line_number": 2, "count": 0}]},
            {"file": "/perforch/src/include/calc.hpp", "lines": [{"line_number": 9, "count": 4}]},
        ]
    }
    two = {
        "files": [{"file": "/perforch/src/src/calc.cpp", "lines": [{"line_number": 7, "count": 1}]}]
    }
    report = json.dumps(one) + "\n" + json.dumps(two) + "\n"  # gcov --stdout: one per object
    assert not reached_lines(report, "src/calc.cpp", 1, 3)  # compiled, never run
    assert reached_lines(report, "src/calc.cpp", 6, 8)  # seen in the second object's report
    assert reached_lines(report, "include/calc.hpp", 8, 10)
    assert not reached_lines("garbage", "src/calc.cpp", 1, 99)

    gtest = {"name": "Sum.Basic", "command": ["/b/tests/t", "--gtest_filter=Sum.Basic"]}
    catch2 = {"name": "sums, clamped", "command": ["/b/t", "sums\\, clamped", "--reporter"]}
    plain = {"name": "smoke", "command": ["/b/tests/smoke_test"]}
    assert trace_id(gtest) == "case:Sum.Basic"
    assert trace_id(plain) == "exe:smoke_test"
    assert trace_id(catch2) == "case:sums, clamped"  # Catch2 escapes the comma


def test_a_gradle_build_files_dependencies_are_read_as_maven_coordinates(tmp_path: Path):
    from profiler.languages.java import gradle

    (tmp_path / "gradle").mkdir()
    (tmp_path / "gradle" / "libs.versions.toml").write_text(
        '[versions]\nguava = "33.0.0-jre"\n\n[libraries]\n'
        'guava = { module = "com.google.guava:guava", version.ref = "guava" }\n'
        'jackson-bom = "com.fasterxml.jackson:jackson-bom:2.17.0"\n'
    )
    (tmp_path / "gradle.properties").write_text("lang3Version=3.17.0\n")
    (tmp_path / "build.gradle").write_text(
        "def gsonVersion = '2.11.0'\n"
        "dependencies {\n"
        "    implementation libs.guava\n"
        "    implementation platform(libs.jackson.bom)\n"
        "    implementation 'com.fasterxml.jackson.core:jackson-databind'\n"
        '    api "org.apache.commons:commons-lang3:$lang3Version"\n'
        "    implementation group: 'com.google.code.gson', name: 'gson', version: gsonVersion\n"
        '    compileOnly "com.google.code.gson:gson:${gsonVersion}"\n'
        "    implementation project(':core')\n"
        "    testImplementation 'org.junit.jupiter:junit-jupiter:5.11.4'\n"
        "    testImplementation 'org.assertj:assertj-core:3.26.0'\n"
        "    implementation someHelper()\n"
        "}\n"
    )
    found = gradle.declared(tmp_path)
    assert [(c.group, c.artifact, c.version, c.test) for c in found.dependencies] == [
        ("com.google.guava", "guava", "33.0.0-jre", False),
        ("com.fasterxml.jackson.core", "jackson-databind", None, False),  # the BOM's version
        ("org.apache.commons", "commons-lang3", "3.17.0", False),
        ("com.google.code.gson", "gson", "2.11.0", False),  # a map naming a variable
        ("com.google.code.gson", "gson", "2.11.0", False),
        ("org.assertj", "assertj-core", "3.26.0", True),  # JUnit's own left out
    ]
    assert [(p.artifact, p.version) for p in found.platforms] == [("jackson-bom", "2.17.0")]
    assert found.unread == ["implementation someHelper()"]
    pom = gradle.pom(found)
    assert "<scope>import</scope>" in pom and "<artifactId>assertj-core</artifactId>" in pom


def _benchmarks(rel: str, function: str) -> list[tuple[str, str]]:
    project = source.task_from_file(FIXTURES / rel, function).tests.project
    assert project is not None
    return [(b.id, b.found_by) for b in project.benchmarks]


def test_the_users_benchmarks_that_reach_the_function_are_found():
    # Go: a Benchmark… reaching TopWords (and Frequencies through it), not Unique's.
    go = "go/textstats/words.go"
    assert _benchmarks(go, "TopWords") == [("BenchmarkTopWords", "calls TopWords")]
    assert _benchmarks(go, "Frequencies") == [("BenchmarkTopWords", "calls TopWords → Frequencies")]
    assert _benchmarks(go, "Unique") == [("BenchmarkUnique", "calls Unique")]
    # pytest-benchmark: a test taking the benchmark fixture, handed the function as a value;
    # it judges correctness too (its assert), so it is among the tests as well.
    py = "python/intervalkit/src/intervalkit/words.py"
    bench = ("tests/test_bench.py::test_most_common_word_speed", "benchmarks most_common_word")
    assert _benchmarks(py, "most_common_word") == [bench]
    assert bench in _tests(py, "most_common_word")
    assert _benchmarks(py, "has_duplicates") == []
    # criterion: the bench target's functions in its criterion_group! that reach the function;
    # a crate function not benchmarked has none.
    rs = "rust/numkit/src/stats.rs"
    assert _benchmarks(rs, "dedup_sorted") == [("bench:stats:bench_dedup", "calls dedup_sorted")]
    assert _benchmarks(rs, "mode") == [("bench:stats:bench_mode", "calls mode")]
    assert _benchmarks(rs, "spread") == []
    # Google Benchmark: BENCHMARK(…) functions of a program the CMake project builds.
    cc = "cpp/rangeutil/src/rangeutil.cpp"
    assert _benchmarks(cc, "count_distinct") == [
        ("bench:rangeutil_bench:BM_CountDistinct", "calls count_distinct")
    ]
    assert _benchmarks(cc, "sum_range") == [
        ("bench:rangeutil_bench:BM_SumRange", "calls sum_range")
    ]
    assert _benchmarks(cc, "has_duplicate") == []


def test_criterion_filters_name_the_found_benchmarks_literally_in_rust_regex_syntax():
    from profiler.languages.rust.project import bench_filter

    def spec_of(*codes: str) -> list[TestCase]:
        cases = [
            TestCase(id=f"bench:t{i % 2}:f{i}", file="benches/x.rs", found_by="", code=c)
            for i, c in enumerate(codes)
        ]
        return cases

    named = 'c.bench_function("dedup 4000 (sorted)", |b| b.iter(|| f()));'
    grouped = 'let mut g = c.benchmark_group("sizes"); g.bench_with_input(BenchmarkId::new("x", n)'
    assert bench_filter(spec_of(named)) == {"t0": r"dedup 4000 \(sorted\)"}
    assert bench_filter(spec_of(named, grouped)) == {
        "t0": r"dedup 4000 \(sorted\)",
        "t1": "sizes|x",
    }
    # A function that names its benchmark by a variable: its whole target runs.
    assert (
        bench_filter(spec_of(named, "fn f(c: &mut Criterion) { c.bench_function(&name, g); }"))[
            "t1"
        ]
        is None
    )


def test_criterions_stated_times_are_read_in_ns_and_summed_over_the_benchmarks():
    from profiler.languages.rust.project import criterion_ns

    output = (
        "Benchmarking indent: Warming up for 50.000 ms\n"
        "indent                  time:   [3.1725 µs 3.1811 µs 3.1909 µs]\n"
        "                        change: [-1.2% +0.3% +1.9%] (p = 0.71 > 0.05)\n"
        "a rather long benchmark name that criterion puts on its own line\n"
        "                        time:   [1.5000 ms 1.5250 ms 1.6000 ms]\n"
    )
    assert criterion_ns(output) == 3181.1 + 1_525_000.0
    assert criterion_ns("Testing indent\nSuccess\n") is None
