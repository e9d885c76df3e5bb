"""Running a user's own project's tests on a candidate: copy the project (without its build
output, environments or VCS data) into a sandbox work dir mounted at a fixed path, patch the
candidate into the function's file, then build and run the selected tests with the project's
own build system and test framework. The user's tree is only read.

Each kind of project (``ProjectSpec.kind``) is one :class:`Runner`. Build caches live per
project (a hash of its root) under the cache directory, bound writable into the sandbox at a
fixed path, so two projects' caches never mix and a second candidate builds incrementally;
dependency caches (Go's module cache, cargo's registry, ~/.m2) are bound read-only and used
offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import ProjectSpec, TestFailure, TestOutcome
from perforch_core.projects.common import SKIP_DIRS

from .. import stages
from ..protocol import RunTestsParams
from ..sandbox import NOBODY, Limits, RunResult, run_sandboxed, workdir
from ..toolchains import cache_root, go, java, junit_console, rust

INSIDE = "/perforch"  # the work dir inside the sandbox
SRC = f"{INSIDE}/src"  # the project's copy
CACHE = "/perforch-cache"  # the project's build cache inside the sandbox
TAIL = 4000
MAX_COPY_BYTES = 512 << 20


@dataclass
class Step:
    """One sandboxed command of a runner."""

    argv: Sequence[str]
    cwd: str = SRC  # inside the sandbox
    env: Mapping[str, str] = field(default_factory=dict)
    ro_binds: Sequence[str | Path] = ()
    limits: Limits = field(default_factory=lambda: Limits(wall_s=300, cpu_s=600))


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
            return m.group(0).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def build_failure(what: str, run: RunResult) -> TestOutcome:
    output = (run.stderr_tail + "\n" + run.stdout_tail).strip()
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
    """The outcome of the selected tests from per-test results (name → failure message or
    None for a pass)."""
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
    elif len(cases) < wanted and not failures:
        error = f"only {len(cases)} of the {wanted} selected tests ran"
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


def _junit_cases(path: Path) -> dict[str, str | None]:
    """JUnit XML (pytest, the JUnit console launcher, ctest): name → failure or None;
    skipped tests are left out."""
    cases: dict[str, str | None] = {}
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return cases
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        cls = case.get("classname")
        key = f"{cls}.{name}" if cls and cls != name else name
        if case.find("skipped") is not None:
            continue
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            cases[key] = None
        else:
            text = (bad.get("message") or "") + "\n" + (bad.text or "")
            cases[key] = text.strip() or "failed"
    return cases


class Runner:
    """One kind of project: the steps that build it and run the selected tests."""

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        raise NotImplementedError


async def _step(wd: Path, cache: Path, step: Step, timeout_s: float | None = None) -> RunResult:
    limits = step.limits
    if timeout_s is not None:
        limits = Limits(
            wall_s=timeout_s,
            cpu_s=max(1, int(timeout_s * 2) + 1),
            address_space_mb=limits.address_space_mb,
            processes=limits.processes,
            file_size_mb=limits.file_size_mb,
        )
    command = ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", step.cwd, *step.argv]
    return await run_sandboxed(
        command,
        cwd=wd,
        limits=limits,
        env={"HOME": "/tmp", **step.env},
        ro_binds=step.ro_binds,
        mount_at=INSIDE,
        rw_binds=[(cache, CACHE)],
    )


# -- Python ---------------------------------------------------------------------------------
def _python_binds(exe: str) -> list[str]:
    binds = {str(Path(exe).resolve().parent.parent)}
    env_root = Path(exe).parent.parent
    if (env_root / "pyvenv.cfg").is_file():
        binds.add(str(env_root))
    return sorted(binds)


class PytestRunner(Runner):
    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        exe = params.program.interpreter or spec.options.get("python") or sys.executable
        exe = shutil.which(exe) or exe
        ids = [t.id for t in spec.tests]
        doctest = (
            ["--doctest-modules"] if any("docstring" in t.found_by for t in spec.tests) else []
        )
        import_root = spec.options.get("import_root", ".")
        path = f"{SRC}/{import_root}" if import_root != "." else SRC
        step = Step(
            argv=[
                exe,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                SRC,
                f"--junitxml={INSIDE}/junit.xml",
                *doctest,
                *ids,
            ],
            env={
                "PYTHONPATH": f"{path}:{SRC}" if path != SRC else SRC,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONNOUSERSITE": "1",
            },
            ro_binds=_python_binds(exe),
        )
        run = await _step(wd, cache, step, params.timeout_s)
        cases = _junit_cases(wd / "junit.xml")
        if run.returncode in (2, 3, 4) and not cases:
            return build_failure("collecting the tests", run)
        if run.returncode == 1 and "No module named pytest" in run.stderr_tail:
            raise HarnessError(
                f"pytest is not installed for {exe}",
                hint="install pytest into the interpreter that runs your project (--python)",
            )
        return outcome(cases, run, len(ids), run.wall_s)


# -- Go -------------------------------------------------------------------------------------
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


def go_cases(stdout: str) -> dict[str, str | None]:
    """``go test -json``: top-level test → failure output or None."""
    output: dict[str, list[str]] = {}
    cases: dict[str, str | None] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        test = event.get("Test")
        if not test:
            continue
        top = test.split("/")[0]
        action = event.get("Action")
        if action == "output":
            output.setdefault(top, []).append(event.get("Output", ""))
        elif test == top and action in ("pass", "fail"):
            cases[top] = None if action == "pass" else "".join(output.get(top, [])).strip()
    return cases


class GoRunner(Runner):
    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        tc = go()
        modcache = go_modcache()
        names = [t.id for t in spec.tests]
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
        await stages.report("building (go test -c)")
        build = await _step(
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
                return _offline(failed, "the Go module cache", "go mod download")
            return failed
        await stages.report("running the tests")
        pattern = "^(" + "|".join(re.escape(n) for n in names) + ")$"
        run = await _step(
            wd,
            cache,
            Step(
                argv=[f"{INSIDE}/pkg.test", "-test.count=1", "-test.v", "-test.run", pattern],
                cwd=cwd,
                env={"PATH": "/usr/bin:/bin"},
            ),
            params.timeout_s,
        )
        cases = _go_text_cases(run.stdout_tail)
        return outcome(cases, run, len(names), run.wall_s)


def _go_text_cases(stdout: str) -> dict[str, str | None]:
    """A test binary's verbose output: top-level test → failure output or None."""
    cases: dict[str, str | None] = {}
    current: list[str] = []
    for line in stdout.splitlines():
        clean = line.replace("\x16", "")
        m = re.match(r"^\s*--- (PASS|FAIL): (\S+)", clean)
        if m:
            name = m.group(2)
            if "/" not in name:
                cases[name] = (
                    None if m.group(1) == "PASS" else "\n".join(current).strip() or "failed"
                )
                current = []
            continue
        if re.match(r"^=== (RUN|PAUSE|CONT)", clean):
            continue
        current.append(clean)
    return cases


