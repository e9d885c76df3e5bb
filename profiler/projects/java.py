"""Java projects (Maven, Gradle) with JUnit Jupiter tests: the project's main and test sources
are compiled with ``javac`` in the sandbox against its dependency jars (Maven resolves them
offline from the user's ~/.m2, on the user's own pom, never on a candidate), then the JUnit
Platform console launcher runs the selected test methods."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import ProjectSpec, TestOutcome

from .. import stages
from ..protocol import RunTestsParams
from ..sandbox import Limits
from ..toolchains import java, junit_console
from .base import INSIDE, SRC, Runner, Step, build_failure, junit_cases, outcome, step

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


def m2_repository() -> Path:
    return Path.home() / ".m2" / "repository"


async def maven_classpath(root: Path, cache: Path) -> list[str]:
    """The project's dependency jars (JUnit's own left out: the console launcher brings the
    engine), resolved offline by Maven from the user's ~/.m2 on the user's own pom (never on a
    candidate), cached per pom."""
    pom = root / "pom.xml"
    key = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    saved = cache / f"classpath-{key}.txt"
    if not saved.exists():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise HarnessError("Maven (mvn) is not installed: the project's classpath is unknown")
        out = cache / "classpath.tmp"
        proc = await asyncio.create_subprocess_exec(
            mvn,
            "-B",
            "-q",
            "-o",
            "dependency:build-classpath",
            f"-Dmdep.outputFile={out}",
            cwd=root,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        text, _ = await proc.communicate()
        if proc.returncode != 0 or not out.exists():
            lines = [ln for ln in text.decode(errors="replace").splitlines() if "ERROR" in ln]
            raise HarnessError(
                "Maven could not resolve the project's dependencies offline: "
                + (lines[0] if lines else f"exit code {proc.returncode}"),
                hint="build the project once with network (mvn test-compile) so ~/.m2 has them",
            )
        out.rename(saved)
    jars = [j for j in saved.read_text().strip().split(os.pathsep) if j]
    return [j for j in jars if not re.search(r"/org/(junit|opentest4j|apiguardian)/", j)]


class JavaRunner(Runner):
    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        tc = java()
        console = junit_console()
        root = Path(spec.root)
        deps = await maven_classpath(root, cache) if spec.kind == "maven" else []
        binds: list[str | Path] = [
            tc.home,
            console.parent,
            *sorted({str(Path(j).parent) for j in deps}),
        ]
        binds += [str(p) for p in Path("/etc").glob("java*")]
        bin_dir = tc.home / "bin"
        cp = ":".join([f"{INSIDE}/classes", *deps, str(console)])
        javac = (
            f"{bin_dir}/javac -J-Xmx384m -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 "
            "-proc:none -nowarn -encoding UTF-8"
        )
        script = (
            f"set -e; mkdir -p {INSIDE}/classes {INSIDE}/test-classes; "
            f"find src/main/java -name '*.java' > {INSIDE}/main.txt 2>/dev/null || true; "
            f"if [ -s {INSIDE}/main.txt ]; then "
            f"{javac} -d {INSIDE}/classes -cp '{cp}' @{INSIDE}/main.txt; fi; "
            f"find src/test/java -name '*.java' > {INSIDE}/test.txt; "
            f"{javac} -d {INSIDE}/test-classes -cp '{cp}' @{INSIDE}/test.txt"
        )
        await stages.report("building (javac)")
        build = await step(
            wd,
            cache,
            Step(
                argv=["sh", "-c", script],
                ro_binds=binds,
                limits=Limits(wall_s=300, cpu_s=600, address_space_mb=4096),
            ),
        )
        if build.returncode != 0:
            return build_failure("the build", build)
        classes = [f"{INSIDE}/test-classes", f"{INSIDE}/classes"]
        for res in ("src/main/resources", "src/test/resources"):
            if (wd / "src" / res).is_dir():
                classes.append(f"{SRC}/{res}")
        run_cp = ":".join([*classes, *deps])
        methods = [t.id for t in spec.tests]
        classes_sel = sorted({m.split("#")[0] for m in methods})
        pattern = "^(" + "|".join(re.escape(m) for m in methods) + r")(\(.*\))?$"
        await stages.report("running the tests (JUnit)")
        run = await step(
            wd,
            cache,
            Step(
                argv=[
                    str(bin_dir / "java"),
                    *JVM,
                    "-jar",
                    str(console),
                    "execute",
                    "--disable-banner",
                    "--disable-ansi-colors",
                    "--details=none",
                    f"--class-path={run_cp}",
                    *(f"--select-class={c}" for c in classes_sel),
                    f"--include-methodname={pattern}",
                    f"--reports-dir={INSIDE}/reports",
                ],
                ro_binds=binds,
                limits=Limits(wall_s=300, cpu_s=600, address_space_mb=4096),
            ),
            max(params.timeout_s, 60),
        )
        cases = junit_cases(wd / "reports" / "TEST-junit-jupiter.xml")
        return outcome(cases, run, len(methods), run.wall_s)
