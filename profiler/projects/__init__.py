"""Running the tests of a user's own project on a candidate, one runner per kind of project
(``ProjectSpec.kind``, each in its language's ``profiler/languages/<name>/project.py``; found by
``perforch_core.projects``): copy the project into a sandbox
work dir with the candidate patched in, build it with its own build system, run the tests that
exercise the function with its own test framework. The user's tree is only read."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from perforch_core.errors import HarnessError
from perforch_core.models import ProjectSpec, TestInputs, TestOutcome

from .. import stages
from ..protocol import RunTestsParams, TraceResult
from ..sandbox import workdir
from .base import Runner, copy_project, project_cache


@functools.cache
def _runners() -> dict[str, Runner]:
    from ..languages import runners  # the language packages import this package's base

    return runners()


T = TypeVar("T")

_locks: dict[Path, asyncio.Lock] = {}


def runner(spec: ProjectSpec) -> Runner:
    found = _runners().get(spec.kind)
    if found is None:
        raise HarnessError(f"no runner for {spec.kind} projects")
    return found


def lock(cache: Path) -> asyncio.Lock:
    """One build at a time per project: its build cache is one directory."""
    return _locks.setdefault(cache, asyncio.Lock())


async def _on_a_copy(
    params: RunTestsParams,
    doing: str,
    work: Callable[[Runner, ProjectSpec, Path, Path], Awaitable[T]],
) -> T:
    """``work(runner, spec, work dir, build cache)`` on a sandbox copy of the project with
    ``params.source`` as the function's file, one build at a time per project."""
    spec = params.program.tests.project
    if spec is None:
        raise HarnessError("project tests without a project")
    run = runner(spec)
    cache = project_cache(spec)
    async with lock(cache):
        with workdir("perforch-project-") as wd:
            await stages.report("copying the project")
            await asyncio.to_thread(copy_project, spec, wd / "src", params.source)
            await stages.report(f"{doing} ({spec.kind})")
            return await work(run, spec, wd, cache)


async def run_tests(params: RunTestsParams) -> TestOutcome:
    """Run the project's selected tests on ``params.source`` as the function's file."""
    spec = params.program.tests.project
    if spec is not None and not spec.tests:
        return TestOutcome(passed=False, error="no test of the project exercises the function")
    return await _on_a_copy(
        params,
        "building and testing",
        lambda run, spec, wd, cache: run.run(spec, wd, cache, params),
    )


async def test_inputs(params: RunTestsParams) -> TestInputs:
    """Run the project's selected tests on ``params.source``, reading the function's arguments."""
    spec = params.program.tests.project
    if spec is not None and not spec.tests:
        return TestInputs(ok=False, error="no test of the project exercises the function")
    if spec is not None and not runner(spec).reads_test_inputs:  # no copy made to say so
        return TestInputs(ok=False, error=f"the tests' inputs are not read in {spec.kind} projects")
    return await _on_a_copy(
        params,
        "reading the tests' inputs",
        lambda run, spec, wd, cache: run.test_inputs(spec, wd, cache, params),
    )


async def trace_tests(params: RunTestsParams) -> TraceResult:
    """Run every test of the project on ``params.source`` and say which reach the function."""
    return await _on_a_copy(
        params,
        "running every test under a tracer",
        lambda run, spec, wd, cache: run.trace(spec, wd, cache, params),
    )