def _offline(result: TestOutcome, cache: str, command: str) -> TestOutcome:
    return result.model_copy(
        update={
            "error": f"the project's dependencies are not in {cache}, and the sandbox has no "
            f"network: run `{command}` in the project once, then try again\n{result.error}"
        }
    )


# -- Rust -----------------------------------------------------------------------------------
def cargo_home() -> Path:
    return Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))


def libtest_cases(stdout: str) -> dict[str, str | None]:
    """libtest's output: ``test NAME ... ok|FAILED`` lines, failures' captured output."""
    cases: dict[str, str | None] = {}
    for m in re.finditer(r"^test (.+?) \.\.\. (ok|FAILED|ignored)", stdout, re.M):
        if m.group(2) != "ignored":
            cases[m.group(1)] = None if m.group(2) == "ok" else "failed"
    for m in re.finditer(
        r"^---- (.+?) stdout ----\n(.*?)(?=^---- |^failures:|\Z)", stdout, re.M | re.S
    ):
        if m.group(1) in cases:
            cases[m.group(1)] = m.group(2).strip() or "failed"
    return cases


class CargoRunner(Runner):
    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        tc = rust()
        home = cargo_home()
        env = {
            "PATH": f"{tc.sysroot}/bin:/usr/bin:/bin",
            "CARGO_HOME": str(home),
            "CARGO_TARGET_DIR": f"{CACHE}/target",
            "CARGO_NET_OFFLINE": "true",
            "CARGO_TERM_COLOR": "never",
            "RUST_BACKTRACE": "0",
        }
        cwd = f"{SRC}/{spec.workdir}" if spec.workdir != "." else SRC
        binds = [tc.sysroot, home]
        cargo = str(tc.sysroot / "bin" / "cargo")
        crate = spec.options["crate"]
        # Ids: lib:PATH (unit tests), test:TARGET:PATH (integration tests), doc:PATH.
        unit = [
            t.id.split(":", 2)[-1] if t.id.startswith("test:") else t.id[4:]
            for t in spec.tests
            if not t.id.startswith("doc:")
        ]
        docs = [t.id[4:] for t in spec.tests if t.id.startswith("doc:")]
        await stages.report("building (cargo test --no-run)")
        build = await _step(
            wd,
            cache,
            Step(
                argv=[cargo, "test", "--offline", "-p", crate, "--tests", "--no-run"],
                cwd=cwd,
                env=env,
                ro_binds=binds,
            ),
        )
        if build.returncode != 0:
            failed = build_failure("the build", build)
            if "offline" in (failed.error or "") and "registry" in (failed.error or ""):
                return _offline(failed, f"cargo's registry ({home})", "cargo fetch")
            return failed
        cases: dict[str, str | None] = {}
        last = build
        if unit:
            await stages.report("running the tests")
            last = await _step(
                wd,
                cache,
                Step(
                    argv=[
                        cargo,
                        "test",
                        "--offline",
                        "-p",
                        crate,
                        "--tests",
                        "--no-fail-fast",
                        "--",
                        "--exact",
                        *unit,
                    ],
                    cwd=cwd,
                    env=env,
                    ro_binds=binds,
                ),
                params.timeout_s + 60,
            )
            cases.update(libtest_cases(last.stdout_tail + "\n" + last.stderr_tail))
        for path in docs:
            doc = await _step(
                wd,
                cache,
                Step(
                    argv=[cargo, "test", "--offline", "-p", crate, "--doc", "--", path],
                    cwd=cwd,
                    env=env,
                    ro_binds=binds,
                ),
                params.timeout_s + 60,
            )
            found = libtest_cases(doc.stdout_tail + "\n" + doc.stderr_tail)
            cases.update(found)
            if doc.returncode != 0:
                last = doc
        return outcome(cases, last, len(unit) + len(docs), last.wall_s)


