"""What the compiled languages' harnesses share: build in the sandbox, cache the artifact by a
hash of (sources, flags, toolchain version), run the artifact in the sandbox, read the outcome.

A language supplies a :class:`Recipe` per build: the files to write, the compile command, the
artifact to keep, and how to run it. Compilers read untrusted input, so they run sandboxed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from perforch_core.errors import HarnessError
from perforch_core.models import (
    Footprint,
    InstructionCounts,
    Language,
    Metric,
    ProcessMemory,
    TestFailure,
    TestOutcome,
    TestSpec,
)

from .. import stages
from ..protocol import CompareParams, InputsParams, InputsResult, Program, RunTestsParams
from ..sandbox import NOBODY, Limits, RunResult, run_sandboxed, workdir
from ..session import fresh_dir, run_in
from ..toolchains import cache_root as toolchain_cache
from ..toolchains import launcher
from . import contract, python_exe
from . import process_memory as pm
from .base import ProcessResult, pairs_within_budget
from .generated import GeneratedInputs

INPUTS = "perforch_inputs.txt"  # a generated workload's inputs, beside the measuring program
WORKLOAD_RUNNER = "py_workload.py"

TAIL = 2000


class Compiler(Protocol):
    """A warm compiler service: None from ``compile`` means "use the recipe's command"."""

    async def compile(self, sources: Path) -> tuple[int, str] | None: ...


@dataclass(frozen=True)
class Recipe:
    """How to build and run one program."""

    files: Mapping[str, str]
    compile: Sequence[str]  # run in the work dir; empty: nothing to compile
    artifact: str  # file or directory (relative) to keep after compiling
    run: Sequence[str]  # run in a work dir holding the artifact
    key: str  # toolchain version + flags: part of the cache key
    ro_binds: Sequence[str | Path] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    compile_limits: Limits = field(default_factory=lambda: Limits(wall_s=120, cpu_s=120))
    # Directories copied into the build dir as symbolic links to their files, which the sandbox
    # sees through a read-only bind: a warm cache the build may add to but not alter. (Hard
    # links, before, were protected only by being root's: without root, the daemon's user owns
    # them, and inside the sandbox that user is the candidate's.)
    linked_dirs: Mapping[str, Path] = field(default_factory=dict)
    compiler: Compiler | None = None  # compiles the same sources faster, when it is up
    # Printed last by a launcher around the tests: an exit code 0 without it means the program
    # ended early (an exit(0) in the candidate), not that the tests passed.
    finished_marker: str = ""


def _digest(recipe: Recipe) -> str:
    h = hashlib.sha256(recipe.key.encode())
    for name in sorted(recipe.files):
        h.update(name.encode() + b"\0" + recipe.files[name].encode() + b"\0")
    h.update(json.dumps(list(recipe.compile)).encode())
    return h.hexdigest()[:24]


@dataclass
class Built:
    path: Path | None  # the cached artifact; None when the build failed
    error: str = ""
    cached: bool = False


async def build(language: Language, recipe: Recipe) -> Built:
    """Compile once per distinct (sources, flags, toolchain); later calls reuse the artifact."""
    target = builds_dir() / language.value / _digest(recipe)
    artifact = target / Path(recipe.artifact).name
    if artifact.exists():
        with contextlib.suppress(OSError):
            os.utime(target)  # recently used: kept by prune_builds()
        return Built(artifact, cached=True)
    await stages.report(f"building ({language.value})")
    with workdir(f"perforch-build-{language.value}-") as wd:
        for name, text in recipe.files.items():
            path = wd / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            if os.geteuid() == 0:
                os.chown(path.parent, NOBODY, NOBODY)
        linked = recipe.linked_dirs.values()  # seen read-only inside: the links lead there
        for name, source in recipe.linked_dirs.items():
            await _link_tree(source, wd / name)
        warm = await recipe.compiler.compile(wd) if recipe.compiler is not None else None
        if warm is not None:
            returncode, output, reason = warm[0], warm[1].strip(), f"exit code {warm[0]}"
        else:
            run = await run_sandboxed(
                recipe.compile,
                cwd=wd,
                limits=recipe.compile_limits,
                env=recipe.env,
                ro_binds=[*recipe.ro_binds, *(str(p.resolve()) for p in linked)],
            )
            returncode = -1 if run.returncode is None else run.returncode
            output = (run.stderr_tail + run.stdout_tail).strip()
            reason = run.crashed_reason or f"exit code {run.returncode}"
        produced = wd / recipe.artifact
        if returncode != 0 or not produced.exists():
            return Built(None, f"the build failed ({reason}):\n{output[-TAIL:]}")
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if produced.is_dir():
            shutil.copytree(produced, tmp / produced.name)
        else:
            shutil.copy2(produced, tmp / produced.name)
        with contextlib.suppress(OSError):
            tmp.rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
    return Built(artifact)


MAX_CACHED_BUILDS = 300  # per language, least recently used first out


def builds_dir() -> Path:
    return toolchain_cache() / "builds"


def prune_builds(keep: int = MAX_CACHED_BUILDS) -> int:
    """Remove all but the ``keep`` most recently used builds of each language; returns how
    many were removed. Called when the daemon starts."""
    removed = 0
    root = builds_dir()
    if not root.is_dir():
        return 0
    for language_dir in root.iterdir():
        if not language_dir.is_dir():
            continue
        entries = sorted(
            (e for e in language_dir.iterdir() if e.is_dir()),
            key=lambda e: e.stat().st_mtime,
            reverse=True,
        )
        for stale in entries[keep:]:
            shutil.rmtree(stale, ignore_errors=True)
            removed += 1
    return removed


async def _link_tree(source: Path, dest: Path) -> None:
    """``dest``: ``source``'s directories, with a symbolic link to each of its files."""
    proc = await asyncio.create_subprocess_exec("cp", "-as", str(source.resolve()), str(dest))
    if await proc.wait() != 0:
        raise HarnessError(f"cannot link {source} into the build directory")
    if os.geteuid() == 0:
        for root, dirs, _files in os.walk(dest):
            os.chown(root, NOBODY, NOBODY)
            for d in dirs:
                os.chown(os.path.join(root, d), NOBODY, NOBODY)


