"""Jobs on functions of real-shaped projects (tests/fixtures/projects/, copied to a scratch
directory) through the real CLI with a real local model: the project's own tests judge, an
injected bug is fixed in a Go module and written with --apply, a pre-existing failure of
another function's test never turns an optimization into a fix, and an emptied Rust function
is generated against its crate's tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import local_models_installed

pytestmark = [pytest.mark.llm, pytest.mark.slow]

BIG = "local/qwen2.5-coder-1.5b"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


@pytest.fixture(autouse=True)
def _models_present():
    assert local_models_installed("qwen2.5-coder-1.5b"), "local models missing: run setup"


def _copy(workdir: Path, rel: str) -> Path:
    dest = workdir / Path(rel).name
    shutil.copytree(FIXTURES / rel, dest)
    return dest


def test_optimize_a_package_function_is_judged_by_the_projects_pytest_tests(
    perforch, workdir: Path
):
    project = _copy(workdir, "python/intervalkit")
    tests_before = (project / "tests" / "test_words.py").read_text()
    r = perforch(
        "optimize",
        "intervalkit/src/intervalkit/words.py::has_duplicates",
        "--models",
        BIG,
        "--json",
    )
    result = r.json()
    assert r.returncode == (0 if result["status"] == "succeeded" else 1), r.output
    assert "4 tests of the pytest project" in r.stderr
    # The user's code passed its 8 test cases (4 tests, one parametrized 5 ways) first.
    assert "tests on your code: 8 passed" in r.stderr, r.stderr
    attempts = result["attempts"]
    assert attempts and attempts[0]["stage"] == "refine"
    for attempt in attempts:  # every candidate ran the same 8 cases, or did not build
        tests = attempt["tests"]
        assert tests is None or tests["total"] in (0, 8) or tests["error"], attempt
    if result["verdict"] is not None:
        assert "project's own tests" in result["verdict"]["method"]
    assert (project / "tests" / "test_words.py").read_text() == tests_before


def test_fix_an_injected_bug_in_a_go_module_and_apply_it(perforch, workdir: Path):
    project = _copy(workdir, "go/textstats")
    path = project / "words.go"
    original = path.read_text()
    path.write_text(original.replace("seen = true", "seen = false"))
    r = perforch("fix", "textstats/words.go::Unique", "--models", BIG, "--json", "--apply")
    result = r.json()
    assert "2 tests of the go project" in r.stderr, r.stderr
    assert "tests on your code: 2 of 2 failed" in r.stderr
    if result["status"] == "succeeded":
        assert result["final_tests"]["passed"] and result["final_tests"]["total"] == 2
        fixed = path.read_text()
        assert "seen = false" not in fixed.split("func Unique")[1]
        # Outside the function, the file is as it was.
        assert fixed.split("// Unique returns")[0] == original.split("// Unique returns")[0]
        check = perforch("tests", "textstats/words.go::Unique", "--run")
        assert check.returncode == 0, check.output
    else:
        assert r.returncode == 1 and result["attempts"], r.output


def test_a_preexisting_failure_of_a_callers_test_is_set_aside_not_fixed(perforch, workdir: Path):
    """merge_ranges is called by total_length, whose test fails on the user's code (a known
    bug of total_length): optimizing merge_ranges sets that test aside and never asks for a
    fix."""
    _copy(workdir, "python/intervalkit")
    r = perforch(
        "optimize",
        "intervalkit/src/intervalkit/ranges.py::merge_ranges",
        "--models",
        BIG,
        "--json",
    )
    result = r.json()
    assert "tests on your code: 1 of 3 failed" in r.stderr, r.stderr
    assert "tests on your code: 2 passed (1 failing before the change set aside)" in r.stderr
    assert all(a["stage"] == "refine" for a in result["attempts"]), result["attempts"]
    assert result["final_tests"]["preexisting"] == [
        "tests/test_ranges.py::test_total_length_counts_integers"
    ]
    assert result["status"] == "succeeded", r.output


def test_generate_an_emptied_function_of_a_cargo_crate(perforch, workdir: Path):
    project = _copy(workdir, "rust/numkit")
    path = project / "src" / "stats.rs"
    text = path.read_text()
    start = text.index("pub fn dedup_sorted")
    end = text.index("\n}\n", start) + 3
    path.write_text(
        text[:start] + "pub fn dedup_sorted(v: &[i64]) -> Vec<i64> {\n    todo!()\n}\n" + text[end:]
    )
    r = perforch("generate", "numkit/src/stats.rs::dedup_sorted", "--models", BIG, "--json")
    result = r.json()
    # 5 found statically; dedup_exhaustive is behind a feature the build does not enable
    assert "5 tests of the cargo project" in r.stderr, r.stderr
    assert r.returncode == (0 if result["status"] == "succeeded" else 1), r.output
    judged = [a["tests"] for a in result["attempts"] if a["tests"]]
    assert judged, result["attempts"]
    for tests in judged:  # each candidate was built by cargo and run against the crate's tests
        assert tests["passed"] or tests["error"] or tests["failures"], tests
        if tests["error"]:
            assert tests["error"].startswith("the build failed"), tests["error"]
    if result["status"] == "succeeded":
        assert result["final_tests"]["total"] == 4


@pytest.mark.parametrize(
    ("rel", "file", "function", "bug", "tests"),
    [
        (
            "java/wordstats",
            "src/main/java/com/example/wordstats/WordStats.java",
            "countDistinct",
            ("seen.add(key);", "seen.add(w);"),
            "3 tests of the maven project",
        ),
        (
            "cpp/rangeutil",
            "src/rangeutil.cpp",
            "count_distinct",
            ("found = true;", "found = false;"),
            "2 tests of the cmake project",
        ),
    ],
)
def test_fix_in_a_maven_and_a_cmake_project_is_judged_by_their_own_tests(
    perforch, workdir: Path, rel: str, file: str, function: str, bug: tuple[str, str], tests: str
):
    project = _copy(workdir, rel)
    path = project / file
    path.write_text(path.read_text().replace(*bug))
    broken = path.read_text()
    target = f"{project.name}/{file}::{function}"
    r = perforch("fix", target, "--models", BIG, "--json")
    result = r.json()
    assert tests in r.stderr, r.stderr
    assert "tests on your code: " in r.stderr and " failed" in r.stderr
    assert r.returncode == (0 if result["status"] == "succeeded" else 1), r.output
    assert result["attempts"] and result["attempts"][0]["stage"] == "fix"
    for attempt in result["attempts"]:  # the project's build and tests judged every reply
        outcome = attempt["tests"]
        assert outcome is None or outcome["passed"] or outcome["failures"] or outcome["error"]
    assert path.read_text() == broken  # no --apply: untouched


@pytest.mark.parametrize(
    ("rel", "file", "function", "tests"),
    [
        ("python/lonefile", "histogram.py", "histogram", "test_histogram.py"),
        ("cpp/lonefile", "histogram.cpp", "histogram", "histogram_test.cpp"),
        ("go/lonefile", "histogram.go", "Histogram", "histogram_test.go"),
        ("java/lonefile", "Histogram.java", "histogram", "HistogramTest.java"),
        ("rust/lonefile", "histogram.rs", "histogram", "histogram.rs"),
        ("go/setkit", "sets/sets.go", "Common", "1 test of the go project"),
        (
            "rust/textws",
            "crates/wordcount/src/lib.rs",
            "distinct_words",
            "tests of the cargo project",
        ),
        (
            "java/wordstats",
            "src/main/java/com/example/wordstats/WordStats.java",
            "countDistinct",
            "tests of the maven project",
        ),
    ],
)
def test_optimize_a_lone_file_measures_on_a_generated_workload(
    perforch, workdir: Path, rel: str, file: str, function: str, tests: str
):
    """In each of the five languages, the local model writes a Python input generator for a
    function whose tests (a test file beside it, or Rust's own test module; in a Go module, the
    package's external tests) only call it on a handful of samples; the profiler checks the
    generator on the original (through the measuring program's ``serve``), scales it, and
    measures every candidate on its inputs."""
    project = _copy(workdir, rel)
    before = (project / file).read_text()
    # In a Go module the workload is kept as a Go benchmark beside the function.
    bench = project / file.replace(".go", "_perforch_test.go") if rel == "go/setkit" else None
    saving = ["--save-workload", str(bench)] if bench else []
    r = perforch(
        "optimize", f"{project.name}/{file}::{function}", "--models", BIG, "--json", *saving
    )
    result = r.json()
    assert tests in r.stderr, r.stderr
    assert r.returncode == (0 if result["status"] == "succeeded" else 1), r.output
    workload = result["workload"]
    assert workload is not None, r.stderr  # the generator was accepted and scaled
    assert "def generate_input" in workload["generator"] and workload["size"] > 8
    # Scaled: one call of the original costs ≥ 1 ms of CPU, or the probe reached its largest
    # size (the 1.5B's generator for distinct_words writes one word of `size` letters).
    assert workload["per_call_ns"] >= 1_000_000 or workload["size"] >= 1 << 20, workload
    measured = [a["verdict"] for a in result["attempts"] if a["verdict"]]
    for verdict in measured:
        assert verdict["workload"].startswith("generated inputs"), verdict["workload"]
    assert (project / file).read_text() == before  # no --apply: untouched
    if bench is not None:
        assert f"saved the generated workload as {bench}" in r.stderr, r.stderr
        ran = subprocess.run(
            ["go", "test", "-run", "^$", "-bench", "PerforchGenerated", "-benchtime", "2x"],
            cwd=bench.parent, capture_output=True, text=True, timeout=300,
            env={**os.environ, "GOPROXY": "off"},
        )  # fmt: skip
        assert ran.returncode == 0 and "/seed=1" in ran.stdout, ran.stdout + ran.stderr
