"""The Go harness: a test program (``package main`` with testify-based ``Test*`` functions) is
built with ``go test -c`` offline (``GOPROXY=off``, the module cache prepared by
``profiler.toolchains``, ``CGO_ENABLED=0`` so building runs no user code) on a hard-linked copy
of the warm build cache, then the test binary runs."""

from __future__ import annotations

import dataclasses
import re

from perforch_core.errors import HarnessError
from perforch_core.models import Language, Metric

from ..protocol import CompareParams, RunTestsParams
from ..sandbox import Limits
from ..toolchains import go
from .compiled import CompiledHarness, Recipe


class GoHarness(CompiledHarness):
    language = Language.GO
    failure_markers = ("--- FAIL", "Error:", "expected", "actual", "panic:")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)

    def test_recipe(self, source: str, params: RunTestsParams) -> Recipe:
        return self._recipe({"src/main_test.go": source})

    def bench_recipe(
        self, baseline: str, candidate: str, params: CompareParams, seed: int
    ) -> Recipe:
        if params.metric not in (Metric.EXEC_TIME, Metric.CPU_UTILIZATION):
            raise HarnessError(f"{params.metric.value} is not measured for Go yet")
        pkg_a, tests_a = as_package(baseline, "perforch_a")
        pkg_b, tests_b = as_package(candidate, "perforch_b")
        driver = (
            GO_DRIVER.replace("CALLS_A", "; ".join(f"pa.{n}(t)" for n in tests_a))
            .replace("CALLS_B", "; ".join(f"pb.{n}(t)" for n in tests_b))
            .replace("PAIRS", str(params.pairs))
            .replace("UTIL", "true" if params.metric is Metric.CPU_UTILIZATION else "false")
        )
        recipe = self._recipe(
            {
                "src/perforch_a/a.go": pkg_a,
                "src/perforch_b/b.go": pkg_b,
                "src/main_test.go": driver,
            }
        )
        # The seed is a run argument: one binary (built once) serves every process.
        return dataclasses.replace(
            recipe,
            run=["./prog.test", "-test.run=TestPerforchBench", "-test.count=1", str(seed)],
        )

    def _recipe(self, files: dict[str, str]) -> Recipe:
        tc = go()
        template = tc.template
        return Recipe(
            files={
                "src/go.mod": (template / "go.mod").read_text(),
                "src/go.sum": (template / "go.sum").read_text(),
                **files,
            },
            # GOCACHE must be absolute: the linked copy in this build's directory.
            compile=[
                "sh",
                "-c",
                'export GOCACHE="$PWD/gocache"; cd src && go test -c -o ../prog.test .',
            ],
            artifact="prog.test",
            run=["./prog.test", "-test.v", "-test.count=1"],
            key=f"{tc.version} go test -c",
            ro_binds=[tc.goroot, tc.modcache],
            env={
                "PATH": f"{tc.goroot}/bin:/usr/bin:/bin",
                "HOME": "/tmp",
                "GOMODCACHE": str(tc.modcache),
                "GOFLAGS": "-mod=mod",
                "GOPROXY": "off",
                "GOTOOLCHAIN": "local",
                "GOTELEMETRY": "off",
                "CGO_ENABLED": "0",
                "GOPATH": "/tmp/gopath",
            },
            linked_dirs={"gocache": tc.buildcache},
            compile_limits=Limits(wall_s=180, cpu_s=180, address_space_mb=4096),
        )


GO_DRIVER = """package main

import (
    "flag"
    "fmt"
    "runtime"
    "sort"
    "strconv"
    "syscall"
    "testing"
    "unsafe"

    pa "perforch/candidate/perforch_a"
    pb "perforch/candidate/perforch_b"
)

func perforchClock(id uintptr) float64 {
    var ts syscall.Timespec
    syscall.Syscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0)
    return float64(ts.Sec)*1e9 + float64(ts.Nsec)
}

func perforchMedian(v []float64) float64 {
    sort.Float64s(v)
    n := len(v)
    if n%2 == 1 {
        return v[n/2]
    }
    return (v[n/2-1] + v[n/2]) / 2
}

func TestPerforchBench(t *testing.T) {
    runtime.LockOSThread() // thread CPU time must follow this goroutine
    util := UTIL
    run := func(which int) {
        if which == 0 {
            CALLS_A
        } else {
            CALLS_B
        }
    }
    batch := func(which int, k int, util bool) float64 {
        w0, c0 := perforchClock(1), perforchClock(3)
        for i := 0; i < k; i++ {
            run(which)
        }
        cpu, wall := perforchClock(3)-c0, perforchClock(1)-w0
        if util {
            if wall > 0 {
                return cpu / wall
            }
            return 1
        }
        return cpu
    }
    seed := uint64(1)
    if flag.NArg() > 0 {
        if s, err := strconv.ParseUint(flag.Arg(0), 10, 64); err == nil {
            seed = s*6364136223846793005 + 1442695040888963407
        }
    }
    k := 1
    for k < (1<<26) && batch(0, k, false) < 2e6 {
        k *= 2
    }
    for w := 0; w < 2; w++ {
        batch(0, k, false)
        batch(1, k, false)
    }
    var ratios, va, vb []float64
    for p := 0; p < PAIRS; p++ {
        seed ^= seed << 13
        seed ^= seed >> 7
        seed ^= seed << 17
        first := int(seed & 1)
        var tm [2]float64
        tm[first] = batch(first, k, util)
        tm[1-first] = batch(1-first, k, util)
        per := float64(k)
        if util {
            per = 1
        }
        va = append(va, tm[0]/per)
        vb = append(vb, tm[1]/per)
        ratios = append(ratios, tm[0]/tm[1])
    }
    unit := "ns"
    if util {
        unit = "ratio"
    }
    fmt.Printf("PERFORCH_RESULT {\\"ratio\\": %g, \\"baseline\\": %g, ",
        perforchMedian(ratios), perforchMedian(va))
    fmt.Printf("\\"candidate\\": %g, \\"unit\\": \\"%s\\", \\"k\\": %d}\\n",
        perforchMedian(vb), unit, k)
}
"""


def as_package(program: str, name: str) -> tuple[str, list[str]]:
    """The test program as package ``name`` (a regular file, so the driver can import it) and
    the names of its test functions, which the driver calls with its own ``*testing.T``."""
    tests = re.findall(r"^func\s+(Test\w+)\s*\(\s*\w+\s+\*testing\.T\s*\)", program, re.M)
    if not tests:
        raise HarnessError("the Go test program has no Test function")
    return re.sub(r"^package\s+main\b", f"package {name}", program, count=1, flags=re.M), tests
