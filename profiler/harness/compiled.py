"""What the compiled languages' harnesses share: build in the sandbox, cache the artifact by a
hash of (sources, flags, toolchain version), run the artifact in the sandbox, read the outcome.

A language supplies a :class:`Recipe` per build: the files to write, the compile command, the
artifact to keep, and how to run it. Compilers read untrusted input, so they run sandboxed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import Language, Metric, TestFailure, TestOutcome

from .. import stages
from ..protocol import CompareParams, RunTestsParams
from ..sandbox import NOBODY, Limits, RunResult, run_sandboxed, workdir
from ..toolchains import cache_root as toolchain_cache
from .base import ProcessResult

TAIL = 2000


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
    # Directories copied into the build dir as hard links (a warm cache the build may add to but
    # not alter: the linked files stay root-owned and read-only for the sandbox's uid).
    linked_dirs: Mapping[str, Path] = field(default_factory=dict)


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
        for name, source in recipe.linked_dirs.items():
            await _link_tree(source, wd / name)
        run = await run_sandboxed(
            recipe.compile,
            cwd=wd,
            limits=recipe.compile_limits,
            env=recipe.env,
            ro_binds=recipe.ro_binds,
        )
        produced = wd / recipe.artifact
        if run.returncode != 0 or not produced.exists():
            reason = run.crashed_reason or f"exit code {run.returncode}"
            output = (run.stderr_tail + run.stdout_tail).strip()
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
    proc = await asyncio.create_subprocess_exec("cp", "-al", str(source), str(dest))
    if await proc.wait() != 0:
        raise HarnessError(f"cannot link {source} into the build directory")
    if os.geteuid() == 0:
        for root, dirs, _files in os.walk(dest):
            os.chown(root, NOBODY, NOBODY)
            for d in dirs:
                os.chown(os.path.join(root, d), NOBODY, NOBODY)


async def run_artifact(recipe: Recipe, artifact: Path, limits: Limits) -> RunResult:
    await stages.report("running")
    with workdir("perforch-run-") as wd:
        dest = wd / artifact.name
        if artifact.is_dir():
            shutil.copytree(artifact, dest)
        else:
            shutil.copy2(artifact, dest)
        return await run_sandboxed(
            recipe.run, cwd=wd, limits=limits, env=recipe.env, ro_binds=recipe.ro_binds
        )


def outcome_from_run(run: RunResult, failure_lines: Sequence[str]) -> TestOutcome:
    """A test program passes when it exits 0; otherwise its output says why."""
    if run.returncode == 0 and not run.timed_out:
        return TestOutcome(
            passed=True,
            total=1,
            duration_s=run.wall_s,
            stdout_tail=run.stdout_tail[-TAIL:],
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


class CompiledHarness:
    """Template: subclasses build recipes; this runs them."""

    language: Language
    failure_markers: Sequence[str] = ()
    run_limits = Limits(wall_s=20, cpu_s=20, address_space_mb=2048)

    def test_recipe(self, source: str, params: RunTestsParams) -> Recipe:
        raise NotImplementedError

    def bench_recipe(
        self, baseline: str, candidate: str, params: CompareParams, seed: int
    ) -> Recipe:
        raise HarnessError(f"measuring {self.language.value} is not supported yet")

    def method(self, metric: Metric) -> str:
        return (
            f"{metric.value}: baseline and candidate interleaved in one {self.language.value}"
            " process (thread CPU time per batch)"
        )

    @staticmethod
    def with_tests(source: str, tests: str) -> str:
        """The test program: the module with the tests appended (``program`` test kind)."""
        return f"{source.rstrip()}\n\n{tests}"

    async def run_tests(self, params: RunTestsParams) -> TestOutcome:
        recipe = self.test_recipe(
            self.with_tests(params.source, params.program.tests.source), params
        )
        built = await build(self.language, recipe)
        if built.path is None:
            return TestOutcome(passed=False, error=built.error)
        limits = Limits(
            wall_s=params.timeout_s,
            cpu_s=max(1, int(params.timeout_s) + 1),
            address_space_mb=self.run_limits.address_space_mb,
        )
        run = await run_artifact(recipe, built.path, limits)
        return outcome_from_run(run, self.failure_markers)

    async def compare_once(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessResult:
        tests = params.program.tests.source
        recipe = self.bench_recipe(
            self.with_tests(baseline, tests), self.with_tests(candidate, tests), params, seed
        )
        built = await build(self.language, recipe)
        if built.path is None:
            raise HarnessError(f"the measuring harness did not build: {built.error}")
        limits = Limits(
            wall_s=params.timeout_s,
            cpu_s=int(params.timeout_s) + 1,
            address_space_mb=self.run_limits.address_space_mb,
        )
        run = await run_artifact(recipe, built.path, limits)
        line = next(
            (
                ln
                for ln in reversed(run.stdout_tail.splitlines())
                if ln.startswith("PERFORCH_RESULT ")
            ),
            None,
        )
        if run.returncode != 0 or line is None:
            detail = run.crashed_reason or run.stderr_tail[-500:] or f"exit {run.returncode}"
            raise HarnessError(f"measurement process failed: {detail}")
        data = json.loads(line.split(" ", 1)[1])
        return ProcessResult(
            ratio=float(data["ratio"]),
            baseline=float(data["baseline"]),
            candidate=float(data["candidate"]),
            unit=data["unit"],
            batch_calls=int(data["k"]),
        )
