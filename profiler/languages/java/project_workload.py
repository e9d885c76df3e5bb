"""Generated workloads for a method of a Maven or Gradle project (a ``JavaRunner`` project's).

The lone-file measuring program (``PerforchBench`` and ``PerforchWorkload``) runs beside the
project's classes: the project is built twice in a sandboxed copy, as its tests are (javac;
the original into ``a-classes``, the candidate into ``b-classes``), and the program's
``PerforchSides`` (``java_src/project_workload``) loads each side's classes and resources
through a class loader of its own above the project's dependencies, so that one JVM holds both
versions and the harness interleaves, mirrors and serves them exactly as for a lone file. The
program itself is our code, compiled once outside the sandbox; the two builds are kept (a few
pairs) for every process of a comparison."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from perforch_core.errors import HarnessError
from perforch_core.models import Metric

from ... import stages
from ...harness.compiled import Recipe
from ...projects import kept, lock
from ...projects.base import copy_project, project_cache
from ...projects.kept import KeptBuilds
from ...protocol import Program
from ...sandbox import Limits, workdir
from .harness import CLASS, IDENTIFIER, PACKAGE_DECL, JavaHarness
from .toolchain import java_classes, process_clock

if TYPE_CHECKING:
    from .project import JavaRunner

JAVA_SRC = Path(__file__).with_name("java_src")
SIDES_SOURCE = JAVA_SRC / "project_workload" / "PerforchSides.java"
MEASURE = "measure"  # the kept artifact: each side's classes and resources, and sides.txt
# The project's classes may need more heap than a lone file's; the rest as the lone file's.
JVM = (
    "-Xmx256m",
    "-Xss1m",
    "-XX:ReservedCodeCacheSize=32m",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:CompressedClassSpaceSize=64m",
    "-XX:+UseSerialGC",
    "-Xshare:auto",
)


def driver() -> Path:
    """PerforchBench, PerforchWorkload and the project sides, compiled once."""
    return java_classes(
        JAVA_SRC / "PerforchBench.java",
        "java-project-workload",
        more=(JAVA_SRC / "PerforchWorkload.java", SIDES_SOURCE),
    )


def qualified_classes(source: str) -> list[str]:
    """The classes of a Java file by qualified name, as the source declares them."""
    package = PACKAGE_DECL.search(source)
    prefix = package.group(0).split()[1].rstrip(";") + "." if package else ""
    return [prefix + name for name in dict.fromkeys(CLASS.findall(source))]


def sides_config(entry: str, classes: list[str], paths: dict[str, list[str]]) -> str:
    """``measure/sides.txt``: what ``PerforchSides`` loads on each side."""
    if not IDENTIFIER.fullmatch(entry) or not classes:
        raise HarnessError(f"no class holding a method {entry!r} in the Java source")
    lines = [f"entry {entry}", *(f"class {c}" for c in classes)]
    for side in ("a", "b"):
        lines += [f"{side} {p}" for p in paths[side]]
    return "\n".join(lines) + "\n"


class JavaProjectWorkloads(JavaHarness):
    """Probing, differential testing, scaling and measuring on generated inputs for a Maven or
    Gradle project's method: the lone-file harness beside two builds of the project."""

    # A project's classes under C2 need more address space than a lone file's (jsoup's
    # StringUtil in 1 GiB: "insufficient memory for the Java Runtime Environment"), as its
    # JUnit runs do.
    run_limits = Limits(wall_s=30, cpu_s=30, address_space_mb=4096)

    def __init__(self, runner: JavaRunner) -> None:
        super().__init__()
        self._runner = runner
        self._kept = KeptBuilds()

    async def aclose(self) -> None:
        await super().aclose()
        self._kept.clear()

    def method(self, metric: Metric) -> str:
        return (
            f"{super().method(metric)}; your project built twice, each version's classes "
            "through a class loader of its own in that one JVM"
        )

    async def _built(
        self, program: Program, baseline: str, candidate: str, entry: str | None
    ) -> tuple[Recipe, Path]:
        spec = program.tests.project
        if spec is None or entry is None:
            raise HarnessError("a project's generated workload needs the project and method")
        built = kept.key(spec.root, spec.file, entry, baseline, candidate)
        cache = project_cache(spec)
        setup = await self._runner.setup(spec, cache)
        classes = await asyncio.to_thread(driver)
        clock = await asyncio.to_thread(process_clock)
        recipe = Recipe(
            files={},
            compile=[],
            artifact=MEASURE,
            run=[
                str(setup.bin_dir / "java"),
                *JVM,
                f"-Dperforch.clock={clock}",
                "-cp",
                ":".join([str(classes), *setup.deps]),
                "PerforchBench",
            ],
            key="java project",
            ro_binds=[*setup.binds, classes, clock.parent],
        )
        found = self._kept.get(built, MEASURE)
        if found is not None:
            return recipe, found
        async with lock(cache):
            with workdir("perforch-javaw-") as wd:
                await stages.report("building the project twice for the measuring program")
                await asyncio.to_thread(copy_project, spec, wd / "src", baseline)
                await asyncio.to_thread(copy_project, spec, wd / "srcb", candidate)
                for tree, out, label in (("src", "a-", "baseline"), ("srcb", "b-", "candidate")):
                    failed = await self._runner.build(wd, cache, setup, spec.kind, tree, out)
                    if failed is not None:
                        raise HarnessError(f"the {label} did not build: {failed.error}")
                directory = self._kept.new_dir(built)
                paths: dict[str, list[str]] = {}
                for side, tree in (("a", "src"), ("b", "srcb")):
                    shutil.copytree(wd / f"{side}-classes", directory / MEASURE / side / "classes")
                    paths[side] = [f"{MEASURE}/{side}/classes"]
                    resources = wd / tree / "src/main/resources"
                    if resources.is_dir():
                        shutil.copytree(resources, directory / MEASURE / side / "resources")
                        paths[side].append(f"{MEASURE}/{side}/resources")
        config = sides_config(entry, qualified_classes(baseline), paths)
        (directory / MEASURE / "sides.txt").write_text(config)
        return recipe, directory / MEASURE
