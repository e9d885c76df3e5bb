"""The Java harness: ``javac`` then ``java Main`` (HumanEval-X's ``class Solution`` plus
``public class Main``), with JVM flags that fit the sandbox's address-space limit (measured in
shared/notes/profiler.md: the default JVM needs 4 GiB of address space, these run in 512 MiB)."""

from __future__ import annotations

import dataclasses
import glob
import re
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import Language, TestSpec

from ...harness import contract
from ...harness.compiled import FINISHED, INPUTS, CompiledHarness, Recipe
from ...sandbox import Limits
from .javac_service import JavacService
from .toolchain import java, process_clock

JVM_FLAGS = (
    "-Xmx128m",
    "-Xss512k",
    "-XX:ReservedCodeCacheSize=32m",
    "-XX:MaxMetaspaceSize=64m",
    "-XX:CompressedClassSpaceSize=32m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
)
# Measuring wants the optimizing JIT (C2): no TieredStopAtLevel there.
BENCH_JVM_FLAGS = tuple(f for f in JVM_FLAGS if "TieredStopAtLevel" not in f)
JAVAC_FLAGS = (
    "-J-Xmx256m",
    "-J-XX:+UseSerialGC",
    "-J-XX:ReservedCodeCacheSize=64m",
    "-J-XX:MaxMetaspaceSize=128m",
    "-J-XX:CompressedClassSpaceSize=64m",
    "-J-XX:TieredStopAtLevel=1",
    "-proc:none",  # no annotation processors: compiling runs no code from the sources
    "-nowarn",
    "-encoding",
    "UTF-8",
)
PUBLIC_CLASS = re.compile(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)")
PACKAGE_DECL = re.compile(r"^\s*package\s+[\w.]+\s*;", re.M)
JAVAC_SERVICE_FLAGS = [f for f in JAVAC_FLAGS if not f.startswith("-J") and f != "-proc:none"]


class JavaHarness(CompiledHarness):
    language = Language.JAVA
    failure_markers = ("Exception", "Error", "at Main", "at Solution")
    run_limits = Limits(wall_s=30, cpu_s=30, address_space_mb=1024)
    default_pairs = 10  # the cost is JVM start-up and JIT warm-up, not the pairs
    counter_method = "bytes allocated by the measuring thread (ThreadMXBean)"
    generated_inputs = True
    no_instructions = "the JIT makes Java's instruction counts vary by about 1 %"
    # The JIT: K doubles until a batch costs ≥ 2 ms, then both sides warm up for 0.5 s.
    constants = contract.Constants(target_batch_ns=2_000_000, warmup_ns=500_000_000)

    def _files(
        self, module: str, tests: TestSpec, package: str | None
    ) -> tuple[dict[str, str], str]:
        """The sources (their ``package`` declarations replaced by ``package``, or dropped) and
        the class whose ``main`` runs the tests."""
        decl = f"package {package};\n" if package else ""
        folder = f"{package}/" if package else ""
        if tests.file is None:  # HumanEval-X: the tests are `public class Main`, appended
            program = self.with_tests(module, tests)
            if not re.search(r"public\s+class\s+Main\b", program):
                raise HarnessError("the Java test program has no public class Main")
            return {f"{folder}Main.java": decl + program}, "Main"
        main = Path(tests.file).stem
        public = PUBLIC_CLASS.search(module)
        module_file = f"{public.group(1)}.java" if public else "PerforchModule.java"
        return {
            f"{folder}{module_file}": decl + PACKAGE_DECL.sub("", module),
            f"{folder}{main}.java": decl + PACKAGE_DECL.sub("", tests.source),
        }, main

    def test_recipe(self, module: str, tests: TestSpec) -> Recipe:
        files, main = self._files(module, tests, None)
        # Through PerforchMain: a System.exit(0) before the tests end is not a pass.
        recipe = self._recipe(
            {**files, "PerforchMain.java": LAUNCHER}, ["PerforchMain", main], JVM_FLAGS
        )
        return dataclasses.replace(recipe, finished_marker=FINISHED)

    def bench_recipe(
        self, baseline: str, candidate: str, tests: TestSpec, entry: str | None = None
    ) -> Recipe:
        """Both test programs in packages ``pa`` / ``pb`` of one JVM, driven by PerforchBench
        (the process's CPU time through our JNI clock, ≥ 0.5 s of JIT warm-up); ``entry``: the
        method called on a generated workload's inputs instead (``PerforchWorkload``)."""
        files_a, main = self._files(baseline, tests, "pa")
        files_b, _ = self._files(candidate, tests, "pb")
        chosen = sides(main) if entry is None else workload_sides(CLASS.findall(baseline), entry)
        # One build serves every process and metric: the driver's arguments.
        files = {
            **files_a,
            **files_b,
            "PerforchBench.java": DRIVER,
            "PerforchWorkload.java": WORKLOAD_IO,
            "PerforchSides.java": chosen,
        }
        clock = process_clock()
        recipe = self._recipe(
            files, ["PerforchBench"], (*BENCH_JVM_FLAGS, f"-Dperforch.clock={clock}")
        )
        return dataclasses.replace(recipe, ro_binds=[*recipe.ro_binds, clock.parent])

    def __init__(self) -> None:
        super().__init__()
        self.javac = JavacService(JAVAC_SERVICE_FLAGS)

    async def aclose(self) -> None:
        await self.javac.aclose()

    def _recipe(self, files: dict[str, str], main: list[str], jvm: tuple[str, ...]) -> Recipe:
        tc = java()
        bin_dir = tc.home / "bin"
        javac = f"{bin_dir}/javac {' '.join(JAVAC_FLAGS)} -d classes {' '.join(files)}"
        return Recipe(
            files=files,
            compile=["sh", "-c", f"mkdir -p classes && {javac}"],
            artifact="classes",
            run=[str(bin_dir / "java"), *jvm, "-cp", "classes", *main],
            key=f"{tc.version} {' '.join(JAVAC_FLAGS)}",
            ro_binds=[tc.home, *glob.glob("/etc/java*")],
            compile_limits=Limits(wall_s=120, cpu_s=120, address_space_mb=2048),
            compiler=self.javac,
        )


