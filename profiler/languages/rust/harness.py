"""The Rust harness: ``rustc --test`` against prebuilt rlibs of the crates HumanEval-X uses
(``profiler.toolchains``), so builds need neither cargo nor network. A test program is the
module plus its ``#[cfg(test)] mod tests``; the test binary runs single-threaded."""

from __future__ import annotations

import dataclasses
import re

from perforch_core.errors import HarnessError
from perforch_core.models import Language, TestSpec

from ...harness.compiled import CompiledHarness, Recipe
from ...sandbox import Limits
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


DRIVER = r"""
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
// Counting allocator: live and peak heap bytes of everything the program allocates.
struct PerforchAlloc;
static PERFORCH_LIVE: AtomicUsize = AtomicUsize::new(0);
static PERFORCH_PEAK: AtomicUsize = AtomicUsize::new(0);
fn perforch_grew(n: usize) {
    let live = PERFORCH_LIVE.fetch_add(n, Relaxed) + n;
    PERFORCH_PEAK.fetch_max(live, Relaxed);
}
unsafe impl GlobalAlloc for PerforchAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() { perforch_grew(l.size()); }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() { perforch_grew(l.size()); }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        PERFORCH_LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            PERFORCH_LIVE.fetch_sub(l.size(), Relaxed);
            perforch_grew(new);
        }
        q
    }
}
#[global_allocator]
static PERFORCH_ALLOC: PerforchAlloc = PerforchAlloc;

#[repr(C)]
struct PerforchTimespec { tv_sec: i64, tv_nsec: i64 }
extern "C" { fn clock_gettime(clock: i32, tp: *mut PerforchTimespec) -> i32; }
fn perforch_clock(id: i32) -> f64 {
    let mut ts = PerforchTimespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { clock_gettime(id, &mut ts); }
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}
const TARGET_NS: f64 = 1e6; // a batch costs ~1 ms of thread CPU time
fn perforch_run(which: usize) { if which == 0 { CALLS_A } else if which == 1 { CALLS_B } }
fn perforch_batch(which: usize, k: u64, util: bool) -> f64 {
    let (w0, c0) = (perforch_clock(1), perforch_clock(3));
    for _ in 0..k { perforch_run(which); }
    let (cpu, wall) = (perforch_clock(3) - c0, perforch_clock(1) - w0);
    if util { if wall > 0.0 { cpu / wall } else { 1.0 } } else { cpu }
}
fn perforch_peak_bytes(which: usize) -> f64 {
    let base = PERFORCH_LIVE.load(Relaxed);
    PERFORCH_PEAK.store(base, Relaxed);
    perforch_run(which);
    let v = PERFORCH_PEAK.load(Relaxed).saturating_sub(base) as f64;
    if v < 16384.0 { 16384.0 } else { v } // differences under 16 KiB are noise, not gains
}
fn perforch_median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}
fn main() {
    // measure MODE PAIRS SEED | hold SIDE | count SIDE N
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize| -> u64 { args.get(i).and_then(|s| s.parse().ok()).unwrap_or(0) };
    match args.get(1).map(|s| s.as_str()) {
        Some("hold") => {
            let (side, c0, w0) = (num(2) as usize, perforch_clock(3), perforch_clock(1));
            while perforch_clock(3) - c0 < 60e6 && perforch_clock(1) - w0 < 2e9 {
                perforch_run(side);
            }
            return;
        }
        Some("count") => {
            for _ in 0..num(3) { perforch_run(num(2) as usize); }
            return;
        }
        Some("measure") => {}
        _ => {
            eprintln!("usage: prog measure MODE PAIRS SEED | hold SIDE | count SIDE N");
            std::process::exit(2);
        }
    }
    let (mode, pairs) = (num(2), num(3));
    let util = mode == 1;
    let mut seed: u64 = num(4).wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut k: u64 = 1;
    let mut t = perforch_batch(0, k, false);
    while t < TARGET_NS / 4.0 && k < (1 << 26) { k *= 2; t = perforch_batch(0, k, false); }
    if t > 0.0 && t < TARGET_NS { k = ((k as f64 * TARGET_NS / t) as u64 + 1).min(1 << 26); }
    for _ in 0..2 { perforch_batch(0, k, false); perforch_batch(1, k, false); }
    let (mut ratios, mut va, mut vb) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..pairs {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        let first = (seed & 1) as usize;
        let mut v = [0.0f64; 2];
        for side in [first, 1 - first] {
            v[side] = if mode == 2 {
                perforch_peak_bytes(side)
            } else {
                perforch_batch(side, k, util)
            };
        }
        let per = if mode == 0 { k as f64 } else { 1.0 };
        va.push(v[0] / per); vb.push(v[1] / per); ratios.push(v[0] / v[1]);
    }
    let unit = match mode { 2 => "B", 1 => "ratio", _ => "ns" };
    print!("PERFORCH_RESULT {{\"ratio\": {}, \"baseline\": {}, ", perforch_median(ratios),
           perforch_median(va));
    println!("\"candidate\": {}, \"unit\": \"{}\", \"k\": {}}}", perforch_median(vb), unit, k);
}
"""


class RustHarness(CompiledHarness):
    language = Language.RUST
    failure_markers = ("panicked", "assertion", "FAILED", "left:", "right:")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)
    counter_method = "peak bytes live through a counting #[global_allocator]"

    def test_recipe(self, module: str, tests: TestSpec) -> Recipe:
        return self._recipe(self.with_tests(module, tests), test=True)

    def bench_recipe(self, baseline: str, candidate: str, tests: TestSpec) -> Recipe:
        mod_a, calls_a = as_module(self.with_tests(baseline, tests), "perforch_a")
        mod_b, calls_b = as_module(self.with_tests(candidate, tests), "perforch_b")
        driver = DRIVER.replace("CALLS_A", "; ".join(_opaque_call(c) for c in calls_a)).replace(
            "CALLS_B", "; ".join(_opaque_call(c) for c in calls_b)
        )
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
