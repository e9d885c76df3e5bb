"""The Rust harness: ``rustc --test`` against prebuilt rlibs of the crates HumanEval-X uses
(``profiler.toolchains``), so builds need neither cargo nor network. A test program is the
module plus its ``#[cfg(test)] mod tests``; the test binary runs single-threaded."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import Language, TestSpec

from ...harness.compiled import CompiledHarness, Recipe
from ...sandbox import Limits
from . import workload
from .toolchain import rust

FLAGS = ("--edition", "2021", "-O", "-A", "warnings")
TEST_FN = re.compile(r"#\[test\]\s*fn\s+(\w+)")


def as_module(program: str, name: str) -> tuple[str, list[str]]:
    """The test program as ``mod name`` with its ``#[test]`` functions callable: returns the
    module source and the paths of the test functions."""
    tests = TEST_FN.findall(program)
    if not tests:
        raise HarnessError("the Rust test program has no #[test] function")
    body = program.replace("#[cfg(test)]", "")
    body = re.sub(r"\bmod\s+tests\b", "pub mod tests", body)
    body = TEST_FN.sub(lambda m: f"pub fn {m.group(1)}", body)
    return f"mod {name} {{\n{body}\n}}\n", [f"{name}::tests::{t}" for t in tests]


def _opaque_call(path: str) -> str:
    """Call through a black-boxed function pointer: the tests are compiled once, standalone,
    and cannot be inlined into (and folded differently in) the measuring loop."""
    return f"(std::hint::black_box({path} as fn()))()"


DRIVER = Path(__file__).with_name("driver.rs").read_text()
WORKLOAD_IO = Path(__file__).with_name("workload_io.rs").read_text()


def sides(calls_a: list[str], calls_b: list[str]) -> str:
    """The driver's ``perforch_side``: side 0 runs the baseline's tests, 1 the candidate's."""
    a = "; ".join(_opaque_call(c) for c in calls_a)
    b = "; ".join(_opaque_call(c) for c in calls_b)
    return (
        f"fn perforch_side(which: usize) {{\n    if which == 0 {{ {a} }} "
        f"else if which == 1 {{ {b} }}\n}}\n"
    )


class RustHarness(CompiledHarness):
    language = Language.RUST
    failure_markers = ("panicked", "assertion", "FAILED", "left:", "right:")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)
    counter_method = "peak bytes live through a counting #[global_allocator]"
    generated_inputs = True

    def test_recipe(self, module: str, tests: TestSpec) -> Recipe:
        # libtest's summary comes after every test: a process::exit(0) inside one skips it.
        recipe = self._recipe(self.with_tests(module, tests), test=True)
        return dataclasses.replace(recipe, finished_marker="test result: ok.")

    def bench_recipe(
        self, baseline: str, candidate: str, tests: TestSpec, entry: str | None = None
    ) -> Recipe:
        mod_a, calls_a = as_module(self.with_tests(baseline, tests), "perforch_a")
        mod_b, calls_b = as_module(self.with_tests(candidate, tests), "perforch_b")
        if entry is None:
            driver = sides(calls_a, calls_b) + workload.TEST_SIDES + DRIVER
        else:
            mod_a, mod_b = workload.make_public(mod_a, entry), workload.make_public(mod_b, entry)
            driver = WORKLOAD_IO + workload.sides(baseline, entry) + DRIVER
        # One binary (built once) serves every process and metric: the driver's arguments.
        return dataclasses.replace(self._recipe(mod_a + mod_b + driver, test=False), run=["./prog"])

    def _recipe(self, source: str, *, test: bool) -> Recipe:
        tc = rust()
        externs = tc.externs()
        deps = next(iter(externs.values())).parent
        args = [str(tc.rustc), *FLAGS, *(["--test"] if test else []), "-L", f"dependency={deps}"]
        for name, path in externs.items():
            args += ["--extern", f"{name}={path}"]
        return Recipe(
            files={"main.rs": source},
            compile=[*args, "-o", "prog", "main.rs"],
            artifact="prog",
            run=["./prog", "--test-threads=1"],
            key=f"{tc.version} {' '.join(FLAGS)} {sorted(externs.items())}",
            ro_binds=[tc.sysroot, deps],
            compile_limits=Limits(wall_s=180, cpu_s=180, address_space_mb=8192),
        )
