"""Functions, tasks and tests in C++, Java, Go and Rust files (tree-sitter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core import source
from perforch_core.errors import NoTestsError, SourceError
from perforch_core.llm.parsing import extract_function
from perforch_core.models import Language
from perforch_core.source import compiled

CPP = """#include <vector>

// Sum of squares.
long sum_squares(const std::vector<long>& v) {
    long s = 0;
    for (long x : v) s += x * x;
    return s;
}

namespace util {
int twice(int x) { return 2 * x; }
}
"""

JAVA = """package com.example;

public class MathX {
    /** Sum of squares. */
    public static long sumSquares(long[] v) {
        long s = 0;
        for (long x : v) s += x * x;
        return s;
    }

    private int other() { return 1; }
}
"""

GO = """package mathx

// SumSquares adds the squares.
func SumSquares(v []int64) int64 {
\tvar s int64
\tfor _, x := range v {
\t\ts += x * x
\t}
\treturn s
}

type T struct{}

func (T) Method() int { return 1 }
"""

RUST = """pub fn sum_squares(v: &[i64]) -> i64 {
    v.iter().map(|x| x * x).sum()
}

struct S;
impl S {
    fn method(&self) -> i32 { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sums() { assert_eq!(sum_squares(&[1, 2, 3]), 14); }
}
"""

SOURCES = {Language.CPP: CPP, Language.JAVA: JAVA, Language.GO: GO, Language.RUST: RUST}
NAMES = {
    Language.CPP: ["sum_squares", "twice"],
    Language.JAVA: ["sumSquares", "other"],
    Language.GO: ["SumSquares", "Method"],
    Language.RUST: ["sum_squares", "method", "sums"],
}


@pytest.mark.parametrize("language", list(SOURCES))
def test_functions_and_methods_are_found_with_whole_line_spans(language: Language):
    found = source.functions(language, SOURCES[language])
    assert [f.name for f in found] == NAMES[language]
    first = found[0]
    lines = SOURCES[language].splitlines(keepends=True)
    assert "".join(lines[first.start : first.end]) == first.code
    # The cursor anywhere in the body finds it; outside any function finds nothing.
    assert source.function_at(language, SOURCES[language], first.start + 2) == first
    blank = SOURCES[language].splitlines().index("")  # the blank line after it
    assert source.function_at(language, SOURCES[language], blank) is None


def test_replacing_a_function_keeps_the_rest_of_the_file_byte_for_byte():
    new = "long sum_squares(const std::vector<long>& v) {\n    return 0;\n}\n"
    out = source.replace_function(Language.CPP, CPP, "sum_squares", new)
    assert out.startswith("#include <vector>\n\n// Sum of squares.\n" + new)
    assert out.endswith(CPP[CPP.index("\nnamespace util") :])


def test_a_doc_comment_above_a_function_becomes_its_description(tmp_path: Path):
    path = tmp_path / "mathx.go"
    path.write_text(GO)
    (tmp_path / "mathx_test.go").write_text(
        'package mathx\n\nimport "testing"\n\nfunc TestS(t *testing.T) { SumSquares(nil) }\n'
    )
    task = source.task_from_file(path, "SumSquares")
    assert task.description.startswith("// SumSquares adds")
    assert task.tests.file == "mathx_test.go" and task.tests.kind == "program"
    assert task.program(task.current_code or "") == GO


def test_tests_are_found_beside_the_file_or_in_it(tmp_path: Path):
    (tmp_path / "MathX.java").write_text(JAVA)
    (tmp_path / "MathXTest.java").write_text(
        "public class MathXTest { public static void main(String[] a) {"
        " MathX.sumSquares(new long[] {1}); } }"
    )
    java = source.task_from_file(tmp_path / "MathX.java", "sumSquares")
    assert java.tests.file == "MathXTest.java"
    assert java.current_code and java.current_code.startswith("    public static long")

    (tmp_path / "lib.rs").write_text(RUST)
    rust = source.task_from_file(tmp_path / "lib.rs", "sum_squares")
    assert rust.tests.source == "" and "#[cfg(test)]" in rust.tests.origin

    (tmp_path / "m.cpp").write_text(CPP)
    with pytest.raises(NoTestsError) as err:
        source.task_from_file(tmp_path / "m.cpp", "sum_squares")
    assert "_test.cpp" in (err.value.hint or "")


def test_a_junit_class_without_main_is_not_taken_for_runnable_tests(tmp_path: Path):
    (tmp_path / "MathX.java").write_text(JAVA)
    (tmp_path / "MathXTest.java").write_text(
        "class MathXTest { @Test void t() { MathX.sumSquares(new long[0]); } }"
    )
    with pytest.raises(NoTestsError):
        source.task_from_file(tmp_path / "MathX.java", "sumSquares")


def test_unknown_function_lists_the_known_ones():
    with pytest.raises(SourceError) as err:
        compiled.find_function(Language.GO, GO, "Nope", "mathx.go")
    assert "SumSquares" in (err.value.hint or "")


def test_a_models_reply_gives_just_the_function_reindented(tmp_path: Path):
    (tmp_path / "MathX.java").write_text(JAVA)
    (tmp_path / "MathXTest.java").write_text(
        "public class MathXTest { public static void main(String[] a) {"
        " MathX.sumSquares(new long[] {1}); } }"
    )
    task = source.task_from_file(tmp_path / "MathX.java", "sumSquares")
    # A bare method (no class around it), as models often answer.
    reply = (
        "Here:\n```java\npublic static long sumSquares(long[] v) {\n"
        "    long s = 0;\n    for (long x : v) s += x * x;\n    return s;\n}\n```"
    )
    code = extract_function(reply, task, "m")
    assert code.startswith("    public static long sumSquares(long[] v) {\n        long s = 0;")
    assert task.program(code).count("class MathX") == 1

    cpp_reply = (
        "```cpp\n#include <vector>\nstatic long sq(long x) { return x * x; }\n"
        "long sum_squares(const std::vector<long>& v) {\n    long s = 0;\n"
        "    for (long x : v) s += sq(x);\n    return s;\n}\n```"
    )
    (tmp_path / "m.cpp").write_text(CPP)
    (tmp_path / "m_test.cpp").write_text('#include "m.cpp"\nint main() { sum_squares({}); }\n')
    cpp_task = source.task_from_file(tmp_path / "m.cpp", "sum_squares")
    code = extract_function(cpp_reply, cpp_task, "m")
    assert code.startswith("long sum_squares(") and "sq(x)" in code