async def run_artifact(
    recipe: Recipe,
    artifact: Path,
    limits: Limits,
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    files: Mapping[str, bytes] | None = None,
) -> RunResult:
    """Run ``argv`` (default: the recipe's run command) next to a copy of the artifact and
    ``files`` (a generated workload's inputs)."""
    await stages.report("running")
    async with fresh_dir() as wd:
        dest = wd / artifact.name
        if artifact.is_dir():
            shutil.copytree(artifact, dest)
        else:
            shutil.copy2(artifact, dest)
        for name, data in (files or {}).items():
            (wd / name).write_bytes(data)
        return await run_in(
            wd,
            argv or recipe.run,
            limits=limits,
            env={**recipe.env, **(env or {})},
            ro_binds=[*recipe.ro_binds, *pm.launcher_binds(argv or ())],
        )


FINISHED = "PERFORCH-TESTS-FINISHED"  # what PerfOrch's launchers print after the tests


def outcome_from_run(
    run: RunResult, failure_lines: Sequence[str], finished_marker: str = ""
) -> TestOutcome:
    """A test program passes when it exits 0 (and printed ``finished_marker``, when it has
    one); otherwise its output says why."""
    early = bool(finished_marker) and finished_marker not in run.stdout_tail
    if run.returncode == 0 and not run.timed_out and early:
        return TestOutcome(
            passed=False,
            total=1,
            error="the test program exited (code 0) before its tests finished: "
            "does the candidate call exit()?",
            duration_s=run.wall_s,
            stdout_tail=run.stdout_tail[-TAIL:],
            stderr_tail=run.stderr_tail[-TAIL:],
        )
    if run.returncode == 0 and not run.timed_out:
        return TestOutcome(
            passed=True,
            total=1,
            duration_s=run.wall_s,
            stdout_tail=run.stdout_tail.replace(FINISHED, "").rstrip()[-TAIL:],
            stderr_tail=run.stderr_tail[-TAIL:],
        )
    text = run.stderr_tail + "\n" + run.stdout_tail
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    hits = [ln for ln in lines if any(marker in ln for marker in failure_lines)]
    message = "\n".join(hits[-6:]) or "\n".join(lines[-6:]) or "the test program failed"
    if run.timed_out or run.signal_name in ("SIGXCPU", "SIGKILL"):
        return TestOutcome(
            passed=False,
            total=1,
            timed_out=run.timed_out,
            error=f"the candidate {run.crashed_reason}",
            duration_s=run.wall_s,
            stderr_tail=run.stderr_tail[-TAIL:],
        )
    return TestOutcome(
        passed=False,
        total=1,
        duration_s=run.wall_s,
        failures=(TestFailure(name="tests", message=message[:TAIL]),),
        stdout_tail=run.stdout_tail[-TAIL:],
        stderr_tail=run.stderr_tail[-TAIL:],
    )


