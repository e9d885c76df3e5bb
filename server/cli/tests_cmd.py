"""``perforch tests FILE::FUNCTION [--run] [--trace]``: the tests that would judge a function,
with how each was found, and (``--run``) their outcome on the current code, with no model
involved. ``--trace`` runs every test of a pytest, Go, Maven/Gradle or CMake project once under
a tracer (coverage, for the compiled languages) and keeps the map of which reach the function
(until the files change): discovery then uses it instead of the static search.

Exit codes: 0 the tests were found (and, with ``--run``, pass); 1 some fail; 2 none found.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from perforch_core import languages, projects
from perforch_core import source as source_files
from perforch_core.errors import ConfigError
from perforch_core.models import Metric, TestOutcome, TestSpec
from perforch_core.projects import testmap
from profiler.client import ProfilerClient

from .jobs import parse_target


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="path/to/file.{py,cpp,java,go,rs}::function")
    p.add_argument("--run", action="store_true", help="run them on the current code (no model)")
    p.add_argument("--tests", type=Path, help="a tests file to use instead of discovery")
    p.add_argument("--python", help="Python interpreter that runs the code (default: this one)")
    p.add_argument("--json", action="store_true", help="print the tests (and outcome) as JSON")
    p.add_argument(
        "--trace",
        action="store_true",
        help="run every test of the project (pytest, Go, Maven/Gradle, CMake) under a tracer once "
        "and keep the map of those that reach the function",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds for the test run")


TRACED = ("pytest", "go", "maven", "gradle", "cmake")  # projects whose tests can be traced


def show(out: Console, tests: TestSpec) -> None:
    project = tests.project
    if project is not None:
        out.print(f"{project.kind} project at {project.root}")
    table = Table(show_lines=False)
    for header in ("test", "file", "found by"):  # names are printed whole, never cropped
        table.add_column(header, overflow="fold")
    for test, file, how in projects.judging(tests):
        table.add_row(test, file, how)
    out.print(table)
    if project is not None:
        for b in project.benchmarks:
            out.print(
                f"benchmark {b.id} ({b.file}, {b.found_by}): measured instead of the tests",
                markup=False,
            )
        if project.others:
            out.print(f"{project.others} other tests of the project do not exercise it (not run)")
        if any(t.found_by.endswith("(traced)") for t in project.tests):
            out.print("found by running every test under a tracer (kept until these files change)")
        else:
            hint = "; --trace runs them all once to know" if project.kind in TRACED else ""
            out.print(
                "found by a static search for calls (direct, or through test helpers and "
                f"fixtures){hint}"
            )


def show_outcome(out: Console, outcome: TestOutcome) -> None:
    style = "green" if outcome.passed else "red"
    out.print(f"{'✓' if outcome.passed else '✗'} {outcome.summary()}", style=style, markup=False)
    for failure in outcome.failures:
        out.print(f"  ✗ {failure.name}", style="red", markup=False)
        for line in failure.message.strip().splitlines()[:12]:
            out.print(f"      {line}", markup=False, highlight=False)
    if outcome.error and not outcome.passed:
        for line in outcome.error.splitlines()[1:30]:
            out.print(f"  {line}", markup=False, highlight=False)


async def trace(args: argparse.Namespace, out: Console, path: Path, function: str) -> int | None:
    """Trace every test of the project around ``path`` and keep the map; an exit code when
    that failed, else None."""
    support = languages.of_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    with testmap.ignored():  # the static search's answer, to compare with the trace
        spec = projects.discover(support, path, text, function) if support else None
    if support is None or spec is None or spec.kind not in TRACED:
        raise ConfigError(
            f"--trace runs the tests of a pytest, Go, Maven/Gradle or CMake project; {path} is in "
            "none of them",
            hint="other projects' tests (Cargo's) are found by the static search",
        )
    span = support.find_function(text, function, str(path))
    lines = {"lines": f"{span.start + 1}-{span.end}"}  # where coverage must show it ran
    spec = spec.model_copy(update={"options": {**spec.options, **lines}})
    task = support.task_from_text(
        path,
        text,
        function,
        tests_file=None,
        metric=Metric.EXEC_TIME,
        tests=projects.test_spec(spec),
    )
    async with ProfilerClient(interpreter=args.python, test_timeout_s=args.timeout) as client:
        with out.status(f"running every test of the project under a tracer ({spec.root})"):
            traced = await client.trace_tests(task, task.current_code or "")
    if traced.error is not None:
        out.print(f"✗ tracing failed: {traced.error}", style="red", markup=False)
        return 1
    testmap.save(spec.options[testmap.KEY_OPTION], traced.reached, traced.ran)
    static = {t.id for t in spec.tests}
    found = {re.sub(r"\[.*\]$", "", i) for i in traced.reached}
    out.print(
        f"traced: {traced.ran} tests ran, {len(found)} reached {function}(); the static search "
        f"had found {len(static)} ({len(found - static)} more now, {len(static - found)} that "
        "do not reach it)",
        markup=False,
    )
    return None


async def run(args: argparse.Namespace) -> int:
    out = Console(stderr=args.json)
    path, function = parse_target(args.target)
    if args.trace:
        failed = await trace(args, out, path, function)
        if failed is not None:
            return failed
    task = source_files.task_from_file(path, function, tests_file=args.tests)
    show(out, task.tests)
    outcome = None
    if args.run:
        async with ProfilerClient(interpreter=args.python, test_timeout_s=args.timeout) as client:
            with out.status("running the tests on the current code"):
                outcome = await client.run_tests(task, task.current_code or "")
        show_outcome(out, outcome)
    if args.json:
        data = {
            "tests": [
                {"id": t, "file": f, "found_by": h} for t, f, h in projects.judging(task.tests)
            ],
            "project": task.tests.project.model_dump(mode="json", exclude={"tests"})
            if task.tests.project
            else None,
            "outcome": outcome.model_dump(mode="json") if outcome else None,
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    return 0 if outcome is None or outcome.passed else 1
