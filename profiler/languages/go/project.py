"""Go modules: the function's package is built with ``go test -c`` offline (``GOPROXY=off``,
the user's module cache read-only, this project's own ``GOCACHE``), then the test binary runs
the selected ``Test…`` functions (``-test.run``; ``-test.count=k`` repeats them for measuring).
When the user has benchmarks that reach the function, measuring runs those instead
(``-test.bench``, ``-test.benchtime=kx``: each benchmark's loop runs k times)."""

from __future__ import annotations

import re
from pathlib import Path

from perforch_core.models import ProjectSpec, TestOutcome

from ...projects.base import (
    INSIDE,
    SRC,
    Prepared,
    Runner,
    Step,
    logged,
    outcome,
    read_log,
    shared_dir,
    step,
    traced_lines,
)
from ...protocol import RunTestsParams, TraceResult
from .module_build import build_test_binary, uses_cgo
from .module_workload import GoModuleWorkloads


def test_cases(stdout: str) -> dict[str, str | None]:
    """A test binary's ``-test.v`` output: top-level test → failure output or None."""
    cases: dict[str, str | None] = {}
    current: list[str] = []
    for line in stdout.splitlines():
        m = re.match(r"^\s*--- (PASS|FAIL): (\S+)", line)
        if m:
            name = m.group(2)
            if "/" not in name:
                cases[name] = (
                    None if m.group(1) == "PASS" else "\n".join(current).strip() or "failed"
                )
                current = []
            continue
        if not re.match(r"^=== (RUN|PAUSE|CONT|NAME)", line):
            current.append(line)
    return cases


def reached(profile: str, file: str, first: int, last: int) -> bool:
    """Whether a ``-test.coverprofile`` shows a statement of ``file``'s lines first…last run."""
    name = "/" + Path(file).name
    for line in profile.splitlines()[1:]:
        m = re.match(r"^(.+):(\d+)\.\d+,(\d+)\.\d+ \d+ (\d+)$", line.strip())
        if (
            m
            and m.group(1).endswith(name)
            and int(m.group(4)) > 0
            and int(m.group(2)) <= last
            and int(m.group(3)) >= first
        ):
            return True
    return False


class GoRunner(Runner):
    def __init__(self) -> None:
        self.generated_inputs = GoModuleWorkloads()

    async def trace(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TraceResult:
        """Every ``Test…`` of the package, each run alone from one coverage build
        (``-cover -covermode=count``): those whose profile shows the function's lines run."""
        first, last = traced_lines(spec)
        prepared = await self._build(spec, wd, cache, params, cover=True)
        if isinstance(prepared, TestOutcome):
            return TraceResult(error=prepared.error)
        shared_dir(wd, "cover")
        binary = prepared.argv[0]
        script = (
            f'for t in $({binary} -test.list "^Test" 2>/dev/null); do '
            f'{binary} -test.run "^$t\\$" -test.count=1 '
            f'-test.coverprofile="{INSIDE}/cover/$t.out" 2>&1 | tail -3; done'
        )
        run = await step(
            wd,
            cache,
            Step(argv=["sh", "-c", script], cwd=prepared.cwd, env=prepared.env),
            params.timeout_s,
        )
        profiles = sorted((wd / "cover").glob("*.out"))
        if not profiles:
            detail = run.crashed_reason or (run.stderr_tail + run.stdout_tail).strip()[-800:]
            return TraceResult(error=f"no test ran under coverage: {detail or 'no output'}")
        hit = [
            p.stem
            for p in profiles
            if reached(p.read_text(errors="replace"), spec.file, first, last)
        ]
        return TraceResult(reached=hit, ran=len(profiles))

    async def prepare(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> Prepared | TestOutcome:
        """For measuring: the user's benchmarks that reach the function, else its tests."""
        built = await self._build(spec, wd, cache, params)
        if isinstance(built, TestOutcome) or not spec.benchmarks:
            return built
        pattern = "^(" + "|".join(re.escape(b.id) for b in spec.benchmarks) + ")$"
        return Prepared(
            argv=[
                built.argv[0],
                "-test.run",
                "^$",
                "-test.bench",
                pattern,
                "-test.benchtime={k}x",
                "-test.count=1",
            ],
            template=True,
            cwd=built.cwd,
            env=built.env,
        )

    async def _build(
        self,
        spec: ProjectSpec,
        wd: Path,
        cache: Path,
        params: RunTestsParams,
        cover: bool = False,
    ) -> Prepared | TestOutcome:
        """The package's test binary, ready to run the selected tests."""
        cwd = f"{SRC}/{spec.workdir}" if spec.workdir != "." else SRC
        cgo = uses_cgo(wd / "src" / spec.workdir)
        failed = await build_test_binary(wd, cache, cwd, f"{INSIDE}/pkg.test", cgo, cover)
        if failed is not None:
            return failed
        pattern = "^(" + "|".join(re.escape(t.id) for t in spec.tests) + ")$"
        return Prepared(
            argv=[f"{INSIDE}/pkg.test", "-test.paniconexit0", "-test.run", pattern],
            repeat="-test.count={k}",
            cwd=cwd,
            env={"PATH": "/usr/bin:/bin", "GOMAXPROCS": "2"},
        )

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        prepared = await self._build(spec, wd, cache, params)
        if isinstance(prepared, TestOutcome):
            return prepared
        run = await step(
            wd,
            cache,
            Step(
                argv=logged([*prepared.argv, "-test.count=1", "-test.v"]),
                cwd=prepared.cwd,
                env=prepared.env,
            ),
            params.timeout_s,
        )
        output, run = read_log(wd, run)
        return outcome(test_cases(output), run, len(spec.tests), run.wall_s)
