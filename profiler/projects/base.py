"""What every project runner shares: the sandboxed copy of the user's project, its own build
cache, one sandboxed step, the first error line a person reads, and turning per-test results
into a ``TestOutcome``.

The copy is the project without its build output, environments or VCS data, with the candidate
patched into the function's file, mounted at a fixed path inside the sandbox (``/perforch/src``)
so that build systems that record absolute paths (CMake, cargo) build incrementally. The build
cache is per project (a hash of its root), bound writable at ``/perforch-cache``: two projects'
caches never mix. Dependency caches are bound read-only and used offline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perforch_core.errors import HarnessError
from perforch_core.models import (
    SKIP_DIRS,
    Metric,
    ProjectSpec,
    TestFailure,
    TestInputs,
    TestOutcome,
)

from ..harness.base import ProcessResult
from ..protocol import CompareParams, RunTestsParams, TraceResult
from ..sandbox import NOBODY, OUTPUT_TAIL, Limits, RunResult, run_sandboxed
from ..toolchains import cache_root

INSIDE = "/perforch"  # the work dir inside the sandbox
SRC = f"{INSIDE}/src"  # the project's copy
CACHE = "/perforch-cache"  # the project's build cache inside the sandbox
TAIL = 4000
SKIPPED = "\0skipped"  # a test the project skips itself (a +SKIP doctest, @pytest.mark.skip)


# A real project's build may write gigabytes (a cold Cargo build with its dependencies): its
# steps may add 8 GiB and 300,000 files to the disk, a lone file's runs 2 GiB and 100,000. One
# file may be large (a debug rlib of clap or zerocopy is 15 MiB, a test binary with its debug
# info more): 1 GiB a file, the disk ceiling bounding them all.
PROJECT_LIMITS = Limits(wall_s=300, cpu_s=600, disk_mb=8192, disk_files=300_000, file_size_mb=1024)


@dataclass
class Step:
    """One sandboxed command of a runner."""

    argv: Sequence[str]
    cwd: str = SRC  # inside the sandbox
    env: Mapping[str, str] = field(default_factory=dict)
    ro_binds: Sequence[str | Path] = ()
    limits: Limits = field(default_factory=lambda: PROJECT_LIMITS)


def first_error(text: str) -> str:
    """The line a person reads first: a compiler's or a test's first error line."""
    patterns = (
        r"^\S+\.(?:go|rs|java|cpp|cc|cxx|h|hpp|py):\d+(?::\d+)?:\s*(?:fatal )?error\b.*$",
        r"^error(?:\[E\d+\])?: .*$",
        r"^\S+\.go:\d+:\d+: .*$",
        r"^\S+\.java:\d+: error: .*$",
        r"^.*(?:Error|Exception): .*$",
        r"^E\s+.*$",
        r"^--- FAIL: .*$",
        r"^CMake Error.*$",
    )
    for pattern in patterns:
        m = re.search(pattern, text, re.M)
        if m:
            line = re.sub(r"^E\s+", "", m.group(0).strip())  # pytest's "E   " margin
            where = re.match(r"\s*--> (\S+)", text[m.end() + 1 :])  # rustc: the next line
            return f"{line} (at {where.group(1)})" if where else line
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def build_failure(what: str, run: RunResult) -> TestOutcome:
    # Paths as the user knows them: relative to the project, not the sandbox's copy.
    output = (run.stderr_tail + "\n" + run.stdout_tail).strip().replace(f"{SRC}/", "")
    reason = run.crashed_reason or f"exit code {run.returncode}"
    first = first_error(output)
    return TestOutcome(
        passed=False,
        error=f"{what} failed ({reason}): {first}\n{output[-TAIL:]}",
        timed_out=run.timed_out,
        stdout_tail=run.stdout_tail[-TAIL:],
        stderr_tail=run.stderr_tail[-TAIL:],
        duration_s=run.wall_s,
    )


def outcome(
    cases: Mapping[str, str | None],
    run: RunResult,
    wanted: int,
    duration_s: float,
) -> TestOutcome:
    """The outcome of the selected tests from per-test results (name → failure message, None
    for a pass, or ``SKIPPED``: it ran and was skipped by the project itself)."""
    skipped = [name for name, message in cases.items() if message == SKIPPED]
    cases = {name: message for name, message in cases.items() if message != SKIPPED}
    failures = tuple(
        TestFailure(name=n, message=(m or "failed")[:TAIL])
        for n, m in cases.items()
        if m is not None
    )
    if run.timed_out or run.signal_name in ("SIGXCPU", "SIGKILL"):
        return TestOutcome(
            passed=False,
            total=len(cases),
            failures=failures,
            timed_out=run.timed_out,
            error=f"the candidate {run.crashed_reason}",
            stdout_tail=run.stdout_tail[-TAIL:],
            stderr_tail=run.stderr_tail[-TAIL:],
            duration_s=duration_s,
        )
    error = None
    if not cases:
        output = (run.stderr_tail + "\n" + run.stdout_tail).strip()
        error = f"no test ran (exit code {run.returncode}): {first_error(output)}\n{output[-TAIL:]}"
    elif len(cases) + len(skipped) < wanted and not failures:
        error = f"only {len(cases) + len(skipped)} of the {wanted} selected tests ran"
    passed = not failures and error is None and run.returncode == 0
    if not passed and not failures and error is None:
        output = (run.stderr_tail + "\n" + run.stdout_tail).strip()
        error = f"the tests exited with code {run.returncode}: {first_error(output)}"
    return TestOutcome(
        passed=passed,
        total=len(cases),
        failures=failures,
        error=error,
        stdout_tail=run.stdout_tail[-TAIL:],
        stderr_tail=run.stderr_tail[-TAIL:],
        duration_s=duration_s,
    )


def junit_cases(path: Path) -> dict[str, str | None]:
    """JUnit XML (pytest, the JUnit console launcher, ctest): name → failure, None (passed)
    or ``SKIPPED``."""
    cases: dict[str, str | None] = {}
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return cases
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        cls = case.get("classname")
        # pytest's doctests already carry their module ("toolz.itertoolz.interpose" in class
        # "toolz.itertoolz"): named once, not "toolz.itertoolz.toolz.itertoolz.interpose".
        known = not cls or cls == name or name.startswith(f"{cls}.")
        key = name if known else f"{cls}.{name}"
        if case.find("skipped") is not None:
            cases[key] = SKIPPED
            continue
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            cases[key] = None
        else:
            text = ((bad.get("message") or "") + "\n" + (bad.text or "")).strip()
            out = case.find("system-out")
            if len(text) < 40 and out is not None and out.text:  # ctest: "Failed", the rest here
                text = f"{text}\n{out.text.strip()[-TAIL:]}".strip()
            cases[key] = text or "failed"
    return cases


def offline(result: TestOutcome, cache: str, command: str) -> TestOutcome:
    """A build that failed for want of dependencies the sandbox cannot download."""
    why = (
        f"the project's dependencies are not in {cache}, and the sandbox has no network: "
        f"run `{command}` in the project once, then try again"
    )
    return result.model_copy(update={"error": f"{why}\n{result.error}", "environment": why})


TIMED_OUTPUT = "timed.out"  # in the copy's work dir (``INSIDE`` in the sandbox)
OUTPUT_LOG = "output.log"  # a test run's whole output, in the copy's work dir
LOG_READ_LIMIT = 32 * 1024 * 1024  # of it read back for per-test results


def logged(argv: Sequence[str]) -> list[str]:
    """``argv`` with its standard output and error written whole to :data:`OUTPUT_LOG`: the
    sandbox keeps only the last 8 KiB of a run's output, and a verbose test run (a Go test
    with hundreds of subtests) pushes the first tests' results out of that (read it back with
    :func:`read_log`)."""
    return ["sh", "-c", f'"$@" > {INSIDE}/{OUTPUT_LOG} 2>&1', "sh", *argv]


def read_log(wd: Path, run: RunResult) -> tuple[str, RunResult]:
    """The output a :func:`logged` run wrote (its first 32 MiB), and the run with that
    output's tail as its standard output (for the messages a person reads)."""
    try:
        with (wd / OUTPUT_LOG).open("rb") as fh:
            data = fh.read(LOG_READ_LIMIT)
    except OSError:
        data = b""
    text = data.decode("utf-8", "replace")
    tail = run.stdout_tail + run.stderr_tail + text[-OUTPUT_TAIL:]
    return text, dataclasses.replace(run, stdout_tail=tail[-OUTPUT_TAIL:])


