"""Generated workloads for a function of a Go module (a ``GoRunner`` project's).

The measuring program is the lone-file harness's own (``driver_test.go`` and
``workload_io_test.go``), built inside a sandboxed copy of the user's module: the function's
package is copied twice into directories beside its files, ``perforch_a`` with the original
file and ``perforch_b`` with the candidate's, each a package of its own (the package clause
renamed, the package's tests left out), so that one binary holds both sides and the harness
interleaves, mirrors and serves them exactly as it does for a lone file. The driver is a
``package main`` directory at the module's root that imports the two copies; it builds with
the module's own ``go.mod`` against the user's module cache, offline, and the built binary is
kept (a few pairs) for every process of a comparison."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path, PurePosixPath

from perforch_core.errors import HarnessError
from perforch_core.models import Metric, ProjectSpec

from ... import stages
from ...harness.compiled import Recipe
from ...projects import kept, lock
from ...projects.base import INSIDE, SRC, copy_project, project_cache
from ...projects.kept import KeptBuilds
from ...protocol import Program
from ...sandbox import workdir
from .harness import DRIVER, PACKAGE, WORKLOAD_IO, GoHarness, exported, workload_sides
from .module_build import build_test_binary, uses_cgo

DRIVER_DIR = "perforch_measure"  # at the module's root, in the copy
# Not copied with a package at the module's root: a go.mod would make the copy a module apart.
MODULE_FILES = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"})
SIDES = ("perforch_a", "perforch_b")
MODULE = re.compile(r"^module\s+(\S+)", re.M)
# PerfOrch's own files use the language of Go 1.21 (``any``); a module whose go.mod states an
# older one builds them with this line's (Go ≥ 1.21 reads it per file).
LANGUAGE = "//go:build go1.21\n\n"
RUN = Recipe(
    files={},
    compile=[],
    artifact="prog.test",
    run=["./prog.test", "-test.run=TestPerforchBench", "-test.count=1"],
    key="go module",
    # The lone-file harness's pinned runtime settings (the memory figures depend on them).
    env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "GOGC": "100", "GOMAXPROCS": "2"},
)


def is_method(source: str, entry: str) -> bool:
    """Whether ``entry`` is declared in ``source`` only as a method (``func (r T) entry``)."""
    plain = re.search(rf"^func\s+{re.escape(entry)}\s*[\[(]", source, re.M)
    method = re.search(rf"^func\s*\([^)]*\)\s*{re.escape(entry)}\s*\(", source, re.M)
    return plain is None and method is not None


def module_root(src: Path, package: Path) -> Path:
    """The nearest directory from the package up to the copy's root that holds a go.mod."""
    here = package
    while True:
        if (here / "go.mod").is_file():
            return here
        if here == src or here.parent == here:
            raise HarnessError(f"no go.mod above {package.relative_to(src)} in the project")
        here = here.parent


def lay_out(src: Path, spec: ProjectSpec, candidate: str, entry: str) -> tuple[str, bool]:
    """The two side packages and the driver in the copy at ``src`` (its function's file is the
    baseline): the driver's directory relative to ``src``, and whether the package uses cgo."""
    file = PurePosixPath(spec.file)
    package = src / file.parent
    root = module_root(src, package)
    found = MODULE.search((root / "go.mod").read_text(errors="replace"))
    if found is None:
        raise HarnessError(f"{(root / 'go.mod').relative_to(src)} names no module")
    rel = package.relative_to(root).as_posix()
    prefix = found.group(1) if rel == "." else f"{found.group(1)}/{rel}"
    sources = {SIDES[0]: (package / file.name).read_text(), SIDES[1]: candidate}
    for side, text in sources.items():
        dest = package / side
        if dest.exists():
            raise HarnessError(f"the package already has a directory named {side}")
        dest.mkdir()
        for f in sorted(package.iterdir()):
            if not f.is_file() or f.name.endswith("_test.go") or f.name in MODULE_FILES:
                continue
            if f.suffix != ".go":  # embedded or read files: as they are
                shutil.copy2(f, dest / f.name)
                continue
            body = text if f.name == file.name else f.read_text(errors="replace")
            (dest / f.name).write_text(PACKAGE.sub(f"package {side}", body, count=1))
        (dest / "perforch_entry.go").write_text(exported(side, entry))
    driver = root / DRIVER_DIR
    if driver.exists():
        raise HarnessError(f"the module already has a directory named {DRIVER_DIR}")
    driver.mkdir()
    (driver / "main_test.go").write_text(LANGUAGE + DRIVER)
    (driver / "perforch_io_test.go").write_text(LANGUAGE + WORKLOAD_IO)
    sides = workload_sides(f"{prefix}/{SIDES[0]}", f"{prefix}/{SIDES[1]}")
    (driver / "perforch_sides_test.go").write_text(LANGUAGE + sides)
    return driver.relative_to(src).as_posix(), uses_cgo(package)


class GoModuleWorkloads(GoHarness):
    """Probing, differential testing, scaling and measuring on generated inputs for a Go
    module's function: the lone-file harness with its measuring program built in the module."""

    def __init__(self) -> None:
        super().__init__()
        self._kept = KeptBuilds()

    async def aclose(self) -> None:
        self._kept.clear()

    def method(self, metric: Metric) -> str:
        return (
            f"{super().method(metric)}; the function's package copied twice into a build of "
            "your module, so one program holds both versions"
        )

    async def _built(
        self, program: Program, baseline: str, candidate: str, entry: str | None
    ) -> tuple[Recipe, Path]:
        spec = program.tests.project
        if spec is None or entry is None:
            raise HarnessError("a Go module's generated workload needs the project and function")
        if is_method(baseline, entry):
            raise HarnessError(
                f"{entry} is a method: generated inputs call functions (its tests measure it)"
            )
        built = kept.key(spec.root, spec.file, entry, baseline, candidate)
        found = self._kept.get(built, RUN.artifact)
        if found is not None:
            return RUN, found
        cache = project_cache(spec)
        async with lock(cache):
            with workdir("perforch-gomod-") as wd:
                await stages.report("building the measuring program in a copy of the module")
                await asyncio.to_thread(copy_project, spec, wd / "src", baseline)
                driver, cgo = await asyncio.to_thread(lay_out, wd / "src", spec, candidate, entry)
                output = f"{INSIDE}/{RUN.artifact}"
                failed = await build_test_binary(wd, cache, f"{SRC}/{driver}", output, cgo)
                if failed is not None:
                    raise HarnessError(
                        f"the measuring program did not build in a copy of the module: "
                        f"{failed.error}"
                    )
                directory = self._kept.new_dir(built)
                shutil.copy2(wd / RUN.artifact, directory / RUN.artifact)
        return RUN, directory / RUN.artifact
