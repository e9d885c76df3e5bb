"""The second task shape: a user's source file with its function, tested by the user's own test
file beside it (Go's x_test.go, a Java test class, a C++ test program including the module) or
by in-file tests (Rust). Run, broken, and measured through the real daemon."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from perforch_core.models import Language, Metric, Task, TestSpec
from profiler.client import ProfilerClient


@dataclass(frozen=True)
class Project:
    prefix: str
    function: str
    suffix: str
    tests: TestSpec
    bug: tuple[str, str]  # (text, replacement) that breaks the function
    spin: tuple[str, str]  # (text, replacement) that adds a busy loop to it


PROJECTS = {
    Language.CPP: Project(
        prefix="#include <vector>\n\n",
        function="long sum_squares(const std::vector<long>& v) {\n"
        "    long s = 0;\n    for (long x : v) s += x * x;\n    return s;\n}\n",
        suffix="",
        tests=TestSpec(
            kind="program",
            file="mathx_test.cpp",
            origin="mathx_test.cpp",
            source='#include <cassert>\n#include <numeric>\n#include "mathx.cpp"\n\n'
            "int main() {\n    std::vector<long> v(2000);\n"
            "    std::iota(v.begin(), v.end(), 1);\n"
            "    assert(sum_squares(v) == 2668667000L);\n}\n",
        ),
        bug=("s += x * x", "s += x"),
        spin=("long s = 0;", "long s = 0;\n    for (volatile int i = 0; i < 20000; i++) {}"),
    ),
    Language.GO: Project(
        prefix="package mathx\n\n",
        function="func SumSquares(v []int64) int64 {\n"
        "\tvar s int64\n\tfor _, x := range v {\n\t\ts += x * x\n\t}\n\treturn s\n}\n",
        suffix="",
        tests=TestSpec(
            kind="program",
            file="mathx_test.go",
            origin="mathx_test.go",
            source='package mathx\n\nimport "testing"\n\n'
            "func TestSumSquares(t *testing.T) {\n\tv := make([]int64, 2000)\n"
            "\tfor i := range v {\n\t\tv[i] = int64(i + 1)\n\t}\n"
            "\tif got := SumSquares(v); got != 2668667000 {\n"
            '\t\tt.Fatalf("SumSquares = %d", got)\n\t}\n}\n',
        ),
        bug=("s += x * x", "s += x"),
        spin=(
            "var s int64",
            "var s int64\n\tspin := 0\n\tfor i := 0; i < 2000000; i++ {\n"
            "\t\tspin += i ^ (spin >> 3)\n\t}\n\tif spin == 42 {\n\t\tpanic(spin)\n\t}",
        ),
    ),
    Language.JAVA: Project(
        prefix="package com.example;\n\npublic class MathX {\n",
        function="    public static long sumSquares(long[] v) {\n"
        "        long s = 0;\n        for (long x : v) s += x * x;\n        return s;\n    }\n",
        suffix="}\n",
        tests=TestSpec(
            kind="program",
            file="MathXTest.java",
            origin="MathXTest.java",
            source="package com.example;\n\npublic class MathXTest {\n"
            "    public static void main(String[] args) {\n"
            "        long[] v = new long[2000];\n"
            "        for (int i = 0; i < v.length; i++) v[i] = i + 1;\n"
            '        if (MathX.sumSquares(v) != 2668667000L) throw new AssertionError("sum");\n'
            "    }\n}\n",
        ),
        bug=("s += x * x", "s += x"),
        spin=(
            "long s = 0;",
            "long s = 0;\n        for (int i = 0; i < 20000; i++) { System.nanoTime(); }",
        ),
    ),
    Language.RUST: Project(
        prefix="",
        function="pub fn sum_squares(v: &[i64]) -> i64 {\n    v.iter().map(|x| x * x).sum()\n}\n",
        suffix="\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n"
        "    fn sums() {\n        let v: Vec<i64> = (1..=2000).collect();\n"
        "        assert_eq!(sum_squares(std::hint::black_box(&v)), 2668667000);\n    }\n}\n",
        tests=TestSpec(kind="program", source="", origin="the file's #[cfg(test)] module"),
        bug=("x * x", "x + x"),
        spin=(
            "v.iter()",
            "for _ in 0..std::hint::black_box(20000u32) { std::hint::black_box(0); }\n    v.iter()",
        ),
    ),
}


def _task(language: Language, project: Project) -> Task:
    return Task(
        id=f"mathx::{language.value}",
        language=language,
        entry_point="sum_squares",
        module="mathx",
        prefix=project.prefix,
        suffix=project.suffix,
        signature=project.function.splitlines()[0],
        current_code=project.function,
        tests=project.tests,
    )


@pytest.mark.slow
@pytest.mark.parametrize("language", list(PROJECTS))
async def test_a_users_file_with_its_tests_runs_fails_when_broken_and_is_measured(
    client, language: Language
):
    project = PROJECTS[language]
    task = _task(language, project)
    good = project.function
    outcome = await client.run_tests(task, good)
    assert outcome.passed, outcome.failure_report()

    broken = good.replace(*project.bug)
    assert broken != good
    outcome = await client.run_tests(task, broken)
    assert not outcome.passed and outcome.failure_report().strip()

    slow = good.replace(*project.spin)
    assert slow != good
    assert (await client.run_tests(task, slow)).passed
    verdict = await client.compare(task, slow, good, Metric.EXEC_TIME, 5.0)
    assert verdict.decision == "improved", verdict


async def test_a_users_module_named_like_the_stdlib_does_not_break_the_daemon(
    tmp_path, monkeypatch
):
    """The daemon starts from the user's directory: a numbers.py there once shadowed the
    standard library's (pydantic imports it) and the daemon died at start."""
    (tmp_path / "numbers.py").write_text("def total(v):\n    return sum(v)\n")
    monkeypatch.chdir(tmp_path)
    task = Task(
        id="numbers.py::total",
        language=Language.PYTHON,
        entry_point="total",
        module="numbers",
        signature="def total(v):",
        current_code="def total(v):\n    return sum(v)\n",
        tests=TestSpec(kind="doctest", source=">>> total([1, 2])\n3\n", origin="test"),
    )
    async with ProfilerClient() as c:
        outcome = await c.run_tests(task, task.current_code or "")
    assert outcome.passed, outcome.failure_report()
