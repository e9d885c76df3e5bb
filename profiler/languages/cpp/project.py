"""C++ projects. A self-testing file is compiled alone (``g++ -std=c++17 -O2``) and its
``main()`` run. A CMake project is configured and built in this project's own build directory
(offline: ``FetchContent`` must find its packages installed), its tests listed by ``ctest``,
and the selected ones run through ``ctest`` (measured by running their commands directly). When
the user's Google Benchmark programs reach the function, measuring runs those instead: each
selected benchmark for one iteration per run (``--benchmark_min_time=1x``; ``1e-9`` seconds
before Google Benchmark 1.8, which stops after the first iteration then), so that a run is fixed
work measured as all of PerfOrch's CPU time is (Google Benchmark's own mode sizes its loop by
time, and its CPU column is the benchmark thread's alone), the run repeated k times.
Tracing builds it once more with ``--coverage`` (instrumenting the function's file alone) and
runs each ctest test by itself: those whose gcov counts show the function's lines run."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import ProjectSpec, TestOutcome

from ...projects.base import (
    CACHE,
    INSIDE,
    SRC,
    TAIL,
    Prepared,
    Runner,
    Step,
    build_failure,
    first_error,
    junit_cases,
    offline,
    outcome,
    shared_dir,
    step,
    traced_lines,
)
from ...protocol import RunTestsParams, TraceResult

BUILD = f"{CACHE}/build"
COVER_BUILD = f"{CACHE}/build-cover"  # the coverage build never mixes with the measured one


class SelfTestRunner(Runner):
    async def prepare(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> Prepared | TestOutcome:
        gxx = shutil.which("g++") or "g++"
        build = await step(
            wd,
            cache,
            Step(argv=[gxx, "-std=c++17", "-O2", "-I.", spec.file, "-o", f"{INSIDE}/self-test"]),
        )
        if build.returncode != 0:
            return build_failure("the build", build)
        return Prepared(argv=[f"{INSIDE}/self-test"])

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        prepared = await self.prepare(spec, wd, cache, params)
        if isinstance(prepared, TestOutcome):
            return prepared
        run = await step(wd, cache, Step(argv=prepared.argv), params.timeout_s)
        message = None
        if run.returncode != 0:
            text = (run.stderr_tail + "\n" + run.stdout_tail).strip()
            message = first_error(text) + ("\n" + text[-TAIL:] if text else "")
        return outcome({"main": message} if not run.timed_out else {}, run, 1, run.wall_s)


def select(listed: object, spec: ProjectSpec) -> list[dict[str, object]]:
    """The ctest tests (``--show-only=json-v1`` entries) that are the selected ones: GoogleTest,
    Catch2 or doctest cases by name, plain test programs by their executable."""
    tests = listed.get("tests", []) if isinstance(listed, dict) else []
    wanted_cases = {t.id[5:] for t in spec.tests if t.id.startswith("case:")}
    wanted_exes = {t.id[4:] for t in spec.tests if t.id.startswith("exe:")}
    chosen: list[dict[str, object]] = []
    for test in tests if isinstance(tests, list) else []:
        name = str(test.get("name", ""))
        command = test.get("command") or [""]
        exe = Path(str(command[0])).name
        text = " ".join(map(str, command))
        if (
            name in wanted_cases
            or exe in wanted_exes
            or any(re.search(rf"(^|[^\w.]){re.escape(c)}($|[^\w.])", text) for c in wanted_cases)
        ):
            chosen.append(test)
    return chosen


def trace_id(test: dict[str, object]) -> str:
    """The discovery id of a ctest test: a case registered by name (GoogleTest, Catch2 or
    doctest discovery passes the name to its program) or a whole test program."""
    name = str(test.get("name", ""))
    command = [str(c) for c in test.get("command") or [""]]  # type: ignore[attr-defined]
    args = " ".join(command[1:]).replace("\\", "")  # Catch2 escapes "," in names
    if re.search(rf"(^|[^\w.]){re.escape(name)}($|[^\w.])", args):
        return f"case:{name}"
    return f"exe:{Path(command[0]).name}"


def reached_lines(report: str, file: str, first: int, last: int) -> bool:
    """Whether gcov's JSON reports (``--json-format --stdout``, one per object, concatenated)
    show one of ``file``'s lines first…last run."""
    decoder, at = json.JSONDecoder(), 0
    while True:
        while at < len(report) and report[at].isspace():
            at += 1
        if at >= len(report):
            return False
        try:
            data, at = decoder.raw_decode(report, at)
        except json.JSONDecodeError:
            return False
        for entry in data.get("files", []) if isinstance(data, dict) else []:
            if not str(entry.get("file", "")).endswith("/" + file.lstrip("/")):
                continue
            for line in entry.get("lines", []):
                if first <= int(line.get("line_number", 0)) <= last and line.get("count", 0) > 0:
                    return True


