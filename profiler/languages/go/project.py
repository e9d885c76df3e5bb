"""Go modules: the function's package is built with ``go test -c`` offline (``GOPROXY=off``,
the user's module cache read-only, this project's own ``GOCACHE``), then the test binary runs
the selected ``Test…`` functions (``-test.run``; ``-test.count=k`` repeats them for measuring)."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import ProjectSpec, TestOutcome

from ...projects.base import (
    CACHE,
    INSIDE,
    SRC,
    Prepared,
    Runner,
    Step,
    build_failure,
    offline,
    outcome,
    step,
)
from ...protocol import RunTestsParams
from .toolchain import go


@functools.cache
def go_modcache() -> str:
    """The user's Go module cache (read-only inside the sandbox)."""
    tc = go()
    try:
        out = subprocess.run(
            [str(tc.go), "env", "GOMODCACHE"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise HarnessError(f"go env failed: {exc}") from exc
    return out.stdout.strip()


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


class GoRunner(Runner):
    async def prepare(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> Prepared | TestOutcome:
        tc = go()
        modcache = go_modcache()
        env = {
            "PATH": f"{tc.goroot}/bin:/usr/bin:/bin",
            "GOCACHE": f"{CACHE}/gocache",
            "GOMODCACHE": modcache,
            "GOPROXY": "off",
            "GOSUMDB": "off",
            "GOTOOLCHAIN": "local",
            "GOTELEMETRY": "off",
            "CGO_ENABLED": "0",
            "GOPATH": "/tmp/gopath",
        }
        cwd = f"{SRC}/{spec.workdir}" if spec.workdir != "." else SRC
        binds: list[str | Path] = [tc.goroot, modcache]
        build = await step(
            wd,
            cache,
            Step(
                argv=[str(tc.go), "test", "-c", "-o", f"{INSIDE}/pkg.test", "."],
                cwd=cwd,
                env=env,
                ro_binds=binds,
            ),
        )
        if build.returncode != 0:
            failed = build_failure("the build", build)
            text = failed.error or ""
            if "cannot find module" in text or "missing go.sum" in text or "GOPROXY=off" in text:
                how = "go mod download` (or `go mod tidy"
                return offline(failed, f"the Go module cache ({modcache})", how)
            return failed
        pattern = "^(" + "|".join(re.escape(t.id) for t in spec.tests) + ")$"
        return Prepared(
            argv=[f"{INSIDE}/pkg.test", "-test.run", pattern],
            repeat="-test.count={k}",
            cwd=cwd,
            env={"PATH": "/usr/bin:/bin", "GOMAXPROCS": "2"},
        )

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        prepared = await self.prepare(spec, wd, cache, params)
        if isinstance(prepared, TestOutcome):
            return prepared
        run = await step(
            wd,
            cache,
            Step(
                argv=[*prepared.argv, "-test.count=1", "-test.v"],
                cwd=prepared.cwd,
                env=prepared.env,
            ),
            params.timeout_s,
        )
        return outcome(test_cases(run.stdout_tail), run, len(spec.tests), run.wall_s)
