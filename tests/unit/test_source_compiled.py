"""Functions, tasks and tests in C++, Java, Go and Rust files (tree-sitter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core import source
from perforch_core.errors import NoTestsError, SourceError
from perforch_core.languages import support
from perforch_core.llm.parsing import extract_function
from perforch_core.models import Language
from perforch_core.source import extras

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
        support(Language.GO).find_function(GO, "Nope", "mathx.go")
    assert "SumSquares" in (err.value.hint or "")


def test_a_models_reply_gives_the_function_reindented_with_its_helpers(tmp_path: Path):
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
    # The helper it calls comes along, before it; <vector> is in the file already.
    assert code.startswith("static long sq(long x)") and "#include" not in code
    assert "long sum_squares(" in code and "sq(x)" in code


GO_FILE = """package words

import (
\t"strings"
)

// Unique keeps the first of each word.
func Unique(xs []string) []string {
\treturn xs
}

func other() string { return strings.ToLower("X") }
"""


@pytest.mark.parametrize(
    ("language", "module", "function", "reply", "wanted_imports", "helper"),
    [
        (
            Language.GO,
            GO_FILE,
            "Unique",
            'package words\n\nimport (\n\t"sort"\n\t"strings"\n\t"fmt"\n)\n\n'
            "func less(a, b string) bool { return a < b }\n\n"
            "func Unique(xs []string) []string {\n"
            "\tout := append([]string(nil), xs...)\n"
            "\tsort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })\n"
            "\treturn out\n}\n\nfunc main() { fmt.Println(Unique(nil)) }\n",
            ['\t"sort"\n'],
            "func less(a, b string) bool",
        ),
        (
            Language.CPP,
            "#include <vector>\n\n"
            "int count_distinct(const std::vector<int>& v) {\n  return 0;\n}\n",
            "count_distinct",
            '#include <vector>\n#include <unordered_set>\n#include "mine.h"\n\n'
            "int count_distinct(const std::vector<int>& v) {\n"
            "  return std::unordered_set<int>(v.begin(), v.end()).size();\n}\n",
            ["#include <unordered_set>\n"],
            None,
        ),
        (
            Language.RUST,
            "//! Stats.\n\nuse std::fmt;\n\npub fn mode(v: &[i64]) -> i64 {\n    0\n}\n",
            "mode",
            "use std::collections::HashMap;\nuse std::fmt;\nuse std::io::Read;\n\n"
            "fn counts(v: &[i64]) -> HashMap<i64, usize> {\n"
            "    let mut m = HashMap::new();\n    for &x in v { *m.entry(x).or_insert(0) += 1; }\n"
            "    m\n}\n\npub fn mode(v: &[i64]) -> i64 {\n"
            "    counts(v).into_iter().max_by_key(|&(x, c)| (c, -x))"
            ".map(|(x, _)| x).unwrap_or(0)\n}\n",
            ["use std::collections::HashMap;\n"],
            "fn counts(v: &[i64])",
        ),
        (
            Language.JAVA,
            "package a;\n\nimport java.util.List;\n\nclass S {\n"
            "    static int n(List<String> w) {\n        return 0;\n    }\n}\n",
            "n",
            "import java.util.HashSet;\nimport java.util.List;\n\nclass S {\n"
            "    static int n(List<String> w) {\n        return distinct(w).size();\n    }\n"
            "    private static HashSet<String> distinct(List<String> w) {\n"
            "        return new HashSet<>(w);\n    }\n}\n",
            ["import java.util.HashSet;\n"],
            "private static HashSet<String> distinct",
        ),
    ],
)
def test_a_reply_that_adds_imports_and_helpers_merges_into_the_file(
    language: Language,
    module: str,
    function: str,
    reply: str,
    wanted_imports: list[str],
    helper: str | None,
):
    lang = support(language)
    span = lang.find_function(module, function)
    lines = module.splitlines(keepends=True)
    prefix, suffix = "".join(lines[: span.start]), "".join(lines[span.end :])
    indent = span.code[: len(span.code) - len(span.code.lstrip())]
    block = lang.block_from_reply(reply, function, indent, module=prefix + suffix)
    merged = extras.merge(language, prefix, block, suffix)
    assert not lang.has_errors(merged), merged
    for line in wanted_imports:  # in the file's own import block, once
        assert merged.count(line) == 1, merged
        assert merged.index(line) < merged.index(function)
    assert (
        "mine.h" not in merged
        and "fmt" not in merged.split("func Unique")[0].replace("package words", "")
    ) or language is not Language.GO
    assert "std::io::Read" not in merged  # unused imports are left out
    if helper is not None:  # beside the function, before it
        assert merged.count(helper) == 1 and merged.index(helper) < merged.index(f" {function}(")
    assert "func main" not in merged
    # Merging again (the file after --apply, the same block) adds nothing twice.
    again = lang.find_function(merged, function)
    lines = merged.splitlines(keepends=True)
    p2, s2 = "".join(lines[: again.start]), "".join(lines[again.end :])
    assert extras.missing_imports(language, p2 + s2, extras.split_imports(language, block)[0]) == []


@pytest.mark.parametrize(
    ("language", "reply", "signature", "kept"),
    [
        (
            Language.RUST,
            "fn f(v: &[i64]) -> i64 {\n    0\n}\n",
            "pub fn f(v: &[i64]) -> i64 {\n",
            "pub fn f(v: &[i64]) -> i64 {",
        ),
        (
            Language.RUST,
            "    fn g(&self) {}\n",
            "    pub(crate) fn g(&self) {\n",
            "    pub(crate) fn g(&self) {}",
        ),
        (
            Language.JAVA,
            "    int n(List<String> w) {\n    }\n",
            "    public static int n(List<String> w) {\n",
            "    public static int n(List<String> w) {",
        ),
        (Language.GO, "func F() int {\n\treturn 1\n}\n", "func F() int {\n", "func F() int {"),
    ],
)
def test_a_reply_that_drops_the_declared_visibility_gets_it_back(
    language: Language, reply: str, signature: str, kept: str
):
    """A generated Rust function without `pub`, a Java method without `public static`: callers
    elsewhere in the project no longer build (seen in `perforch bench projects`)."""
    assert support(language).keep_visibility(reply, signature).startswith(kept)


def test_a_cpp_tests_main_with_arguments_becomes_callable_with_them():
    from profiler.languages.cpp.harness import as_callable

    program = (
        "#include <cstdio>\nint twice(int x) { return 2 * x; }\n"
        "int main(int argc, char **argv) {\n    return twice(argc) == 2 ? 0 : 1;\n}\n"
    )
    includes, body = as_callable(program, "perforch_tests")
    assert includes == ["#include <cstdio>"]
    assert "int perforch_tests_main(int argc, char **argv) {" in body
    assert "int main" not in body
    # called as ./prog would be: one argument, the program's name
    assert "return perforch_tests_main(1, perforch_argv);" in body
    assert body.index("perforch_tests_main(int") < body.index("int perforch_tests() {")
