"""The C++ harness (g++): a test program is the module plus its tests (``int main`` with
asserts); it passes when it exits 0.

Measuring: both programs go into one binary, each inside its own namespace with ``main`` renamed
(``return 0;`` added, since falling off a non-``main`` function is undefined), ``#include`` lines
hoisted; a driver calibrates K calls per batch (~1 ms of thread CPU time), warms up and runs
interleaved A/B batch pairs in random order. The same binary holds one side's tests for the memory
launcher (``hold``) and runs them a fixed number of times for valgrind (``count``).
"""

from __future__ import annotations

import re

from perforch_core.errors import HarnessError
from perforch_core.models import Language, TestSpec

from ...harness.compiled import CompiledHarness, Recipe
from ...sandbox import Limits
from .toolchain import cpp

FLAGS = ("-std=c++17", "-O2", "-w")
MAIN = re.compile(r"\bint\s+main\s*\(\s*(void)?\s*\)\s*\{")
INCLUDE = re.compile(r"^\s*#\s*include\s*[<\"].*$", re.M)
LOCAL_INCLUDE = re.compile(r"^\s*#\s*include\s*\".*$", re.M)


def _closing_brace(src: str, open_at: int) -> int:
    """Index of the brace closing the one at ``open_at``, skipping strings, chars, comments."""
    depth, i, n = 0, open_at, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = n if i < 0 else i
        elif src.startswith("/*", i):
            i = src.find("*/", i + 2)
            i = n if i < 0 else i + 1
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            i = j
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise HarnessError("unbalanced braces in the test program")


def as_callable(program: str, name: str) -> tuple[list[str], str]:
    """(the program's #include lines, the rest with ``main`` turned into ``int name()``)."""
    includes = [m.group(0).strip() for m in INCLUDE.finditer(program)]
    body = INCLUDE.sub("", program)
    m = MAIN.search(body)
    if m is None:
        raise HarnessError("the test program has no int main()")
    close = _closing_brace(body, m.end() - 1)
    body = (
        body[: m.start()]
        + f"int {name}() {{"
        + body[m.end() : close]
        + "\nreturn 0;\n"
        + body[close:]
    )
    return includes, body