class CMakeRunner(Runner):
    async def trace(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TraceResult:
        """Every ctest test, each run alone from one coverage build; those whose gcov counts
        show the function's lines run are kept as the map."""
        first, last = traced_lines(spec)
        # Only the function's file is instrumented: gcov's reports stay small.
        only = re.escape(f"{SRC}/{spec.file}")
        flags = f"--coverage -O0 -fprofile-filter-files={only}"
        listed = await self._build(
            wd,
            cache,
            COVER_BUILD,
            (
                "-DCMAKE_BUILD_TYPE=Debug",  # with no -g: objects stay small
                "-DCMAKE_CXX_FLAGS_DEBUG=-O0",
                "-DCMAKE_C_FLAGS_DEBUG=-O0",
                f"-DCMAKE_CXX_FLAGS={flags}",
                f"-DCMAKE_C_FLAGS={flags}",
                "-DCMAKE_EXE_LINKER_FLAGS=--coverage",
                "-DCMAKE_SHARED_LINKER_FLAGS=--coverage",
            ),
        )
        if isinstance(listed, TestOutcome):
            return TraceResult(error=listed.error)
        entries = listed.get("tests")
        tests = [t for t in entries if isinstance(t, dict)] if isinstance(entries, list) else []
        if not tests:
            return TraceResult(error="ctest lists no tests")
        shared_dir(wd, "cover")
        runs = []
        for n, test in enumerate(tests):
            pattern = shlex.quote("^" + re.escape(str(test.get("name", ""))) + "$")
            runs.append(
                f"find {COVER_BUILD} -name '*.gcda' -delete; "
                f"ctest --test-dir {COVER_BUILD} -R {pattern} --timeout {int(params.timeout_s)} "
                f">/dev/null 2>&1; cd {INSIDE}/cover && "
                f"find {COVER_BUILD} -name '*.gcda' -exec gcov --json-format --stdout {{}} + "
                f"> {INSIDE}/cover/{n}.json 2>/dev/null; cd {SRC};"
            )
        (wd / "trace.sh").write_text("\n".join(runs) + "\n")
        run = await step(
            wd, cache, Step(argv=["sh", f"{INSIDE}/trace.sh"]), params.timeout_s * len(tests) + 60
        )
        reports = {int(p.stem): p for p in (wd / "cover").glob("*.json")}
        if not reports:
            detail = run.crashed_reason or first_error(run.stderr_tail + run.stdout_tail)
            return TraceResult(error=f"no test ran under coverage: {detail or 'no output'}")
        reached = [
            trace_id(tests[n])
            for n, report in sorted(reports.items())
            if reached_lines(report.read_text(errors="replace"), spec.file, first, last)
        ]
        ran = len({trace_id(t) for t in tests})
        return TraceResult(reached=list(dict.fromkeys(reached)), ran=ran)

    async def _build(
        self, wd: Path, cache: Path, build_dir: str = BUILD, options: tuple[str, ...] = ()
    ) -> TestOutcome | dict[str, object]:
        configure = " ".join(
            [
                f"cmake -S {SRC} -B {build_dir}",
                *(shlex.quote(o) for o in options or ("-DCMAKE_BUILD_TYPE=Release",)),
                "-DFETCHCONTENT_FULLY_DISCONNECTED=ON -DFETCHCONTENT_TRY_FIND_PACKAGE_MODE=ALWAYS",
            ]
        )
        script = (
            f"{configure} >/dev/null && cmake --build {build_dir} -j2 >/dev/null && "
            f"ctest --test-dir {build_dir} --show-only=json-v1 > {INSIDE}/tests.json"
        )
        build = await step(wd, cache, Step(argv=["sh", "-c", script]))
        if build.returncode != 0:
            failed = build_failure("the build", build)
            text = failed.error or ""
            if (
                "FetchContent" in text
                or "Could not find a package" in text
                or "find_package" in text
            ):
                return offline(
                    failed, "the system's packages", "apt-get install the library it names"
                )
            return failed
        try:
            listed = json.loads((wd / "tests.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise HarnessError(f"ctest did not list the tests: {exc}") from exc
        return listed  # type: ignore[no-any-return]

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        listed = await self._build(wd, cache)
        if isinstance(listed, TestOutcome):
            return listed
        names = [str(t["name"]) for t in select(listed, spec)]
        if not names:
            return TestOutcome(
                passed=False,
                error="ctest knows none of the selected tests "
                f"({', '.join(t.id for t in spec.tests)})",
            )
        pattern = "^(" + "|".join(re.escape(n) for n in names) + ")$"
        run = await step(
            wd,
            cache,
            Step(
                argv=[
                    "ctest",
                    "--test-dir",
                    BUILD,
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
        return outcome(junit_cases(wd / "ctest.xml"), run, len(names), run.wall_s)

    async def prepare(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> Prepared | TestOutcome:
        listed = await self._build(wd, cache)
        if isinstance(listed, TestOutcome):
            return listed
        if spec.benchmarks:
            return await self._benchmarks(spec, wd, cache)
        chosen = select(listed, spec)
        if not chosen:
            raise HarnessError("ctest knows none of the selected tests")
        (wd / "bin").mkdir(exist_ok=True)
        gtest: dict[str, list[str]] = {}  # executable → its selected cases (--gtest_filter)
        commands = []
        for test in chosen:  # out of the shared build dir: the next build overwrites it
            command = [str(c) for c in test.get("command") or []]  # type: ignore[attr-defined]
            exe = Path(command[0])
            local = wd / "bin" / exe.name
            if not local.exists():
                shutil.copy2(cache / exe.relative_to(CACHE), local)
            inside = f"{INSIDE}/bin/{exe.name}"
            filters = [c.split("=", 1)[1] for c in command[1:] if c.startswith("--gtest_filter=")]
            if filters:
                gtest.setdefault(inside, []).extend(filters)
                continue
            quoted = " ".join(f"'{c}'" for c in [inside, *command[1:]])
            commands.append(
                f"i=0; while [ $i -lt {{k}} ]; do {quoted} >/dev/null || s=1; i=$((i+1)); done;"
            )
        for inside, filters in gtest.items():  # one process repeats its cases k times
            commands.append(
                f"'{inside}' '--gtest_filter={':'.join(filters)}' --gtest_repeat={{k}} "
                ">/dev/null || s=1;"
            )
        return Prepared(
            argv=["sh", "-c", f"s=0; {' '.join(commands)} exit $s"],
            template=True,
            note="the selected tests' commands run directly, not through ctest",
        )

    async def _benchmarks(self, spec: ProjectSpec, wd: Path, cache: Path) -> Prepared:
        """The Google Benchmark programs of ``spec.benchmarks``, built by the project's build
        (copied out of the shared build dir), each filtered to its selected benchmarks."""
        (wd / "bin").mkdir(exist_ok=True)
        chosen: dict[str, list[str]] = {}  # program → its benchmark functions
        for b in spec.benchmarks:
            _, target, name = b.id.split(":", 2)
            chosen.setdefault(target, []).append(name)
        build = cache / Path(BUILD).relative_to(CACHE)
        commands = []
        for target, names in chosen.items():
            built = [p for p in build.rglob(target) if p.is_file() and p.stat().st_mode & 0o111]
            if not built:
                raise HarnessError(
                    f"the benchmark program {target} was not built (is Google Benchmark "
                    "installed where CMake finds it?)"
                )
            local = wd / "bin" / target
            shutil.copy2(built[0], local)
            inside = f"{INSIDE}/bin/{target}"
            once = await self._one_iteration_flag(wd, cache, inside)
            pattern = "^(" + "|".join(re.escape(n) for n in names) + ")(/|$)"
            quoted = " ".join(shlex.quote(a) for a in [inside, f"--benchmark_filter={pattern}"])
            commands.append(
                f"i=0; while [ $i -lt {{k}} ]; do {quoted} {once} >/dev/null || s=1; "
                "i=$((i+1)); done;"
            )
        return Prepared(
            argv=["sh", "-c", f"s=0; {' '.join(commands)} exit $s"],
            template=True,
            note=(
                "your Google Benchmark functions, one iteration of each per run (the program's "
                "start-up is in both sides' time: a gain reads smaller, never larger)"
            ),
        )

    async def _one_iteration_flag(self, wd: Path, cache: Path, program: str) -> str:
        """``--benchmark_min_time=1x`` where the program's Google Benchmark reads it (1.8 and
        later), else a minimum time so small that the first iteration meets it."""
        probe = await step(
            wd,
            cache,
            Step(argv=[program, "--benchmark_min_time=1x", "--benchmark_list_tests=true"]),
            60,
        )
        return "--benchmark_min_time=1x" if probe.returncode == 0 else "--benchmark_min_time=1e-9"
