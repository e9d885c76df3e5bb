"""Cargo crates: ``cargo test --no-run`` offline (the user's cargo home read-only, this
project's own target directory) builds the test binaries, which are copied out of the shared
target directory and run directly with the selected tests (``--exact``); the function's doctest
runs through ``cargo test --doc`` (and is not part of what is measured). When the crate has
criterion benchmarks that reach the function, measuring runs those instead: ``cargo bench
--no-run`` builds them (the bench profile, optimised); for time each run is criterion's bench
mode, short, and its value what criterion states for one iteration (a run of its test mode, each
routine once, is mostly the program's start-up); for memory, the test mode's fixed work."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Iterable
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import ProjectSpec, TestCase, TestOutcome

from ...projects.base import (
    CACHE,
    INSIDE,
    SRC,
    TIMED_OUTPUT,
    Prepared,
    Runner,
    Step,
    build_failure,
    logged,
    offline,
    outcome,
    read_log,
    step,
)
from ...protocol import RunTestsParams
from .crate_workload import RustCrateWorkloads
from .toolchain import rust


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


def _ids(spec: ProjectSpec) -> tuple[list[str], list[str]]:
    """(unit and integration test paths, doctest paths). Ids: lib:PATH, test:TARGET:PATH,
    doc:PATH; another workspace member's tests are prefixed with ``CRATE/``."""
    tests = []
    for t in spec.tests:
        own = re.sub(r"^[\w-]+/", "", t.id)
        if not own.startswith("doc:"):
            tests.append(own.split(":", 2)[-1] if own.startswith("test:") else own[4:])
    return list(dict.fromkeys(tests)), [t.id[4:] for t in spec.tests if t.id.startswith("doc:")]


def _packages(spec: ProjectSpec) -> str:
    """``-p`` for the function's crate and each member whose tests were selected."""
    crates = [spec.options["crate"]]
    crates += [t.id.split("/", 1)[0] for t in spec.tests if re.match(r"^[\w-]+/", t.id)]
    return " ".join(f'-p "{c}"' for c in dict.fromkeys(crates))


BENCH_NAME = re.compile(
    r"(?:bench_function|bench_with_input|benchmark_group|BenchmarkId::(?:new|from_parameter))"
    r"\s*\(\s*\"([^\"]+)\""
)


def bench_filter(benchmarks: Iterable[TestCase]) -> dict[str, str | None]:
    """Each bench target's criterion filter (a regex over benchmark ids) that selects the
    benchmarks of the functions found: the names they give their benchmarks; None (the whole
    target) when a function names none literally."""
    names: dict[str, list[str] | None] = {}
    for b in benchmarks:
        _, target, _ = b.id.split(":", 2)
        found = BENCH_NAME.findall(b.code)
        if not found or names.get(target, []) is None:
            names[target] = None
        else:
            names[target] = [*(names.get(target) or []), *found]
    return {
        t: None if n is None else "|".join(_regex_literal(x) for x in dict.fromkeys(n))
        for t, n in names.items()
    }