DRIVER = (Path(__file__).parent / "java_src" / "PerforchBench.java").read_text()
WORKLOAD_IO = (Path(__file__).parent / "java_src" / "PerforchWorkload.java").read_text()
LAUNCHER = (Path(__file__).parent / "java_src" / "PerforchMain.java").read_text()


def sides(main: str) -> str:
    """The driver's ``PerforchSides``: side 0 runs the baseline's tests, 1 the candidate's."""
    return (
        "final class PerforchSides {\n"
        "    static final String[] NO_ARGS = new String[0];\n"
        "    static void run(int which) throws Exception {\n"
        f"        if (which == 0) pa.{main}.main(NO_ARGS);\n"
        f"        else if (which == 1) pb.{main}.main(NO_ARGS);\n"
        "    }\n"
        "    static void prepare() {}\n"
        "    static void serve() {\n"
        '        throw new IllegalStateException("not built for generated inputs");\n'
        "    }\n}\n"
    )


CLASS = re.compile(r"\bclass\s+(\w+)")
IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")


def workload_sides(classes: list[str], entry: str) -> str:
    """``PerforchSides`` for a generated workload: each side's run calls the method ``entry``
    (found in the first of ``classes`` that has it) on every input; ``serve`` on one."""
    if not classes or not IDENTIFIER.fullmatch(entry):
        raise HarnessError(f"no class holding a method {entry!r} in the Java source")
    names = ", ".join(f'"{c}"' for c in dict.fromkeys(classes))
    return (
        "final class PerforchSides {\n"
        f"    static final String[] CLASSES = {{{names}}};\n"
        "    static PerforchWorkload wa, wb;\n"
        "    static void open() throws Exception {\n"
        f'        wa = new PerforchWorkload("pa", CLASSES, "{entry}");\n'
        f'        wb = new PerforchWorkload("pb", CLASSES, "{entry}");\n'
        "    }\n"
        "    static void prepare() throws Exception {\n"
        "        open();\n"
        f'        wa.load("{INPUTS}");\n'
        f'        wb.load("{INPUTS}");\n'
        "    }\n"
        "    static void run(int which) throws Exception {\n"
        "        if (which == 0) wa.run();\n"
        "        else if (which == 1) wb.run();\n"
        "    }\n"
        "    static void serve() throws Exception {\n"
        "        open();\n"
        "        PerforchWorkload.serve(wa, wb);\n"
        "    }\n}\n"
    )
