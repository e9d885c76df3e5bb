"""Each compiled language's measuring driver (``profiler/languages/<name>/driver.*``) against
the measuring contract (``profiler/harness/contract.py``), built with test sides whose side 1
allocates 1 MiB and side 0 nothing: allocation counts are exact, so they can be asserted;
times are only checked for shape."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from perforch_core.errors import HarnessError
from profiler.harness import contract
from profiler.languages.cpp.harness import DRIVER as CPP_DRIVER
from profiler.languages.go.harness import DRIVER as GO_DRIVER
from profiler.languages.java.harness import DRIVER as JAVA_DRIVER
from profiler.languages.java.toolchain import process_clock
from profiler.languages.rust.harness import DRIVER as RUST_DRIVER

SIDES = Path(__file__).with_name("drivers")
MIB = 1 << 20
# Small K: the test sides do no work, so calibration would otherwise run up to 2**26 calls.
QUICK = contract.Constants(max_k=1024)

Driver = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def _runner(prefix: list[str], cwd: Path) -> Driver:
    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *args], cwd=cwd, capture_output=True, text=True, timeout=120
        )

    return run


def _cpp(wd: Path) -> Driver:
    (wd / "driver.cpp").write_text(CPP_DRIVER)
    shutil.copy(SIDES / "sides.cpp", wd)
    _run(["g++", "-std=c++17", "-O2", "-o", "prog", "sides.cpp", "driver.cpp"], wd)
    return _runner(["./prog"], wd)


def _rust(wd: Path) -> Driver:
    (wd / "main.rs").write_text((SIDES / "sides.rs").read_text() + RUST_DRIVER)
    _run(["rustc", "--edition", "2021", "-O", "-o", "prog", "main.rs"], wd)
    return _runner(["./prog"], wd)


def _go(wd: Path) -> Driver:
    (wd / "go.mod").write_text("module perforch/drivertest\n\ngo 1.21\n")
    (wd / "driver_test.go").write_text(GO_DRIVER)
    shutil.copy(SIDES / "sides_test.go", wd)
    env = {**os.environ, "CGO_ENABLED": "0", "GOPROXY": "off", "GOFLAGS": "-mod=mod"}
    _run(["go", "test", "-c", "-o", "prog.test", "."], wd, env)
    return _runner(["./prog.test", "-test.run=TestPerforchBench", "-test.count=1"], wd)


def _java(wd: Path) -> Driver:
    (wd / "PerforchBench.java").write_text(JAVA_DRIVER)
    shutil.copy(SIDES / "PerforchSides.java", wd)
    _run(["javac", "-d", "classes", "PerforchBench.java", "PerforchSides.java"], wd)
    clock = f"-Dperforch.clock={process_clock()}"
    return _runner(["java", "-Xshare:auto", clock, "-cp", "classes", "PerforchBench"], wd)


BUILDERS = {"cpp": _cpp, "rust": _rust, "go": _go, "java": _java}


@pytest.fixture(scope="module", params=list(BUILDERS))
def driver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Driver:
    wd = tmp_path_factory.mktemp(f"driver-{request.param}")
    return BUILDERS[request.param](wd)


def test_allocated_counts_one_mib_against_the_floor(driver: Driver) -> None:
    done = driver(contract.measure_argv(contract.Mode.ALLOCATED, 3, 7, QUICK))
    assert done.returncode == 0, done.stderr
    result = contract.parse_result(done.stdout, contract.Mode.ALLOCATED)
    assert result is not None, done.stdout
    assert result.baseline == QUICK.floor_bytes  # side 0 allocates nothing: floored
    assert MIB <= result.candidate < 2 * MIB
    assert result.ratio == pytest.approx(result.baseline / result.candidate, rel=1e-6)


@pytest.mark.parametrize("mode", [contract.Mode.CPU_TIME, contract.Mode.CPU_PER_WALL])
def test_time_modes_answer_in_the_contracts_shape(driver: Driver, mode: contract.Mode) -> None:
    done = driver(contract.measure_argv(mode, 3, 1, QUICK))
    assert done.returncode == 0, done.stderr
    result = contract.parse_result(done.stdout, mode)
    assert result is not None, done.stdout
    assert 1 <= result.k <= QUICK.max_k
    assert result.baseline >= 0 and result.candidate >= 0 and result.ratio > 0
    assert result.wall_baseline > 0 and result.wall_candidate > 0  # beside the CPU time
    assert min(result.first) > 0 and min(result.second) > 0  # each side's first two runs


def test_hold_and_count_run_and_exit_cleanly(driver: Driver) -> None:
    quick_hold = contract.Constants(hold_cpu_ns=1_000_000, hold_wall_ns=100_000_000)
    for side in (0, 1, 2):
        assert driver(contract.hold_argv(side, quick_hold)).returncode == 0
        assert driver(contract.count_argv(side, 3)).returncode == 0


def test_another_contract_version_or_mode_is_refused(driver: Driver) -> None:
    argv = contract.measure_argv(contract.Mode.CPU_TIME, 3, 1, QUICK)
    other = driver([argv[0], "1", *argv[2:]])
    assert other.returncode == 2 and "contract 2" in other.stderr
    bad_mode = driver([*argv[:2], "wall_time", *argv[3:]])
    assert bad_mode.returncode == 2 and "unknown mode" in bad_mode.stderr
    assert driver(["measure"]).returncode == 2


def test_a_result_line_of_another_contract_is_the_harness_bug() -> None:
    line = 'PERFORCH_RESULT {"contract": 1, "ratio": 1, "baseline": 1, "candidate": 1, '
    line += '"unit": "ns", "k": 1, "wall_baseline": 1, "wall_candidate": 1, "first": [1, 1], '
    line += '"second": [1, 1]}'
    with pytest.raises(HarnessError, match="contract 1"):
        contract.parse_result(line, contract.Mode.CPU_TIME)
    assert contract.parse_result("no result here", contract.Mode.CPU_TIME) is None