@dataclass
class Prepared:
    """A built copy of the project, ready to run its selected tests (for measuring, possibly
    several times in one process: ``command(k)``)."""

    argv: Sequence[str]  # runs the selected tests once
    repeat: str | None = None  # an argument making the tests run k times: "-test.count={k}"
    cwd: str = SRC
    env: Mapping[str, str] = field(default_factory=dict)
    ro_binds: Sequence[str | Path] = ()
    note: str = ""  # what the measured workload leaves out, for the user
    template: bool = False  # argv holds "{k}" where the repeat count goes
    # For exec time: a command that writes to ``TIMED_OUTPUT`` the time of one iteration as a
    # benchmark harness that sizes its own loop states it (criterion), read by
    # ``per_iteration_ns`` (a file, whole: a tail of the output could drop some benchmarks).
    timed_argv: Sequence[str] = ()
    per_iteration_ns: Callable[[str], float | None] | None = None
    # How many of the selected tests the built project has (None: all of them); a test the
    # build leaves out (a Rust test behind a feature not enabled) is not counted as missing.
    present: int | None = None

    def command(self, k: int) -> list[str]:
        if self.template:
            return [a.replace("{k}", str(k)) for a in self.argv]
        if self.repeat is not None:
            return [*self.argv, self.repeat.format(k=k)]
        if k == 1:
            return list(self.argv)
        quoted = " ".join(f"'{a}'" for a in self.argv)
        return [
            "sh",
            "-c",
            f"i=0; while [ $i -lt {k} ]; do {quoted} >/dev/null || exit $?; i=$((i+1)); done",
        ]


