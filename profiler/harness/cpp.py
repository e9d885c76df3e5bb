"""The C++ harness (g++): a test program is the module plus its tests (``int main`` with
asserts); it passes when it exits 0.

Measuring: both programs go into one binary, each inside its own namespace with ``main`` renamed
(``return 0;`` added, since falling off a non-``main`` function is undefined), ``#include`` lines
hoisted; a driver calibrates K calls per batch (≥ 2 ms of thread CPU time), warms up and runs
interleaved A/B batch pairs in random order.
"""

from __future__ import annotations

import re

from perforch_core.errors import HarnessError
from perforch_core.models import Language, Metric

from ..protocol import CompareParams, RunTestsParams
from ..sandbox import Limits
from ..toolchains import cpp
from .compiled import CompiledHarness, Recipe

FLAGS = ("-std=c++17", "-O2", "-w")
MAIN = re.compile(r"\bint\s+main\s*\(\s*(void)?\s*\)\s*\{")
INCLUDE = re.compile(r"^\s*#\s*include\s*[<\"].*$", re.M)


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
static double perforch_batch(int which, long k, bool util) {
    double w0 = perforch_wall_ns(), c0 = perforch_cpu_ns();
    for (long i = 0; i < k; i++)
        perforch_sink = which == 0 ? perforch_a::perforch_tests() : perforch_b::perforch_tests();
    double cpu = perforch_cpu_ns() - c0, wall = perforch_wall_ns() - w0;
    return util ? (wall > 0 ? cpu / wall : 1.0) : cpu;
}
static double perforch_peak_bytes(int which) {
    long base = perforch_live;
    perforch_peak = perforch_live;
    perforch_sink = which == 0 ? perforch_a::perforch_tests() : perforch_b::perforch_tests();
    double v = (double)(perforch_peak - base);
    return v < 16384 ? 16384 : v;  // differences under 16 KiB are noise, not gains
}
static double perforch_median(double* v, int n) {
    std::sort(v, v + n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
int main(int argc, char** argv) {
    const int pairs = PAIRS;
    const int mode = MODE;  // 0 exec time, 1 CPU utilization, 2 peak heap bytes
    const bool util = mode == 1;
    long k = 1;
    while (k < (1L << 26) && perforch_batch(0, k, false) < 2e6) k *= 2;
    for (int w = 0; w < 2; w++) { perforch_batch(0, k, false); perforch_batch(1, k, false); }
    std::mt19937 rng(argc > 1 ? atoi(argv[1]) : 1);
    double ratios[pairs], va[pairs], vb[pairs];
    for (int p = 0; p < pairs; p++) {
        int first = rng() & 1;
        double t[2];
        if (mode == 2) {
            t[first] = perforch_peak_bytes(first);
            t[1 - first] = perforch_peak_bytes(1 - first);
        } else {
            t[first] = perforch_batch(first, k, util);
            t[1 - first] = perforch_batch(1 - first, k, util);
        }
        double per = mode == 0 ? (double)k : 1.0;
        va[p] = t[0] / per; vb[p] = t[1] / per; ratios[p] = t[0] / t[1];
    }
    printf("PERFORCH_RESULT {\"ratio\": %.9g, \"baseline\": %.9g, \"candidate\": %.9g, "
           "\"unit\": \"%s\", \"k\": %ld}\n", perforch_median(ratios, pairs),
           perforch_median(va, pairs), perforch_median(vb, pairs),
           mode == 2 ? "B" : (util ? "ratio" : "ns"), k);
    return 0;
}
"""


MODES = {Metric.EXEC_TIME: 0, Metric.CPU_UTILIZATION: 1, Metric.MAX_MEMORY: 2}


class CppHarness(CompiledHarness):
    language = Language.CPP
    failure_markers = ("Assertion", "failed", "terminate", "what()")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)

    def _recipe(self, source: str, run_args: tuple[str, ...] = ()) -> Recipe:
        tc = cpp()
        return Recipe(
            files={"main.cpp": source},
            compile=[str(tc.gxx), *FLAGS, "-o", "prog", "main.cpp"],
            artifact="prog",
            run=["./prog", *run_args],
            key=f"g++ {tc.version} {' '.join(FLAGS)}",
            compile_limits=Limits(wall_s=120, cpu_s=120, address_space_mb=4096),
        )

    def test_recipe(self, source: str, params: RunTestsParams) -> Recipe:
        return self._recipe(source)

    def bench_recipe(
        self, baseline: str, candidate: str, params: CompareParams, seed: int
    ) -> Recipe:
        if params.metric not in MODES:
            raise HarnessError(f"{params.metric.value} is not measured for C++ yet")
        inc_a, body_a = as_callable(baseline, "perforch_tests")
        inc_b, body_b = as_callable(candidate, "perforch_tests")
        includes = "\n".join(dict.fromkeys(inc_a + inc_b))
        driver = DRIVER.replace("PAIRS", str(params.pairs)).replace(
            "MODE", str(MODES[params.metric])
        )
        source = (
            f"{includes}\nnamespace perforch_a {{\n{body_a}\n}}\n"
            f"namespace perforch_b {{\n{body_b}\n}}\n{driver}"
        )
        # The seed is a run argument: one binary (built once) serves every process.
        return self._recipe(source, (str(seed),))
