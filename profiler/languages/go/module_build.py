"""Building a Go module's test binary in the sandbox: offline (``GOPROXY=off``) against the
user's own module cache (read-only), with the project's own ``GOCACHE``; cgo where the package
imports "C"."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import TestOutcome

from ...projects.base import CACHE, Step, build_failure, offline, step
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


CGO = re.compile(r'^import\s+"C"\s*$|^\s+"C"\s*$', re.M)


def uses_cgo(package: Path) -> bool:
    """Whether a file of the package imports "C" (cgo: built with the system's C compiler)."""
    return any(CGO.search(f.read_text(errors="replace")) for f in package.glob("*.go"))


async def build_test_binary(
    wd: Path, cache: Path, cwd: str, output: str, cgo: bool, cover: bool = False
) -> TestOutcome | None:
    """``go test -c`` of the package in ``cwd`` (inside the sandbox) into ``output``, offline
    against the user's module cache; the failed build's outcome, or None."""
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
        "CGO_ENABLED": "1" if cgo else "0",
        "GOPATH": "/tmp/gopath",
    }
    cover_flags = ["-cover", "-covermode=count"] if cover else []
    build = await step(
        wd,
        cache,
        Step(
            argv=[str(tc.go), "test", "-c", *cover_flags, "-o", output, "."],
            cwd=cwd,
            env=env,
            ro_binds=[tc.goroot, modcache],
        ),
    )
    if build.returncode == 0:
        return None
    failed = build_failure("the build", build)
    text = failed.error or ""
    # A module not in the cache: Go says so, or fails to make its directory there (the cache
    # is read-only in the sandbox).
    missing = ("cannot find module", "missing go.sum", "GOPROXY=off", f"mkdir {modcache}")
    if any(m in text for m in missing):
        how = "go mod download` or `go mod tidy"
        return offline(failed, f"the Go module cache ({modcache})", how)
    return failed