def measured(path: Path, run: RunResult) -> ProcessResult:
    """An in-process measuring driver's result file (pytest_bench.py, PerforchJUnitBench):
    ratio, per-call values, unit and calls; a clear error when it has none."""
    data = json.loads(path.read_text()) if path.exists() else None
    if data is None or "harness_error" in data:
        detail = (
            (data or {}).get("harness_error")
            or run.crashed_reason
            or (run.stderr_tail + run.stdout_tail)[-800:]
        )
        raise HarnessError(f"measuring the project's tests failed: {detail}")
    return ProcessResult.of(data)


class Runner:
    """One kind of project: how it is built, and how its selected tests run. A runner whose
    test framework can run both sides in one process measures the metrics in ``in_process``
    in :meth:`compare_once`; the others are measured as processes from :meth:`prepare`'s
    build."""

    in_process: frozenset[Metric] = frozenset()
    # What runs generated inputs on the project's function (probe_workload, differential,
    # scaling), when the language has them: None where it has not.
    generated_inputs: Any = None

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        raise NotImplementedError

    async def prepare(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> Prepared | TestOutcome:
        """Build the copy in ``wd`` for measuring; a failed build's outcome otherwise."""
        raise HarnessError(f"measuring the tests of {spec.kind} projects is not supported yet")

    async def trace(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TraceResult:
        """Which of every test of the project reach the function (the copy in ``wd``)."""
        raise HarnessError(
            f"tracing the tests of {spec.kind} projects is not supported",
            hint="their tests are found by a static search for calls",
        )

    reads_test_inputs = False  # whether test_inputs reads them (else no copy is made for it)

    async def test_inputs(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestInputs:
        """The arguments the selected tests call the function with (the copy in ``wd``)."""
        return TestInputs(ok=False, error=f"the tests' inputs are not read in {spec.kind} projects")

    async def compare_once(
        self,
        spec: ProjectSpec,
        wd: Path,
        cache: Path,
        params: CompareParams,
        candidate: str,
        seed: int,
    ) -> ProcessResult:
        """Both sides measured in one process, the project copied into ``wd / "src"``."""
        raise NotImplementedError


async def step(
    wd: Path, cache: Path, s: Step, timeout_s: float | None = None, measuring: bool = False
) -> RunResult:
    """Run one step in the sandbox, the copy at ``/perforch`` and the cache writable.
    ``measuring``: no CPU-time limit, so that the process CPU clock keeps its resolution."""
    limits = s.limits
    if timeout_s is not None or measuring:
        limits = dataclasses.replace(
            limits,
            wall_s=timeout_s if timeout_s is not None else limits.wall_s,
            cpu_s=None if measuring else max(1, int((timeout_s or 0) * 2) + 1),
        )
    command = ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", s.cwd, *s.argv]
    return await run_sandboxed(
        command,
        cwd=wd,
        limits=limits,
        env={"HOME": "/tmp", **s.env},
        ro_binds=s.ro_binds,
        mount_at=INSIDE,
        rw_binds=[(cache, CACHE)],
    )


def traced_lines(spec: ProjectSpec) -> tuple[int, int]:
    """The function's first and last lines, which a tracer must see run (``perforch tests
    --trace`` puts them in the spec's options)."""
    lines = spec.options.get("lines", "")
    if not re.fullmatch(r"\d+-\d+", lines):
        raise HarnessError(f"tracing a {spec.kind} project needs the function's lines")
    first, last = lines.split("-")
    return int(first), int(last)


def shared_dir(wd: Path, name: str) -> Path:
    """A directory of the work dir the sandboxed tests (running as nobody) write into."""
    path = wd / name
    path.mkdir()
    path.chmod(0o777)
    return path


# -- the copy -------------------------------------------------------------------------------
def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIP_DIRS or (n.startswith(".") and n not in (".cargo",))}


def copy_project(spec: ProjectSpec, dest: Path, source: str) -> None:
    """The project without its build output, with ``source`` as the function's file."""
    root = Path(spec.root)
    if not root.is_dir():
        raise HarnessError(f"the project {root} is not there any more")
    shutil.copytree(root, dest, ignore=_ignore, symlinks=True)
    target = dest / spec.file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source, encoding="utf-8")
    if os.geteuid() == 0:
        for here, _dirs, files in os.walk(dest):
            os.chown(here, NOBODY, NOBODY)
            for name in files:
                with contextlib.suppress(OSError):
                    os.lchown(os.path.join(here, name), NOBODY, NOBODY)


def project_cache(spec: ProjectSpec) -> Path:
    """This project's own build cache (never shared with another project)."""
    key = hashlib.sha256(f"{spec.kind}:{spec.root}".encode()).hexdigest()[:16]
    path = cache_root() / "projects" / key
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    return path
