"""The Go harness: a test program (``package main`` with testify-based ``Test*`` functions) is
built with ``go test -c`` offline (``GOPROXY=off``, the module cache prepared by
``profiler.toolchains``, ``CGO_ENABLED=0`` so building runs no user code) on a copy of the warm
build cache made of links to it (read-only inside the sandbox), then the test binary runs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import Language, TestSpec

from ...harness.compiled import INPUTS, CompiledHarness, Recipe
from ...sandbox import Limits
from .toolchain import go


class GoHarness(CompiledHarness):
    language = Language.GO
    failure_markers = ("--- FAIL", "Error:", "expected", "actual", "panic:")
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)
    counter_method = "bytes allocated (runtime.MemStats.TotalAlloc, Go's B/op)"
    generated_inputs = True
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

    def bench_recipe(
        self, baseline: str, candidate: str, tests: TestSpec, entry: str | None = None
    ) -> Recipe:
        files_a, tests_a = self._side(baseline, tests, "perforch_a")
        files_b, tests_b = self._side(candidate, tests, "perforch_b")
        if entry is None:
            chosen = sides(tests_a, tests_b, parallel=".Parallel()" in tests.source) + TEST_SIDES
        else:
            chosen = workload_sides()
            for pkg, files in (("perforch_a", files_a), ("perforch_b", files_b)):
                files[f"src/{pkg}/perforch_entry.go"] = exported(pkg, entry)
        recipe = self._recipe(
            {
                **files_a,
                **files_b,
                "src/main_test.go": DRIVER,
                "src/perforch_io_test.go": WORKLOAD_IO,
                "src/perforch_sides_test.go": chosen,
            }
        )
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
            # paniconexit0: an os.Exit(0) inside a test fails it (as `go test` does; the binary
            # run by itself would exit 0 and count as passed: the adversarial benchmark).
            run=["./prog.test", "-test.v", "-test.count=1", "-test.paniconexit0"],
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


DRIVER = Path(__file__).with_name("driver_test.go").read_text()
WORKLOAD_IO = Path(__file__).with_name("workload_io_test.go").read_text()
TEST_SIDES = """
func perforchPrepare() {}

func perforchServe() { perforchUsage("this program was not built for generated inputs") }
"""
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def exported(pkg: str, entry: str) -> str:
    """A file in a side's package that exports its function (it may be unexported)."""
    if not IDENTIFIER.fullmatch(entry):
        raise HarnessError(f"{entry!r} is not a Go function name")
    return (
        f"package {pkg}\n\n// PerforchEntry is the function generated inputs call.\n"
        f"var PerforchEntry = {entry}\n"
    )


def workload_sides(
    import_a: str = "perforch/candidate/perforch_a", import_b: str = "perforch/candidate/perforch_b"
) -> str:
    """The driver's sides for a generated workload: each side's run calls the function on
    every input (``workload_io_test.go``), and ``serve`` calls it on one. The sides are the
    packages at ``import_a`` and ``import_b``."""
    return (
        'package main\n\nimport (\n\t"testing"\n\n'
        f'\tpa "{import_a}"\n\tpb "{import_b}"\n)\n\n'
        "var perforchWA = perforchNewWorkload(pa.PerforchEntry)\n"
        "var perforchWB = perforchNewWorkload(pb.PerforchEntry)\n\n"
        "func perforchPrepare() {\n"
        f'\tperforchWA.load("{INPUTS}")\n\tperforchWB.load("{INPUTS}")\n}}\n\n'
        "func perforchSide(which int, t *testing.T) {\n"
        "\tif which == 0 {\n\t\tperforchWA.run()\n\t} else if which == 1 {\n"
        "\t\tperforchWB.run()\n\t}\n}\n\n"
        "func perforchServe() { perforchServeLoop([2]*perforchWorkload{perforchWA, perforchWB}) }\n"
    )


def sides(tests_a: list[str], tests_b: list[str], parallel: bool = False) -> str:
    """The driver's ``perforchSide``: side 0 runs the baseline's tests, 1 the candidate's,
    called with the driver's ``*testing.T``. Tests with parallel subtests (``t.Parallel``) run
    as subtests themselves (``t.Run`` returns when all their subtests have finished; a direct
    call would leave those running after the batch was timed); the others are called directly,
    which costs no goroutine per call."""

    def call(pkg: str, name: str) -> str:
        return f't.Run("{name}", {pkg}.{name})' if parallel else f"{pkg}.{name}(t)"

    a = "; ".join(call("pa", n) for n in tests_a)
    b = "; ".join(call("pb", n) for n in tests_b)
    return (
        'package main\n\nimport (\n\t"testing"\n\n'
        '\tpa "perforch/candidate/perforch_a"\n\tpb "perforch/candidate/perforch_b"\n)\n\n'
        "func perforchSide(which int, t *testing.T) {\n"
        f"\tif which == 0 {{\n\t\t{a}\n\t}} else if which == 1 {{\n\t\t{b}\n\t}}\n}}\n"
    )


PACKAGE = re.compile(r"^package\s+\w+", re.M)


def as_package(program: str, name: str) -> tuple[str, list[str]]:
    """A test program as package ``name`` (a regular file, so the driver can import it) and
    the names of its test functions, which the driver calls with its own ``*testing.T``."""
    tests = re.findall(r"^func\s+(Test\w+)\s*\(\s*\w+\s+\*testing\.T\s*\)", program, re.M)
    if not tests:
        raise HarnessError("the Go test program has no Test function")
    return PACKAGE.sub(f"package {name}", program, count=1), tests