DRIVER = r"""
#include <time.h>
#include <stdio.h>
#include <random>
#include <algorithm>
#include <stdlib.h>
#include <new>
#include <malloc.h>
#include <string.h>
#include <vector>
#define TARGET_NS 1e6  // a batch costs ~1 ms of thread CPU time (clock overhead ~1 us)
// Counting allocator: live and peak heap bytes of everything allocated with new.
static long perforch_live = 0, perforch_peak = 0;
void* operator new(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    perforch_live += malloc_usable_size(p);
    if (perforch_live > perforch_peak) perforch_peak = perforch_live;
    return p;
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept {
    if (p) { perforch_live -= malloc_usable_size(p); free(p); }
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }
static double perforch_cpu_ns() {
    timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}
static double perforch_wall_ns() {
    timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}
static volatile int perforch_sink;
static void perforch_tests(int which);
static double perforch_batch(int which, long k, bool util) {
    double w0 = perforch_wall_ns(), c0 = perforch_cpu_ns();
    for (long i = 0; i < k; i++) perforch_tests(which);
    double cpu = perforch_cpu_ns() - c0, wall = perforch_wall_ns() - w0;
    return util ? (wall > 0 ? cpu / wall : 1.0) : cpu;
}
static double perforch_peak_bytes(int which) {
    long base = perforch_live;
    perforch_peak = perforch_live;
    perforch_tests(which);
    double v = (double)(perforch_peak - base);
    return v < 16384 ? 16384 : v;  // differences under 16 KiB are noise, not gains
}
static double perforch_median(double* v, int n) {
    std::sort(v, v + n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
static void perforch_tests(int which) {
    perforch_sink = which == 0 ? perforch_a::perforch_tests() : perforch_b::perforch_tests();
}
// hold SIDE: run one side's tests (2: none, the empty harness) for >= 60 ms of CPU time, so the
// launcher's 1 ms samples see the workload's memory.
static int perforch_hold(int side) {
    double c0 = perforch_cpu_ns(), w0 = perforch_wall_ns();
    do {
        if (side < 2) perforch_tests(side);
    } while (perforch_cpu_ns() - c0 < 60e6 && perforch_wall_ns() - w0 < 2e9);
    return 0;
}
int main(int argc, char** argv) {
    // measure MODE PAIRS SEED | hold SIDE | count SIDE N (valgrind: N runs of one side's tests)
    if (argc > 2 && strcmp(argv[1], "hold") == 0) return perforch_hold(atoi(argv[2]));
    if (argc > 3 && strcmp(argv[1], "count") == 0) {
        int side = atoi(argv[2]);
        for (long i = 0, n = atol(argv[3]); side < 2 && i < n; i++) perforch_tests(side);
        return 0;
    }
    if (argc < 5 || strcmp(argv[1], "measure") != 0) {
        fprintf(stderr, "usage: prog measure MODE PAIRS SEED | hold SIDE | count SIDE N\n");
        return 2;
    }
    const int mode = atoi(argv[2]);  // 0 exec time, 1 CPU utilization, 2 peak heap bytes
    const int pairs = atoi(argv[3]);
    const bool util = mode == 1;
    // K calls per batch: double until a batch costs a quarter of the target, then scale.
    long k = 1;
    double t;
    while ((t = perforch_batch(0, k, false)) < TARGET_NS / 4 && k < (1L << 26)) k *= 2;
    if (t > 0 && t < TARGET_NS) k = std::min(1L << 26, (long)(k * (TARGET_NS / t)) + 1);
    for (int w = 0; w < 2; w++) { perforch_batch(0, k, false); perforch_batch(1, k, false); }
    std::mt19937 rng(atoi(argv[4]));
    std::vector<double> ratios(pairs), va(pairs), vb(pairs);
    for (int p = 0; p < pairs; p++) {
        int first = rng() & 1;
        double v[2];
        if (mode == 2) {
            v[first] = perforch_peak_bytes(first);
            v[1 - first] = perforch_peak_bytes(1 - first);
        } else {
            v[first] = perforch_batch(first, k, util);
            v[1 - first] = perforch_batch(1 - first, k, util);
        }
        double per = mode == 0 ? (double)k : 1.0;
        va[p] = v[0] / per; vb[p] = v[1] / per; ratios[p] = v[0] / v[1];
    }
    printf("PERFORCH_RESULT {\"ratio\": %.9g, \"baseline\": %.9g, \"candidate\": %.9g, "
           "\"unit\": \"%s\", \"k\": %ld}\n", perforch_median(ratios.data(), pairs),
           perforch_median(va.data(), pairs), perforch_median(vb.data(), pairs),
           mode == 2 ? "B" : (util ? "ratio" : "ns"), k);
    return 0;
}
"""


class CppHarness(CompiledHarness):
    language = Language.CPP
    failure_markers = ("Assertion", "failed", "terminate", "what()")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)
    counter_method = "peak bytes live through a counting global operator new"

    def _recipe(self, source: str) -> Recipe:
        tc = cpp()
        pch = tc.pch_dir(FLAGS)
        include = ["-I", str(pch)] if (pch / "bits").is_dir() else []
        return Recipe(
            files={"main.cpp": source},
            compile=[str(tc.gxx), *FLAGS, *include, "-o", "prog", "main.cpp"],
            artifact="prog",
            run=["./prog"],
            key=f"g++ {tc.version} {' '.join(FLAGS)} pch={bool(include)}",
            ro_binds=[pch] if include else [],
            compile_limits=Limits(wall_s=120, cpu_s=120, address_space_mb=4096),
        )

    @staticmethod
    def with_tests(module: str, tests: TestSpec) -> str:
        """The module, then the tests; a test file's ``#include "…"`` lines are dropped (they
        name the module or its header, whose text is already there)."""
        source = LOCAL_INCLUDE.sub("", tests.source) if tests.file else tests.source
        return f"{module.rstrip()}\n\n{source}"

    def test_recipe(self, module: str, tests: TestSpec) -> Recipe:
        return self._recipe(self.with_tests(module, tests))

    def bench_recipe(self, baseline: str, candidate: str, tests: TestSpec) -> Recipe:
        inc_a, body_a = as_callable(self.with_tests(baseline, tests), "perforch_tests")
        inc_b, body_b = as_callable(self.with_tests(candidate, tests), "perforch_tests")
        includes = "\n".join(dict.fromkeys(inc_a + inc_b))
        return self._recipe(
            f"{includes}\nnamespace perforch_a {{\n{body_a}\n}}\n"
            f"namespace perforch_b {{\n{body_b}\n}}\n{DRIVER}"
        )
