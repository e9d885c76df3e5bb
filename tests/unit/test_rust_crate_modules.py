"""What a Cargo crate's generated-workload build appends to the function's file: the
candidate's changed items in ``mod perforch_b`` (beside the original, seeing what it sees) and
the measuring program as one libtest test reading its arguments from ``PERFORCH_ARGS``."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core.errors import HarnessError
from profiler.languages.rust.crate_workload import (
    candidate_module,
    crate_driver,
    is_binary,
    measure_module,
)

STATS = (
    Path(__file__).resolve().parents[1] / "fixtures/projects/rust/numkit/src/stats.rs"
).read_text()
FAST = STATS.replace(
    """pub fn dedup_sorted(v: &[i64]) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    for &x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out.sort();
    out
}""",
    """fn sorted_copy(v: &[i64]) -> Vec<i64> {
    let mut out = v.to_vec();
    out.sort_unstable();
    out
}

pub fn dedup_sorted(v: &[i64]) -> Vec<i64> {
    let mut out = sorted_copy(v);
    out.dedup();
    let _seen: HashSet<i64> = HashSet::new();
    out
}""",
).replace("/// The distinct values", "use std::collections::HashSet;\n\n/// The distinct values", 1)


def test_the_candidate_module_holds_what_changed_and_sees_the_original():
    module = candidate_module(STATS, FAST, "dedup_sorted")
    assert module.lstrip().startswith("#[cfg(test)]") and "mod perforch_b {" in module
    assert "    use super::*;" in module and "    use std::collections::HashSet;" in module
    assert "    fn sorted_copy(v: &[i64]) -> Vec<i64> {" in module  # its helper came along
    assert "    pub fn dedup_sorted(v: &[i64]) -> Vec<i64> {" in module
    assert "out.dedup();" in module and "/// The distinct values" in module
    assert "fn mode(" not in module and "mod tests" not in module  # unchanged: the original's


def test_an_unchanged_candidate_is_the_function_alone():
    module = candidate_module(STATS, STATS, "dedup_sorted")
    assert "pub fn dedup_sorted" in module and "out.contains(&x)" in module
    assert "fn mode(" not in module and "fn spread(" not in module
    # The file's own doc comment (//!) stays with the file: inside a module it does not compile.
    lib = "//! Counting words.\n\n/// Distinct.\npub fn distinct(text: &str) -> usize {\n    0\n}\n"
    module = candidate_module(lib, lib, "distinct")
    assert "//!" not in module and "    /// Distinct.\n    pub fn distinct" in module


def test_a_method_or_a_nested_function_is_refused():
    nested = "mod inner {\n    pub fn f(x: i64) -> i64 { x }\n}\n"
    with pytest.raises(HarnessError, match="not at the top level"):
        candidate_module(nested, nested, "f")


def test_the_measuring_program_is_one_test_reading_its_arguments_from_the_environment():
    driver = crate_driver()
    assert "std::env::args()" not in driver and "PERFORCH_ARGS" in driver
    assert "pub fn perforch_main()" in driver and "#[test]\nfn perforch_bench()" in driver
    module = measure_module(STATS, "dedup_sorted")
    assert "super::dedup_sorted(" in module and "super::perforch_b::dedup_sorted(" in module
    assert is_binary("src/main.rs") and is_binary("src/bin/tool.rs")
    assert not is_binary("src/stats.rs") and not is_binary("crates/cli/src/lib.rs")


def test_methods_and_generic_functions_get_no_generator():
    from perforch_core import languages
    from perforch_core.models import Language, Task, TestSpec

    rust = languages.support(Language.RUST)

    def task(signature: str, entry: str) -> Task:
        tests = TestSpec(kind="program", source="", origin="t")
        return Task(
            id="t", language=Language.RUST, entry_point=entry, signature=signature, tests=tests
        )

    assert rust.takes_generated_inputs(
        task("pub fn dedup_sorted(v: &[i64]) -> Vec<i64>", "dedup_sorted")
    )
    assert not rust.takes_generated_inputs(task("pub fn len(&self) -> usize", "len"))
    assert not rust.takes_generated_inputs(task("fn push(&'a mut self, x: i64)", "push"))
    assert not rust.takes_generated_inputs(task("fn largest<T: Ord>(v: &[T]) -> &T", "largest"))


def test_items_are_found_through_strings_comments_lifetimes_and_attributes():
    from profiler.languages.rust.crate_workload import _items

    source = """//! Docs.
#![allow(dead_code)]
use std::collections::HashMap; // maps

/// A brace in a string: "{", a char: '}', a lifetime: 'a.
#[inline]
pub fn first<'a>(v: &'a [&'a str]) -> &'a str {
    let _s = "}}{"; let _c = '{'; let _r = r#"}"#;
    /* } nested /* { */ } */
    v[0]
} // end of first

#[derive(
    Debug,
)]
struct Pair(i64, i64);

#[cfg(test)]
mod tests {
    #[test]
    fn t() {}
}
"""
    found = [(kind, name, start, end) for start, end, kind, name in _items(source)]
    assert found == [
        ("use", None, 2, 2),
        ("fn", "first", 4, 10),
        ("other", None, 12, 15),
        ("mod", "tests", 17, 21),
    ]