# Criterion's bench mode, short: each run is one sample of PerfOrch's (which repeats and
# interleaves them); criterion's own analysis gives the iteration's time within it.
CRITERION_TIMED = (
    "--warm-up-time",
    "0.05",
    "--measurement-time",
    "0.2",
    "--sample-size",
    "10",
    "--noplot",
    "--color",
    "never",
)
CRITERION_TIME = re.compile(
    r"time:\s+\[\s*[\d.]+\s*\S+\s+([\d.]+)\s*(ns|µs|us|ms|s)\s+[\d.]+\s*\S+\s*\]"
)
UNIT_NS = {"ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def criterion_ns(output: str) -> float | None:
    """The sum of the mean times of one iteration that criterion states (``time: [low mean
    high]``, one line per benchmark), in ns; None when it states none."""
    found = CRITERION_TIME.findall(output)
    return sum(float(v) * UNIT_NS[u] for v, u in found) if found else None


def _regex_literal(text: str) -> str:
    """``text`` as a Rust ``regex`` matching it literally (its syntax, not Python's: a space or
    a quote must not be escaped there)."""
    return re.sub(r"([\\.+*?()|\[\]{}^$#&\-~])", r"\\\1", text)


def _executables(json_lines: str) -> list[tuple[str, str]]:
    """The test-profile artifacts (test and bench binaries) in cargo's JSON messages:
    (target name, executable)."""
    out = []
    for line in json_lines.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        exe = message.get("executable")
        if exe and message.get("profile", {}).get("test"):
            out.append((str(message.get("target", {}).get("name", "")), exe))
    return out


class CargoRunner(Runner):
    def __init__(self) -> None:
        self.generated_inputs = RustCrateWorkloads(self)

    def _env(self) -> tuple[dict[str, str], list[str | Path], str]:
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
        return env, [tc.sysroot, home], str(tc.sysroot / "bin" / "cargo")

    async def build_tests(
        self, wd: Path, cache: Path, what: str, packages: str, cwd: str
    ) -> list[tuple[str, str]] | TestOutcome:
        """``cargo test|bench … --no-run`` (``what``: the subcommand and its targets) in
        ``cwd``; the binaries built by target, copied out of the shared target dir (the next
        build overwrites it)."""
        env, binds, cargo = self._env()
        script = (
            f'"{cargo}" {what} --offline {packages} --no-run '
            f"--message-format=json-render-diagnostics > {INSIDE}/cargo.json"
        )
        build = await step(
            wd, cache, Step(argv=["sh", "-c", script], cwd=cwd, env=env, ro_binds=binds)
        )
        if build.returncode != 0:
            failed = build_failure("the build", build)
            text = failed.error or ""
            if "offline" in text and ("registry" in text or "download" in text):
                return offline(failed, f"cargo's registry ({cargo_home()})", "cargo fetch")
            return failed
        (wd / "bin").mkdir(exist_ok=True)
        names = []
        for target, exe in _executables((wd / "cargo.json").read_text()):
            local = wd / "bin" / Path(exe).name
            shutil.copy2(cache / Path(exe).relative_to(CACHE), local)
            names.append((target, f"{INSIDE}/bin/{local.name}"))
        return names

    async def prepare(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> Prepared | TestOutcome:
        """For measuring: the user's criterion benchmarks that reach the function, else its
        tests."""
        if spec.benchmarks:
            return await self._benches(spec, wd, cache)
        return await self._tests(spec, wd, cache)

    async def _benches(self, spec: ProjectSpec, wd: Path, cache: Path) -> Prepared | TestOutcome:
        """Each crate's bench targets built where the crate is (the function's own, a
        workspace member's, or a benchmarks crate beside it): criterion's test mode as the
        fixed-work command, its short bench mode as the timed one."""
        by_crate: dict[Path, list[TestCase]] = {}
        for b in spec.benchmarks:  # the nearest manifest above the bench file, in the copy
            crate = (wd / "src" / b.file).parent
            while not (crate / "Cargo.toml").exists() and crate != wd / "src":
                crate = crate.parent
            by_crate.setdefault(crate, []).append(b)
        runs, timed = [], []
        for crate, cases in by_crate.items():
            filters = bench_filter(cases)
            targets = " ".join(f"--bench {shlex.quote(t)}" for t in filters)
            rel = crate.relative_to(wd / "src").as_posix()
            cwd = f"{SRC}/{rel}" if rel != "." else SRC
            built = await self.build_tests(wd, cache, f"bench {targets}", "", cwd)
            if isinstance(built, TestOutcome):
                return built
            for target, pattern in filters.items():
                binary = next((exe for t, exe in built if t == target), None)
                if binary is None:
                    raise HarnessError(f"cargo bench built no binary for the target {target}")
                selected = [pattern] if pattern else []
                runs.append(shlex.join([binary, *selected]) + " || s=1;")
                timed.append(
                    shlex.join([binary, "--bench", *CRITERION_TIMED, *selected])
                    + f" >> {INSIDE}/{TIMED_OUTPUT} || s=1;"
                )
        return Prepared(
            argv=["sh", "-c", f"s=0; {' '.join(runs)} exit $s"],
            cwd=f"{SRC}/{spec.workdir}" if spec.workdir != "." else SRC,
            env={"PATH": "/usr/bin:/bin", "RUST_BACKTRACE": "0"},
            note=(
                "time: criterion's own estimate of one iteration of your selected benchmarks "
                "(wall-clock, their sum; its bench mode with 0.05 s of warm-up and 0.2 s of "
                "samples per run); memory: criterion's test mode, each routine once per run"
            ),
            timed_argv=["sh", "-c", f"s=0; : > {INSIDE}/{TIMED_OUTPUT}; {' '.join(timed)} exit $s"],
            per_iteration_ns=criterion_ns,
        )

    async def _tests(self, spec: ProjectSpec, wd: Path, cache: Path) -> Prepared | TestOutcome:
        cwd = f"{SRC}/{spec.workdir}" if spec.workdir != "." else SRC
        built = await self.build_tests(wd, cache, "test --tests", _packages(spec), cwd)
        if isinstance(built, TestOutcome):
            return built
        names = [exe for _, exe in built]
        tests, docs = _ids(spec)
        env = {"PATH": "/usr/bin:/bin", "RUST_BACKTRACE": "0"}
        notes = ["doctests are run but not measured"] if docs else []
        # The selection is found statically; a test behind a cfg the build does not enable
        # (#[cfg(feature = "hyphenation")] in textwrap) is not in the binaries: left out, said.
        listing = " ".join(f"'{n}' --list --format terse;" for n in names)
        listed = await step(wd, cache, Step(argv=logged(["sh", "-c", listing]), cwd=cwd, env=env))
        text, listed = read_log(wd, listed)
        built_tests = {m.group(1) for m in re.finditer(r"^(\S+): test$", text, re.M)}
        absent = [t for t in tests if t not in built_tests] if listed.returncode == 0 else []
        if absent and len(absent) < len(tests):
            tests = [t for t in tests if t in built_tests]
            notes.append(
                f"{len(absent)} selected tests are not in this build (behind a cfg it does not "
                f"enable, e.g. a feature): {', '.join(absent[:3])}{' …' if len(absent) > 3 else ''}"
            )
        loop = " ".join(f"'{n}' --exact {' '.join(repr(t) for t in tests)} || s=1;" for n in names)
        return Prepared(
            argv=["sh", "-c", f"s=0; {loop} exit $s"],
            cwd=cwd,
            env=env,
            note="; ".join(notes),
            present=len(tests),
        )

    async def run(
        self, spec: ProjectSpec, wd: Path, cache: Path, params: RunTestsParams
    ) -> TestOutcome:
        prepared = await self._tests(spec, wd, cache)
        if isinstance(prepared, TestOutcome):
            return prepared
        tests, docs = _ids(spec)
        cases: dict[str, str | None] = {}
        last = None
        if tests:
            last = await step(
                wd,
                cache,
                Step(argv=logged(prepared.argv), cwd=prepared.cwd, env=prepared.env),
                params.timeout_s,
            )
            output, last = read_log(wd, last)
            cases.update(libtest_cases(output))
        env, binds, cargo = self._env()
        for path in docs:
            doc = await step(
                wd,
                cache,
                Step(
                    argv=[
                        cargo,
                        "test",
                        "--offline",
                        "-p",
                        spec.options["crate"],
                        "--doc",
                        "--",
                        path,
                    ],
                    cwd=prepared.cwd,
                    env=env,
                    ro_binds=binds,
                ),
                params.timeout_s + 60,
            )
            cases.update(libtest_cases(doc.stdout_tail + "\n" + doc.stderr_tail))
            if last is None or doc.returncode != 0:
                last = doc
        assert last is not None  # a project has at least one test
        present = len(tests) if prepared.present is None else prepared.present
        return outcome(cases, last, present + len(docs), last.wall_s)
