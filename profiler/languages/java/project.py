"""Java projects (Maven, Gradle) with JUnit Jupiter tests: the project's main and test sources
are compiled with ``javac`` in the sandbox against its dependency jars (Maven resolves them
offline from the user's ~/.m2, on the user's own pom, never on a candidate), then the JUnit
Platform console launcher runs the selected test methods."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import Metric, ProjectSpec, TestOutcome

from ... import stages
from ...harness import contract
from ...harness.base import ProcessResult
from ...projects.base import (
    INSIDE,
    PROJECT_LIMITS,
    Prepared,
    Runner,
    Step,
    build_failure,
    copy_project,
    first_error,
    junit_cases,
    measured,
    outcome,
    shared_dir,
    step,
    traced_lines,
)
from ...protocol import CompareParams, RunTestsParams, TraceResult
from . import gradle
from .project_workload import JavaProjectWorkloads
from .toolchain import (
    jacoco_agent,
    jacoco_core,
    java,
    java_classes,
    junit_console,
    process_clock,
)

JVM = (
    "-Xmx256m",
    "-Xss1m",
    "-XX:ReservedCodeCacheSize=32m",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:CompressedClassSpaceSize=32m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
)
# Measuring wants the optimizing JIT (C2): no TieredStopAtLevel there.
BENCH_JVM = tuple(f for f in JVM if "TieredStopAtLevel" not in f)
# A whole suite in one JVM (tracing) holds more than the few tests of a job.
TRACE_JVM = ("-Xmx1g", *(f for f in JVM if not f.startswith("-Xmx")))


def _not_junit(jars: list[str]) -> list[str]:
    """JUnit's own jars left out: the console launcher brings the engine."""
    return [j for j in jars if not re.search(r"/org/(junit|opentest4j|apiguardian)/", j)]


