"""The Rust harness: ``rustc --test`` against prebuilt rlibs of the crates HumanEval-X uses
(``profiler.toolchains``), so builds need neither cargo nor network. A test program is the
module plus its ``#[cfg(test)] mod tests``; the test binary runs single-threaded."""

from __future__ import annotations

import dataclasses
import re

from perforch_core.errors import HarnessError
from perforch_core.models import Language, Metric

from ..protocol import CompareParams, RunTestsParams
from ..sandbox import Limits
from ..toolchains import rust
from .compiled import CompiledHarness, Recipe

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


DRIVER = r"""
#[repr(C)]
struct PerforchTimespec { tv_sec: i64, tv_nsec: i64 }
extern "C" { fn clock_gettime(clock: i32, tp: *mut PerforchTimespec) -> i32; }
fn perforch_clock(id: i32) -> f64 {
    let mut ts = PerforchTimespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { clock_gettime(id, &mut ts); }
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}
fn perforch_run(which: usize) { if which == 0 { CALLS_A } else { CALLS_B } }
fn perforch_batch(which: usize, k: u64, util: bool) -> f64 {
    let (w0, c0) = (perforch_clock(1), perforch_clock(3));
    for _ in 0..k { perforch_run(which); }
    let (cpu, wall) = (perforch_clock(3) - c0, perforch_clock(1) - w0);
    if util { if wall > 0.0 { cpu / wall } else { 1.0 } } else { cpu }
}
fn perforch_median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}
fn main() {
    let util = UTIL;
    let mut seed: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut k: u64 = 1;
    while k < (1 << 26) && perforch_batch(0, k, false) < 2e6 { k *= 2; }
    for _ in 0..2 { perforch_batch(0, k, false); perforch_batch(1, k, false); }
    let (mut ratios, mut va, mut vb) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        let first = (seed & 1) as usize;
        let mut t = [0.0f64; 2];
        t[first] = perforch_batch(first, k, util);
        t[1 - first] = perforch_batch(1 - first, k, util);
        let per = if util { 1.0 } else { k as f64 };
        va.push(t[0] / per); vb.push(t[1] / per); ratios.push(t[0] / t[1]);
    }
    print!("PERFORCH_RESULT {{\"ratio\": {}, \"baseline\": {}, ", perforch_median(ratios),
           perforch_median(va));
    println!("\"candidate\": {}, \"unit\": \"{}\", \"k\": {}}}", perforch_median(vb),
             if util { "ratio" } else { "ns" }, k);
}
"""


class RustHarness(CompiledHarness):
    language = Language.RUST
    failure_markers = ("panicked", "assertion", "FAILED", "left:", "right:")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)

    def test_recipe(self, source: str, params: RunTestsParams) -> Recipe:
        return self._recipe(source, test=True)

    def bench_recipe(
        self, baseline: str, candidate: str, params: CompareParams, seed: int
    ) -> Recipe:
        if params.metric not in (Metric.EXEC_TIME, Metric.CPU_UTILIZATION):
            raise HarnessError(f"{params.metric.value} is not measured for Rust yet")
        mod_a, calls_a = as_module(baseline, "perforch_a")
        mod_b, calls_b = as_module(candidate, "perforch_b")
        driver = (
            DRIVER.replace("CALLS_A", "; ".join(_opaque_call(c) for c in calls_a))
            .replace("CALLS_B", "; ".join(_opaque_call(c) for c in calls_b))
            .replace("PAIRS", str(params.pairs))
            .replace("UTIL", "true" if params.metric is Metric.CPU_UTILIZATION else "false")
        )
        recipe = self._recipe(mod_a + mod_b + driver, test=False)
        # The seed is a run argument: one binary (built once) serves every process.
        return dataclasses.replace(recipe, run=["./prog", str(seed)])

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
