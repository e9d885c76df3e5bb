"""Running the tests of a user's own project on a candidate, one runner per kind of project
(``ProjectSpec.kind``; found by ``perforch_core.projects``): copy the project into a sandbox
work dir with the candidate patched in, build it with its own build system, run the tests that
exercise the function with its own test framework. The user's tree is only read."""

from __future__ import annotations

import asyncio
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import ProjectSpec, TestOutcome

from .. import stages
from ..protocol import RunTestsParams
from ..sandbox import workdir
from .base import Runner, copy_project, project_cache
from .cpp import CMakeRunner, SelfTestRunner
from .go import GoRunner
from .java import JavaRunner
from .python import PytestRunner
from .rust import CargoRunner

RUNNERS: dict[str, Runner] = {
    "pytest": PytestRunner(),
    "go": GoRunner(),
    "cargo": CargoRunner(),
    "maven": JavaRunner(),
    "gradle": JavaRunner(),
    "cmake": CMakeRunner(),
    "cpp-self-test": SelfTestRunner(),
}

_locks: dict[Path, asyncio.Lock] = {}


def runner(spec: ProjectSpec) -> Runner:
    found = RUNNERS.get(spec.kind)
    if found is None:
        raise HarnessError(f"no runner for {spec.kind} projects")
    return found


def lock(cache: Path) -> asyncio.Lock:
    """One build at a time per project: its build cache is one directory."""
    return _locks.setdefault(cache, asyncio.Lock())


async def run_tests(params: RunTestsParams) -> TestOutcome:
    """Run the project's selected tests on ``params.source`` as the function's file."""
    spec = params.program.tests.project
    if spec is None:
        raise HarnessError("project tests without a project")
    if not spec.tests:
        return TestOutcome(passed=False, error="no test of the project exercises the function")
    run = runner(spec)
    cache = project_cache(spec)
    async with lock(cache):
        with workdir("perforch-project-") as wd:
            await stages.report("copying the project")
            await asyncio.to_thread(copy_project, spec, wd / "src", params.source)
            await stages.report(f"building and testing ({spec.kind})")
            return await run.run(spec, wd, cache, params)