async def _resolve(pom_dir: Path, saved: Path) -> str | None:
    """``mvn -o dependency:build-classpath`` on the pom in ``pom_dir`` into ``saved``: None
    when it did, else Maven's first error line."""
    mvn = shutil.which("mvn")
    if mvn is None:
        return "Maven (mvn) is not installed"
    out = saved.with_suffix(".tmp")
    proc = await asyncio.create_subprocess_exec(
        mvn,
        "-B",
        "-q",
        "-o",
        "-Dstyle.color=never",
        "dependency:build-classpath",
        f"-Dmdep.outputFile={out}",
        cwd=pom_dir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    text, _ = await proc.communicate()
    if proc.returncode != 0 or not out.exists():
        plain = re.sub(r"\x1b\[[0-9;]*m", "", text.decode(errors="replace"))
        lines = [ln.removeprefix("[ERROR] ") for ln in plain.splitlines() if "ERROR" in ln]
        return lines[0] if lines else f"exit code {proc.returncode}"
    out.rename(saved)
    return None


def _jars(saved: Path) -> list[str]:
    return _not_junit([j for j in saved.read_text().strip().split(os.pathsep) if j])


async def maven_classpath(root: Path, cache: Path) -> list[str]:
    """The project's dependency jars, resolved offline by Maven from the user's ~/.m2 on the
    user's own pom (never on a candidate), cached per pom."""
    pom = root / "pom.xml"
    saved = cache / f"classpath-{hashlib.sha256(pom.read_bytes()).hexdigest()[:16]}.txt"
    if not saved.exists():
        error = await _resolve(root, saved)
        if error is not None:
            raise HarnessError(
                f"Maven could not resolve the project's dependencies offline: {error}",
                hint="build the project once with network (mvn test-compile) so ~/.m2 has them",
            )
    return _jars(saved)


async def gradle_classpath(root: Path, cache: Path) -> list[str]:
    """A Gradle project's dependency jars: what its build file declares (``gradle.py``),
    resolved transitively by Maven offline from ~/.m2, else the declared jars from Gradle's
    own module cache; cached per build file and catalog."""
    deps = gradle.declared(root)
    if not deps.dependencies:
        return []
    text = gradle.pom(deps)
    saved = cache / f"classpath-gradle-{hashlib.sha256(text.encode()).hexdigest()[:16]}.txt"
    if saved.exists():
        return _jars(saved)
    pom_dir = cache / "gradle-pom"
    pom_dir.mkdir(parents=True, exist_ok=True)
    (pom_dir / "pom.xml").write_text(text)
    error = await _resolve(pom_dir, saved)
    if error is None:
        return _jars(saved)
    found, missing = gradle.gradle_cache_jars(deps)
    if missing:
        names = ", ".join(f"{c.group}:{c.artifact}:{c.version or '?'}" for c in missing)
        raise HarnessError(
            f"the Gradle project's dependencies are not in ~/.m2 ({error}) nor in Gradle's "
            f"cache: {names}",
            hint="run the project's build once with network (gradle build), or "
            "mvn dependency:get -Dartifact=GROUP:ARTIFACT:VERSION for each",
        )
    return _not_junit(found)


JAVA_SRC = Path(__file__).with_name("java_src")
BENCH_SOURCE = JAVA_SRC / "PerforchJUnitBench.java"
BENCH_PAIRS = 20
MAIN_SOURCES = "src/main/java"


def bench_driver() -> Path:
    """PerforchJUnitBench compiled once against the console launcher."""
    return java_classes(BENCH_SOURCE, "junit-bench", (junit_console(),))


def trace_drivers() -> tuple[Path, Path]:
    """PerforchJUnitTrace (runs every test, one JaCoCo record each) and PerforchJaCoCoLines
    (which records ran the function's lines), compiled once."""
    return (
        java_classes(JAVA_SRC / "PerforchJUnitTrace.java", "junit-trace", (junit_console(),)),
        java_classes(JAVA_SRC / "PerforchJaCoCoLines.java", "jacoco-lines", jacoco_core()),
    )


@dataclass(frozen=True)
class Setup:
    """What building and running a copy of the project needs: its resolved dependencies'
    jars, the directories the sandbox binds read-only, the JDK's bin and JUnit's console."""

    deps: list[str]
    binds: list[str | Path]
    bin_dir: Path
    console: Path


LIMITS = dataclasses.replace(PROJECT_LIMITS, address_space_mb=4096)


class JavaRunner(Runner):
    # One JVM for time and peak memory; mean memory as processes (the JVM has no allocation
    # level to sample like tracemalloc's: its resident memory is what the runner samples).
    in_process = frozenset({Metric.EXEC_TIME, Metric.CPU_UTILIZATION, Metric.MAX_MEMORY})
    # JUnit runs cost milliseconds: ~20 ms batches after ≥ 1 s of CPU per side for the JIT.
    constants = contract.Constants(
        target_batch_ns=20_000_000, warmup_ns=1_000_000_000, max_k=1 << 20
    )

    def __init__(self) -> None:
        self.generated_inputs = JavaProjectWorkloads(self)

    async def setup(self, spec: ProjectSpec, cache: Path) -> Setup:
        tc = java()
        console = junit_console()
        resolve = maven_classpath if spec.kind == "maven" else gradle_classpath
        deps = await resolve(Path(spec.root), cache)
        binds: list[str | Path] = [
            tc.home,
            console.parent,
            *sorted({str(Path(j).parent) for j in deps}),
        ]
        binds += [str(p) for p in Path("/etc").glob("java*")]
        return Setup(deps, binds, tc.home / "bin", console)

    async def build(
        self,
        wd: Path,
        cache: Path,
        setup: Setup,
        spec_kind: str,
        tree: str = "src",
        out: str = "",
    ) -> TestOutcome | None:
        """javac the copy at ``/perforch/<tree>`` into ``<out>classes`` and
        ``<out>test-classes``: None when it built, else the failure."""
        classes, tests = f"{INSIDE}/{out}classes", f"{INSIDE}/{out}test-classes"
        cp = ":".join([classes, *setup.deps, str(setup.console)])
        javac = (
            f"{setup.bin_dir}/javac -J-Xmx384m -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 "
            "-proc:none -nowarn -encoding UTF-8"
        )
        script = (
            f"set -e; mkdir -p {classes} {tests}; "
            f"find src/main/java -name '*.java' > {INSIDE}/{out}main.txt 2>/dev/null || true; "
            f"if [ -s {INSIDE}/{out}main.txt ]; then "
            f"{javac} -d {classes} -cp '{cp}' @{INSIDE}/{out}main.txt; fi; "
            f"find src/test/java -name '*.java' > {INSIDE}/{out}test.txt; "
            # Classes the tests use from other source sets (a Gradle build's src/common/java)
            # are compiled as javac meets them; their module-info is left out (the tests are
            # compiled on the class path, as the build tools do by default).
            f"sp=src/test/java; for d in src/*/java; do case $d in src/main/java|src/test/java) "
            f";; *) c={INSIDE}/{out}sets/${{d#src/}}; mkdir -p $c && cp -r $d/. $c/ && "
            "rm -f $c/module-info.java && sp=$sp:$c;; esac; done; "
            f"{javac} -d {tests} -cp '{cp}' -sourcepath \"$sp\" @{INSIDE}/{out}test.txt"
        )
        await stages.report("building (javac)")
        build = await step(
            wd,
            cache,
            Step(
                argv=["sh", "-c", script],
                cwd=f"{INSIDE}/{tree}",
                ro_binds=setup.binds,
                limits=LIMITS,
            ),
        )
        if build.returncode == 0:
            return None
        failed = build_failure("the build", build)
        unread = gradle.declared(Path(wd / tree)).unread if spec_kind == "gradle" else []
        if unread and "does not exist" in (failed.error or ""):
            note = "PerfOrch could not read these Gradle dependency declarations: " + "; ".join(
                unread[:3]
            )
            return failed.model_copy(update={"error": f"{note}\n{failed.error}"})
        return failed

    @staticmethod
    def _classpath(wd: Path, tree: str, out: str) -> list[str]:
        found = [f"{INSIDE}/{out}test-classes", f"{INSIDE}/{out}classes"]
        for res in ("src/main/resources", "src/test/resources"):
            if (wd / tree / res).is_dir():
                found.append(f"{INSIDE}/{tree}/{res}")
        return found

    @staticmethod
    def _selection(spec: ProjectSpec) -> tuple[list[str], str]:
        """The test classes to select and the pattern of the methods' qualified names (a
        nested class's tests are named by their top-level class, as discovery names them)."""
        methods = [t.id.split("#", 1) for t in spec.tests]
        classes = sorted({cls for cls, _ in methods})
        names = [rf"{re.escape(cls)}(\$[\w$]+)?#{re.escape(m)}" for cls, m in methods]
        return classes, "^(" + "|".join(names) + r")(\(.*\))?$"

    async def trace(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TraceResult:
        """Every JUnit test of the project, in one JVM with the JaCoCo agent recording the
        function's package, one record per test; those whose record covers the function's
        lines (JaCoCo's analysis of the compiled classes) are kept as the map."""
        first, last = traced_lines(spec)
        source = Path(spec.file)
        if MAIN_SOURCES not in source.as_posix():
            return TraceResult(error=f"{spec.file} is not under {MAIN_SOURCES}: not traced")
        package = source.parent.as_posix().split(f"{MAIN_SOURCES}/", 1)[-1]
        package = "" if package == MAIN_SOURCES else package
        setup = await self.setup(spec, cache)
        failed = await self.build(wd, cache, setup, spec.kind)
        if failed is not None:
            return TraceResult(error=failed.error)
        runner, lines_of = await asyncio.to_thread(trace_drivers)
        shared_dir(wd, "trace")
        includes = f"{package.replace('/', '.')}.*" if package else "*"
        await stages.report("running every test under JaCoCo")
        run = await step(
            wd,
            cache,
            Step(
                argv=[
                    str(setup.bin_dir / "java"),
                    *TRACE_JVM,
                    f"-javaagent:{jacoco_agent()}=output=none,includes={includes}",
                    "-cp",
                    ":".join(
                        [
                            str(setup.console),
                            *self._classpath(wd, "src", ""),
                            *setup.deps,
                            str(runner),
                        ]
                    ),
                    "PerforchJUnitTrace",
                    f"{INSIDE}/test-classes",
                    f"{INSIDE}/trace",
                ],
                ro_binds=[*setup.binds, runner],
                limits=LIMITS,
            ),
            max(params.timeout_s, 60),
        )
        if not (wd / "trace" / "done").exists():
            detail = run.crashed_reason or first_error(run.stderr_tail + run.stdout_tail)
            return TraceResult(error=f"the tests did not finish under JaCoCo: {detail}")
        await stages.report("reading the JaCoCo records")
        analysis = await step(
            wd,
            cache,
            Step(
                argv=[
                    str(setup.bin_dir / "java"),
                    *JVM,
                    "-cp",
                    ":".join(map(str, [*jacoco_core(), lines_of])),
                    "PerforchJaCoCoLines",
                    f"{INSIDE}/classes",
                    package,
                    source.name,
                    str(first),
                    str(last),
                    f"{INSIDE}/trace",
                ],
                ro_binds=[*setup.binds, lines_of],
                limits=LIMITS,
            ),
            max(params.timeout_s, 60),
        )
        try:
            report = (wd / "trace" / "reached.tsv").read_text().splitlines()
        except OSError:
            detail = first_error(analysis.stderr_tail + analysis.stdout_tail)
            return TraceResult(error=f"the JaCoCo records could not be read: {detail}")
        reached = [ln.split(" ", 1)[1] for ln in report if ln.startswith("reached ")]
        ran = next((int(ln.split()[1]) for ln in report if ln.startswith("ran ")), 0)
        return TraceResult(reached=reached, ran=ran)

    def _launch(self, spec: ProjectSpec, wd: Path, setup: Setup) -> list[str]:
        """The JUnit console launcher running the selected tests on the built copy."""
        run_cp = ":".join([*self._classpath(wd, "src", ""), *setup.deps])
        classes, pattern = self._selection(spec)
        return [
            str(setup.bin_dir / "java"),
            *JVM,
            "-jar",
            str(setup.console),
            "execute",
            "--disable-banner",
            "--disable-ansi-colors",
            "--details=none",
            f"--class-path={run_cp}",
            *(f"--select-class={c}" for c in classes),
            f"--include-methodname={pattern}",
        ]

    async def prepare(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> Prepared | TestOutcome:
        """The copy built for measuring in processes (mean memory: one JVM per run)."""
        setup = await self.setup(spec, cache)
        failed = await self.build(wd, cache, setup, spec.kind)
        if failed is not None:
            return failed
        return Prepared(argv=self._launch(spec, wd, setup), ro_binds=setup.binds)

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        setup = await self.setup(spec, cache)
        failed = await self.build(wd, cache, setup, spec.kind)
        if failed is not None:
            return failed
        await stages.report("running the tests (JUnit)")
        run = await step(
            wd,
            cache,
            Step(
                argv=[*self._launch(spec, wd, setup), f"--reports-dir={INSIDE}/reports"],
                ro_binds=setup.binds,
                limits=LIMITS,
            ),
            max(params.timeout_s, 60),
        )
        cases = junit_cases(wd / "reports" / "TEST-junit-jupiter.xml")
        return outcome(cases, run, len(spec.tests), run.wall_s)

    async def compare_once(
        self,
        spec: ProjectSpec,
        wd: Path,
        cache: Path,
        params: CompareParams,
        candidate: str,
        seed: int,
    ) -> ProcessResult:
        """Both sides built from two copies in one work dir, then interleaved in one JVM
        (``PerforchJUnitBench``: a class loader per side)."""
        setup = await self.setup(spec, cache)
        await asyncio.to_thread(copy_project, spec, wd / "srcb", candidate)
        for tree, out, label in (("src", "", "baseline"), ("srcb", "b-", "candidate")):
            failed = await self.build(wd, cache, setup, spec.kind, tree, out)
            if failed is not None:
                raise HarnessError(f"the {label} did not build for measuring: {failed.error}")
        driver = await asyncio.to_thread(bench_driver)
        clock = await asyncio.to_thread(process_clock)
        classes, pattern = self._selection(spec)
        lines = [
            f"metric {params.metric.value}",
            f"pairs {params.pairs or BENCH_PAIRS}",
            f"seed {seed}",
            f"pattern {pattern}",
            *(f"{key} {value}" for key, value in self.constants.as_request().items()),
            *(f"a {p}" for p in self._classpath(wd, "src", "")),
            *(f"b {p}" for p in self._classpath(wd, "srcb", "b-")),
            *(f"class {c}" for c in classes),
        ]
        (wd / "request.txt").write_text("\n".join(lines) + "\n")
        await stages.report("measuring (JUnit, one JVM)")
        run = await step(
            wd,
            cache,
            Step(
                argv=[
                    str(setup.bin_dir / "java"),
                    *BENCH_JVM,
                    f"-Dperforch.clock={clock}",
                    "-cp",
                    ":".join([str(setup.console), *setup.deps, str(driver)]),
                    "PerforchJUnitBench",
                    f"{INSIDE}/request.txt",
                    f"{INSIDE}/result.json",
                ],
                ro_binds=[*setup.binds, driver, clock.parent],
                limits=LIMITS,
            ),
            params.timeout_s,
            measuring=True,
        )
        return measured(wd / "result.json", run)
