"""The Go harness: a test program (``package main`` with testify-based ``Test*`` functions) is
built with ``go test -c`` offline (``GOPROXY=off``, the module cache prepared by
``profiler.toolchains``, ``CGO_ENABLED=0`` so building runs no user code) on a hard-linked copy
of the warm build cache, then the test binary runs."""

from __future__ import annotations

import dataclasses
import re

from perforch_core.errors import HarnessError
from perforch_core.models import Language, TestSpec

from ...harness.compiled import CompiledHarness, Recipe
from ...sandbox import Limits
from .toolchain import go


class GoHarness(CompiledHarness):
    language = Language.GO
    failure_markers = ("--- FAIL", "Error:", "expected", "actual", "panic:")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)
    counter_method = "bytes allocated (runtime.MemStats.TotalAlloc, Go's B/op)"
    # callgrind/cachegrind crash on Go's asynchronous preemption signals (shared/notes).
    valgrind_env = {"GODEBUG": "asyncpreemptoff=1"}

    def test_recipe(self, module: str, tests: TestSpec) -> Recipe:
        if tests.file is None:
            return self._recipe({"src/main_test.go": self.with_tests(module, tests)})
        name = tests.file if tests.file.endswith("_test.go") else "perforch_tests_test.go"
        return self._recipe({"src/perforch_module.go": module, f"src/{name}": tests.source})

    def _side(self, module: str, tests: TestSpec, pkg: str) -> tuple[dict[str, str], list[str]]:
        """One side as package ``pkg``: its files (tests in a regular file, so the driver can
        import them) and the names of its test functions."""
        if tests.file is None:
            text, names = as_package(self.with_tests(module, tests), pkg)
            return {f"src/{pkg}/main.go": text}, names
        test_text, names = as_package(tests.source, pkg)
        return {
            f"src/{pkg}/module.go": PACKAGE.sub(f"package {pkg}", module, count=1),
            f"src/{pkg}/tests.go": test_text,
        }, names

    def bench_recipe(self, baseline: str, candidate: str, tests: TestSpec) -> Recipe:
        files_a, tests_a = self._side(baseline, tests, "perforch_a")
        files_b, tests_b = self._side(candidate, tests, "perforch_b")
        driver = GO_DRIVER.replace("CALLS_A", "; ".join(f"pa.{n}(t)" for n in tests_a)).replace(
            "CALLS_B", "; ".join(f"pb.{n}(t)" for n in tests_b)
        )
        recipe = self._recipe({**files_a, **files_b, "src/main_test.go": driver})
        # One binary (built once) serves every process and metric: the driver's arguments.
        return dataclasses.replace(
            recipe, run=["./prog.test", "-test.run=TestPerforchBench", "-test.count=1"]
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
                # Pinned runtime settings: the memory figures (VmData+VmStk above all) depend
                # on them, and must compare across machines.
                "GOGC": "100",
                "GOMAXPROCS": "2",
                "GOPATH": "/tmp/gopath",
            },
            linked_dirs={"gocache": tc.buildcache},
            compile_limits=Limits(wall_s=180, cpu_s=180, address_space_mb=4096),
        )


GO_DRIVER = """package main

import (
    "flag"
    "fmt"
    "os"
    "runtime"
    "sort"
    "strconv"
    "syscall"
    "testing"
    "unsafe"

    pa "perforch/candidate/perforch_a"
    pb "perforch/candidate/perforch_b"
)

const targetNs = 1e6 // a batch costs ~1 ms of thread CPU time

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

func perforchArg(i int) uint64 {
    n, _ := strconv.ParseUint(flag.Arg(i), 10, 64)
    return n
}

// measure MODE PAIRS SEED | hold SIDE | count SIDE N
func TestPerforchBench(t *testing.T) {
    runtime.LockOSThread() // thread CPU time must follow this goroutine
    run := func(which int) {
        if which == 0 {
            CALLS_A
        } else if which == 1 {
            CALLS_B
        }
    }
    switch flag.Arg(0) {
    case "hold":
        side, c0, w0 := int(perforchArg(1)), perforchClock(3), perforchClock(1)
        for perforchClock(3)-c0 < 60e6 && perforchClock(1)-w0 < 2e9 {
            run(side)
        }
        return
    case "count":
        for i := uint64(0); i < perforchArg(2); i++ {
            run(int(perforchArg(1)))
        }
        return
    case "measure":
    default:
        fmt.Fprintln(os.Stderr, "usage: measure MODE PAIRS SEED | hold SIDE | count SIDE N")
        os.Exit(2)
    }
    mode, pairs := perforchArg(1), int(perforchArg(2))
    util := mode == 1
    seed := perforchArg(3)*6364136223846793005 + 1442695040888963407
    batch := func(which int, k int) float64 {
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
    // Bytes allocated by one test-suite run (Go's B/op: the runtime's own counter).
    var ms runtime.MemStats
    allocated := func(which int) float64 {
        runtime.ReadMemStats(&ms)
        before := ms.TotalAlloc
        run(which)
        runtime.ReadMemStats(&ms)
        v := float64(ms.TotalAlloc - before)
        if v < 16384 {
            return 16384 // differences under 16 KiB are noise, not gains
        }
        return v
    }
    k := 1
    tm := batch(0, k)
    for tm < targetNs/4 && k < (1<<26) {
        k *= 2
        tm = batch(0, k)
    }
    if tm > 0 && tm < targetNs {
        k = int(float64(k)*targetNs/tm) + 1
    }
    for w := 0; w < 2; w++ {
        batch(0, k)
        batch(1, k)
    }
    var ratios, va, vb []float64
    for p := 0; p < pairs; p++ {
        seed ^= seed << 13
        seed ^= seed >> 7
        seed ^= seed << 17
        first := int(seed & 1)
        var v [2]float64
        for _, side := range []int{first, 1 - first} {
            if mode == 2 {
                v[side] = allocated(side)
            } else {
                v[side] = batch(side, k)
            }
        }
        per := float64(k)
        if mode != 0 {
            per = 1
        }
        va = append(va, v[0]/per)
        vb = append(vb, v[1]/per)
        ratios = append(ratios, v[0]/v[1])
    }
    unit := map[uint64]string{0: "ns", 1: "ratio", 2: "B"}[mode]
    fmt.Printf("PERFORCH_RESULT {\\"ratio\\": %g, \\"baseline\\": %g, ",
        perforchMedian(ratios), perforchMedian(va))
    fmt.Printf("\\"candidate\\": %g, \\"unit\\": \\"%s\\", \\"k\\": %d}\\n",
        perforchMedian(vb), unit, k)
}
"""


PACKAGE = re.compile(r"^package\s+\w+", re.M)


def as_package(program: str, name: str) -> tuple[str, list[str]]:
    """A test program as package ``name`` (a regular file, so the driver can import it) and
    the names of its test functions, which the driver calls with its own ``*testing.T``."""
    tests = re.findall(r"^func\s+(Test\w+)\s*\(\s*\w+\s+\*testing\.T\s*\)", program, re.M)
    if not tests:
        raise HarnessError("the Go test program has no Test function")
    return PACKAGE.sub(f"package {name}", program, count=1), tests