@dataclass(frozen=True)
class Bench:
    """A measuring program, built, and the files its runs need beside it."""

    recipe: Recipe
    artifact: Path
    files: Mapping[str, bytes] = field(default_factory=dict)


class CompiledHarness(GeneratedInputs):
    """Template: subclasses build recipes; this runs them.

    A subclass's measuring program (``bench_recipe``) holds both test programs and its
    language's driver, which speaks the measuring contract (``contract.py``: ``measure``,
    ``hold``, ``count``). One build serves them all.
    """

    language: Language
    failure_markers: Sequence[str] = ()
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)
    default_pairs = 5  # native code's per-pair spread is small (A/A sd ~1.5 % per process)
    counter_method = ""  # how max_memory is counted inside the process
    valgrind_env: Mapping[str, str] = {}
    no_instructions = ""  # why instruction counts are not offered, if they are not
    constants = contract.Constants()  # what the driver is told (contract.py)
    generated_inputs = False  # the measuring program can call the function on generated inputs

    def __init__(self) -> None:
        self._inputs: dict[str, bytes] = {}  # encoded workload inputs, by workload

    async def aclose(self) -> None:
        """Remove what the harness keeps on disk (nothing, unless a subclass builds out of the
        compile cache)."""

    def test_recipe(self, module: str, tests: TestSpec) -> Recipe:
        """The test program(s) for ``module`` (the whole source file with the candidate)."""
        raise NotImplementedError

    def bench_recipe(
        self, baseline: str, candidate: str, tests: TestSpec, entry: str | None = None
    ) -> Recipe:
        """One measuring program holding both modules with their tests and the driver;
        ``entry``: each side's run calls that function on a generated workload's inputs (read
        from :data:`INPUTS` before anything is timed) instead of running the tests, and the
        program serves single calls (``serve``) for ``py_workload.py``."""
        raise HarnessError(f"measuring {self.language.value} is not supported yet")

    def method(self, metric: Metric) -> str:
        lang = self.language.value
        if metric is Metric.MAX_MEMORY:
            return (
                f"max_memory: {self.counter_method} during one test-suite run; baseline and "
                f"candidate interleaved in one {lang} process (differences under "
                f"{self.constants.floor_bytes // 1024} KiB floored); "
                "process-level peak RSS and VmData+VmStk above an empty harness reported beside it"
            )
        if metric is Metric.AVG_MEMORY:
            return (
                "avg_memory: mean private resident memory (RssAnon) sampled every 1 ms by a "
                "launcher while the tests repeat for ≥ 60 ms, minus the same harness running no "
                f"tests; baseline, candidate and empty harness in fresh {lang} processes in "
                "random order (differences under 512 KiB floored)"
            )
        return (
            f"{metric.value}: baseline and candidate interleaved in one {lang} process "
            f"(the process's CPU time, all threads, per ~{self.constants.target_batch_ns / 1e6:g} "
            "ms batch)"
        )

    def pairs_after(self, first: ProcessResult) -> int | None:
        return pairs_within_budget(first, self.default_pairs, self.constants.target_batch_ns)

    def mirrors(self, params: CompareParams) -> bool:
        """Both programs in one measuring program; a mirrored process builds the pair the
        other way round (cached like any build). Average memory measures each side in its own
        process, where there is nothing to mirror."""
        return params.metric is not Metric.AVG_MEMORY

    @staticmethod
    def with_tests(module: str, tests: TestSpec) -> str:
        """One test program: the module with the tests appended."""
        return f"{module.rstrip()}\n\n{tests.source}"

    async def run_tests(self, params: RunTestsParams) -> TestOutcome:
        recipe = self.test_recipe(params.source, params.program.tests)
        built = await build(self.language, recipe)
        if built.path is None:
            return TestOutcome(passed=False, error=built.error)
        limits = Limits(
            wall_s=params.timeout_s,
            cpu_s=max(1, int(params.timeout_s) + 1),
            address_space_mb=self.run_limits.address_space_mb,
        )
        run = await run_artifact(recipe, built.path, limits)
        return outcome_from_run(run, self.failure_markers, recipe.finished_marker)

    async def _bench(self, params: CompareParams, baseline: str, candidate: str) -> Bench:
        """The measuring program of the pair: on the tests, or on the program's generated
        workload (its inputs emitted once per workload)."""
        program, files = params.program, {}
        entry = program.entry_point if program.workload is not None else None
        recipe, artifact = await self._built(program, baseline, candidate, entry)
        if program.workload is not None:
            files = {INPUTS: await self._workload_inputs(program)}
            if program.workload.mutates:  # the program gives each call its own copy
                files[INPUTS + ".mutates"] = b""
        return Bench(recipe, artifact, files)

    async def _built(
        self, program: Program, baseline: str, candidate: str, entry: str | None
    ) -> tuple[Recipe, Path]:
        if entry is not None and not self.generated_inputs:
            raise HarnessError(
                f"generated workloads are not supported for {self.language.value} yet"
            )
        recipe = self.bench_recipe(baseline, candidate, program.tests, entry)
        built = await build(self.language, recipe)
        if built.path is None:
            raise HarnessError(f"the measuring harness did not build: {built.error}")
        return recipe, built.path

    async def _workload_inputs(self, program: Program) -> bytes:
        """The workload's inputs (its size, every seed) encoded for the measuring program:
        written by the generator in the sandbox, kept per workload."""
        w = program.workload
        assert w is not None
        key = hashlib.sha256(f"{w.generator}\0{w.size}\0{w.seeds}".encode()).hexdigest()
        cached = self._inputs.get(key)
        if cached is not None:
            return cached
        await stages.report("generating the workload's inputs")
        with workdir("perforch-inputs-") as wd:
            request = {
                "mode": "emit",
                "generator": "generator.py",
                "size": w.size,
                "seeds": list(w.seeds),
                "out": INPUTS,
            }
            limits = Limits(wall_s=120, cpu_s=120, address_space_mb=4096, file_size_mb=1024)
            data, run = await _py_workload(wd, w.generator, request, limits)
            error = self._runner_error(data, run)
            if error is not None or not (wd / INPUTS).is_file():
                raise HarnessError(f"the workload's inputs could not be generated: {error}")
            encoded = (wd / INPUTS).read_bytes()
        self._inputs[key] = encoded
        while len(self._inputs) > 8:  # the oldest out: a few MB each at most
            self._inputs.pop(next(iter(self._inputs)))
        return encoded

    async def _run_workload_runner(
        self, program: Program, files: dict[str, str], request: dict[str, Any], wall_s: float
    ) -> tuple[dict[str, Any] | None, RunResult]:
        """``py_workload.py`` beside the measuring program of ``module_a.py`` and
        ``module_b.py`` (this language's sources under GeneratedInputs' names), which it calls
        one input at a time through ``serve``."""
        baseline = files["module_a.py"]
        recipe, artifact = await self._built(
            program, baseline, files.get("module_b.py", baseline), program.entry_point
        )
        with workdir("perforch-workload-") as wd:
            if artifact.is_dir():
                shutil.copytree(artifact, wd / artifact.name)
            else:
                shutil.copy2(artifact, wd / artifact.name)
            serve = [*recipe.run, *contract.serve_argv()]
            return await _py_workload(
                wd,
                files["generator.py"],
                {**request, "server": serve},
                Limits(
                    wall_s=wall_s,
                    cpu_s=None,  # it times calls: the process clock keeps its nanoseconds
                    address_space_mb=self.run_limits.address_space_mb,
                ),
                env=recipe.env,
                ro_binds=recipe.ro_binds,
            )

    def _limits(self, params: CompareParams, address_space_mb: int | None = None) -> Limits:
        """A measuring run's limits: no CPU-time limit (the process clock must keep its
        nanoseconds), the wall-clock limit ends it."""
        return Limits(
            wall_s=params.timeout_s,
            cpu_s=None,
            address_space_mb=address_space_mb or self.run_limits.address_space_mb,
        )

    async def compare_once(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessResult:
        bench = await self._bench(params, baseline, candidate)
        if params.metric is Metric.AVG_MEMORY:
            return await self._compare_footprints(params, bench, seed)
        mode = contract.MODES.get(params.metric)
        if mode is None or (mode is contract.Mode.ALLOCATED and not self.counter_method):
            raise HarnessError(f"{params.metric.value} is not measured for {self.language.value}")
        pairs = params.pairs or self.default_pairs
        argv = [*bench.recipe.run, *contract.measure_argv(mode, pairs, seed, self.constants)]
        run = await self._run(bench, self._limits(params), argv)
        data = contract.parse_result(run.stdout_tail, mode)
        if run.returncode != 0 or data is None:
            detail = run.crashed_reason or run.stderr_tail[-500:] or f"exit {run.returncode}"
            raise HarnessError(f"measurement process failed: {detail}")
        return ProcessResult.of(dataclasses.asdict(data))

    async def footprints(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessMemory:
        """Baseline, candidate and the empty harness, each in a fresh process under the memory
        launcher, in an order drawn from ``seed``."""
        return await self._footprints(params, await self._bench(params, baseline, candidate), seed)

    async def _run(
        self,
        bench: Bench,
        limits: Limits,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
    ) -> RunResult:
        return await run_artifact(bench.recipe, bench.artifact, limits, argv, env, bench.files)

    async def _footprints(self, params: CompareParams, bench: Bench, seed: int) -> ProcessMemory:
        launch = str(await asyncio.to_thread(launcher))
        order = [0, 1, pm.EMPTY]
        random.Random(seed).shuffle(order)
        found: dict[int, Footprint] = {}
        for side in order:
            argv = [launch, *bench.recipe.run, *contract.hold_argv(side, self.constants)]
            run = await self._run(bench, self._limits(params), argv)
            fp = pm.footprint(run.stderr_tail)
            if run.returncode != 0 or fp is None:
                detail = run.crashed_reason or run.stderr_tail[-500:] or f"exit {run.returncode}"
                raise HarnessError(f"memory measurement process failed: {detail}")
            found[side] = fp
        return ProcessMemory(baseline=found[0], candidate=found[1], empty=found[pm.EMPTY])

    async def _compare_footprints(
        self, params: CompareParams, bench: Bench, seed: int
    ) -> ProcessResult:
        memory = await self._footprints(params, bench, seed)
        a = max(pm.FOOTPRINT_FLOOR, memory.above_empty("baseline", "mean_rss_anon"))
        b = max(pm.FOOTPRINT_FLOOR, memory.above_empty("candidate", "mean_rss_anon"))
        return ProcessResult(
            ratio=a / b, baseline=a, candidate=b, unit="B", batch_calls=0, memory=memory
        )

    async def instructions(
        self, params: CompareParams, baseline: str, candidate: str
    ) -> InstructionCounts:
        """Instructions per test-suite run of each side under valgrind: (count of N runs −
        count of the empty harness) / N, exact run to run for native code."""
        if self.no_instructions:
            raise HarnessError(f"instruction counts are not offered: {self.no_instructions}")
        bench = await self._bench(params, baseline, candidate)
        counts: dict[int, int] = {}
        for side in (0, 1, pm.EMPTY):
            argv = [
                *pm.valgrind_argv(),
                *bench.recipe.run,
                *contract.count_argv(side, pm.COUNT_RUNS),
            ]
            run = await self._run(
                bench,
                self._limits(params, pm.VALGRIND_ADDRESS_SPACE_MB),
                argv,
                env=self.valgrind_env,
            )
            count = pm.instructions(run.stderr_tail)
            if run.returncode != 0 or count is None:
                detail = run.crashed_reason or run.stderr_tail[-500:] or f"exit {run.returncode}"
                raise HarnessError(f"valgrind failed: {detail}")
            counts[side] = count
        return InstructionCounts(
            baseline=(counts[0] - counts[pm.EMPTY]) // pm.COUNT_RUNS,
            candidate=(counts[1] - counts[pm.EMPTY]) // pm.COUNT_RUNS,
        )


@functools.cache
def _workload_runner_source() -> str:
    return resources.files("profiler.languages.python").joinpath(WORKLOAD_RUNNER).read_text()


async def inputs_as_json(params: InputsParams) -> InputsResult:
    """The generator's inputs at ``params.size`` for each seed as JSON (``py_workload.py
    emit``, sandboxed like every generator run), for a benchmark file in the user's project."""
    with workdir("perforch-inputs-") as wd:
        request = {
            "mode": "emit",
            "format": "json",
            "generator": "generator.py",
            "size": params.size,
            "seeds": params.seeds,
            "out": "inputs.json",
            "max_bytes": params.max_bytes,
        }
        file_mb = max(1, params.max_bytes >> 20)
        limits = Limits(
            wall_s=params.timeout_s, cpu_s=int(params.timeout_s), address_space_mb=4096,
            file_size_mb=file_mb + 1,  # past max_bytes: said below, not a killed writer
        )  # fmt: skip
        data, run = await _py_workload(wd, params.generator, request, limits)
        error = GeneratedInputs._runner_error(data, run)
        if error is None and data is not None and not data.get("ok"):
            error = str(data.get("error"))
        path = wd / "inputs.json"
        if error is not None or not path.is_file():
            return InputsResult(ok=False, error=error or "the generator wrote no inputs")
        return InputsResult(ok=True, json_text=path.read_text(encoding="utf-8"))


async def _py_workload(
    wd: Path,
    generator: str,
    request: dict[str, Any],
    limits: Limits,
    env: Mapping[str, str] | None = None,
    ro_binds: Sequence[str | Path] = (),
) -> tuple[dict[str, Any] | None, RunResult]:
    """``py_workload.py`` on ``request`` in ``wd`` with the generator, sandboxed under the
    daemon's own interpreter: its result's JSON (None when it wrote none) and the run."""
    (wd / WORKLOAD_RUNNER).write_text(_workload_runner_source())
    (wd / "generator.py").write_text(generator)
    (wd / "request.json").write_text(json.dumps(request))
    exe = python_exe.resolve()
    run = await run_sandboxed(
        [exe, "-I", WORKLOAD_RUNNER, "request.json", "result.json"],
        cwd=wd,
        limits=limits,
        env=env,
        ro_binds=[*python_exe.binds(exe), *ro_binds],
    )
    path = wd / "result.json"
    data = json.loads(path.read_text()) if path.is_file() else None
    return (data if isinstance(data, dict) else None), run
