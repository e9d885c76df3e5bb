"""C++ projects. A self-testing file is compiled alone (``g++ -std=c++17 -O2``) and its
``main()`` run. A CMake project is configured and built in this project's own build directory
(offline: ``FetchContent`` must find its packages installed), its tests listed by ``ctest``,
and the selected ones run through ``ctest`` (measured by running their commands directly)."""

from __future__ import annotations

import json
import re
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
    step,
)
from ...protocol import RunTestsParams

BUILD = f"{CACHE}/build"


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


class CMakeRunner(Runner):
    async def _build(self, wd: Path, cache: Path) -> TestOutcome | list[dict[str, object]]:
        configure = (
            f"cmake -S {SRC} -B {BUILD} -DCMAKE_BUILD_TYPE=Release "
            "-DFETCHCONTENT_FULLY_DISCONNECTED=ON -DFETCHCONTENT_TRY_FIND_PACKAGE_MODE=ALWAYS"
        )
        script = (
            f"{configure} >/dev/null && cmake --build {BUILD} -j2 >/dev/null && "
            f"ctest --test-dir {BUILD} --show-only=json-v1 > {INSIDE}/tests.json"
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