# -- Java -----------------------------------------------------------------------------------
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
        build = await _step(
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
        run = await _step(
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
        cases = _junit_cases(wd / "reports" / "TEST-junit-jupiter.xml")
        return outcome(cases, run, len(methods), run.wall_s)


# -- C++ ------------------------------------------------------------------------------------
class CppSelfTestRunner(Runner):
    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        gxx = shutil.which("g++") or "g++"
        await stages.report("building (g++)")
        build = await _step(
            wd,
            cache,
            Step(argv=[gxx, "-std=c++17", "-O2", "-I.", spec.file, "-o", f"{INSIDE}/self-test"]),
        )
        if build.returncode != 0:
            return build_failure("the build", build)
        await stages.report("running the self-test")
        run = await _step(wd, cache, Step(argv=[f"{INSIDE}/self-test"]), params.timeout_s)
        message = None
        if run.returncode != 0:
            text = (run.stderr_tail + "\n" + run.stdout_tail).strip()
            message = first_error(text) + ("\n" + text[-TAIL:] if text else "")
        return outcome({"main": message} if not run.timed_out else {}, run, 1, run.wall_s)


class CMakeRunner(Runner):
    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        build_dir = f"{CACHE}/build"
        configure = [
            "cmake",
            "-S",
            SRC,
            "-B",
            build_dir,
            "-DCMAKE_BUILD_TYPE=Release",
            "-DFETCHCONTENT_FULLY_DISCONNECTED=ON",
            "-DFETCHCONTENT_TRY_FIND_PACKAGE_MODE=ALWAYS",
        ]
        await stages.report("building (cmake)")
        script = " && ".join(
            [
                " ".join(configure),
                f"cmake --build {build_dir} -j2",
                f"ctest --test-dir {build_dir} --show-only=json-v1 > {INSIDE}/tests.json",
            ]
        )
        build = await _step(wd, cache, Step(argv=["sh", "-c", script]))
        if build.returncode != 0:
            failed = build_failure("the build", build)
            if "FetchContent" in (failed.error or "") or "Could not find a package" in (
                failed.error or ""
            ):
                return _offline(
                    failed,
                    "the system's packages",
                    "apt-get install the library (e.g. libgtest-dev)",
                )
            return failed
        try:
            listed = json.loads((wd / "tests.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise HarnessError(f"ctest did not list the tests: {exc}") from exc
        names = _select_ctest(listed, spec)
        if not names:
            return TestOutcome(
                passed=False,
                error="none of the selected tests is known to ctest "
                f"({', '.join(t.id for t in spec.tests)})",
            )
        await stages.report("running the tests (ctest)")
        pattern = "^(" + "|".join(re.escape(n) for n in names) + ")$"
        run = await _step(
            wd,
            cache,
            Step(
                argv=[
                    "ctest",
                    "--test-dir",
                    build_dir,
                    "-R",
                    pattern,
                    "--output-on-failure",
                    "--output-junit",
                    f"{INSIDE}/ctest.xml",
                    "--timeout",
                    str(int(params.timeout_s)),
                ]
            ),
            params.timeout_s * 2 + 10,
        )
        cases = _junit_cases(wd / "ctest.xml")
        return outcome(cases, run, len(names), run.wall_s)


def _select_ctest(listed: dict[str, object], spec: ProjectSpec) -> list[str]:
    tests = listed.get("tests", []) if isinstance(listed, dict) else []
    wanted_cases = {t.id[5:] for t in spec.tests if t.id.startswith("case:")}
    wanted_exes = {t.id[4:] for t in spec.tests if t.id.startswith("exe:")}
    names: list[str] = []
    for test in tests if isinstance(tests, list) else []:
        name = str(test.get("name", ""))
        command = test.get("command") or [""]
        exe = Path(str(command[0])).name
        if (
            name in wanted_cases
            or exe in wanted_exes
            or any(
                re.search(rf"(^|[^\w]){re.escape(c)}($|[^\w])", " ".join(map(str, command)))
                for c in wanted_cases
            )
        ):
            names.append(name)
    return names


RUNNERS: dict[str, Runner] = {
    "pytest": PytestRunner(),
    "go": GoRunner(),
    "cargo": CargoRunner(),
    "maven": JavaRunner(),
    "gradle": JavaRunner(),
    "cmake": CMakeRunner(),
    "cpp-self-test": CppSelfTestRunner(),
}


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


_locks: dict[Path, asyncio.Lock] = {}


async def run_tests(params: RunTestsParams) -> TestOutcome:
    """Run the project's selected tests on ``params.source`` as the function's file."""
    spec = params.program.tests.project
    if spec is None:
        raise HarnessError("project tests without a project")
    runner = RUNNERS.get(spec.kind)
    if runner is None:
        raise HarnessError(f"no runner for {spec.kind} projects")
    if not spec.tests:
        return TestOutcome(passed=False, error="no test of the project exercises the function")
    cache = project_cache(spec)
    # One build at a time per project: its build cache is one directory.
    async with _locks.setdefault(cache, asyncio.Lock()):
        with workdir("perforch-project-") as wd:
            await stages.report("copying the project")
            await asyncio.to_thread(copy_project, spec, wd / "src", params.source)
            return await runner.run(spec, wd, cache, params)
