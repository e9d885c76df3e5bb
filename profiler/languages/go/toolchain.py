"""The Go toolchain: ``github.com/stretchr/testify`` downloaded once into a module cache; a
lone file's candidates build with ``GOPROXY=off`` against it, on a copy of a build cache warmed
once with the same settings, made of symbolic links to its files, which the sandbox sees
read-only (bwrap 0.8 has no overlay, and Go refuses a read-only cache directory: it must add
entries; it reads through the links, and its best-effort touching of used entries fails
quietly)."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from perforch_core.errors import HarnessError

from ...toolchains import cache_root, version_of

GO_MODULES = "github.com/stretchr/testify v1.9.0"


@dataclass(frozen=True)
class Go:
    goroot: Path
    version: str

    @property
    def go(self) -> Path:
        return self.goroot / "bin" / "go"

    @property
    def home(self) -> Path:
        key = hashlib.sha256(f"{self.version}|{GO_MODULES}|cgo0".encode()).hexdigest()[:10]
        return cache_root() / "toolchains" / f"go-{key}"

    @property
    def modcache(self) -> Path:
        return self.home / "mod"

    @property
    def buildcache(self) -> Path:
        return self.home / "build"

    @property
    def template(self) -> Path:
        return self.home / "template"


@functools.cache
def go() -> Go:
    exe = shutil.which("go")
    if exe is None:
        raise HarnessError("go is not installed")
    goroot = Path(version_of([exe, "env", "GOROOT"]))
    return Go(goroot=goroot, version=version_of([exe, "env", "GOVERSION"]))


def prepare(log: bool = True) -> None:
    g = go()
    if (g.template / "ready").is_file():
        return
    if log:
        print(
            f"perforch setup: fetching testify and warming Go's build cache ({g.version})",
            flush=True,
        )
    shutil.rmtree(g.home, ignore_errors=True)
    g.template.mkdir(parents=True)
    # The same settings as the Go harness's builds (languages/go/harness.py), or the warm cache
    # would not match: CGO off, module mode, local toolchain.
    env = {
        **os.environ,
        "GOMODCACHE": str(g.modcache),
        "GOCACHE": str(g.buildcache),
        "GOFLAGS": "-mod=mod",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
        "GOTELEMETRY": "off",
    }
    (g.template / "go.mod").write_text("module perforch/candidate\n\ngo 1.21\n")
    (g.template / "warm_test.go").write_text(
        'package main\n\nimport (\n    "testing"\n    "github.com/stretchr/testify/assert"\n)\n\n'
        "func TestWarm(t *testing.T) {\n    assert.Equal(t, 1, 1)\n}\n"
    )
    (g.template / "main.go").write_text("package main\n\nfunc main() {}\n")
    module, version = GO_MODULES.split()
    subprocess.run(
        [str(g.go), "get", f"{module}@{version}"],
        cwd=g.template,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(g.go), "test", "-c", "-o", os.devnull, "."],
        cwd=g.template,
        env=env,
        check=True,
        capture_output=True,
    )
    for name in ("warm_test.go", "main.go"):
        (g.template / name).unlink()
    (g.template / "ready").write_text(g.version)
