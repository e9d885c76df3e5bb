"""The user's project around a function, per language: where its root is, which build system
and test framework it uses, and which of its tests exercise the function (``ProjectSpec``).

Each language's ``perforch_core/languages/<name>/project.py`` holds that language's project
knowledge; ``search.py`` the search they share. The profiler's ``profiler/projects/`` builds and
runs what is found here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..models import ProjectSpec, TestCase, TestOutcome, TestSpec

if TYPE_CHECKING:
    from ..languages import LanguageSupport

PROMPT_TESTS_LIMIT = 6000  # characters of the tests' source shown to models


def discover(
    support: LanguageSupport, path: Path, source: str, function: str
) -> ProjectSpec | None:
    """The project around ``path`` with the tests that exercise ``function``; None when the
    file is in no project its language recognises."""
    return support.discover(path.resolve(), source, function)


def test_spec(spec: ProjectSpec) -> TestSpec:
    """The task's tests: the project's, with the selected tests' source for the prompts."""
    shown = "\n\n".join(t.code for t in spec.tests if t.code)[:PROMPT_TESTS_LIMIT]
    count = f"{len(spec.tests)} test{'s' if len(spec.tests) != 1 else ''}"
    origin = f"{count} of the {spec.kind} project at {spec.root}"
    return TestSpec(kind="project", source=shown, origin=origin, project=spec)


def _key(name: str) -> str:
    """A test's name as every runner may spell it: dots for separators, no parameters."""
    name = re.sub(r"^(?:case|exe|lib|doc):|^test:[^:]+:", "", name)
    name = re.sub(r"\[.*\]$|\(.*\)$", "", name.strip())
    name = name.replace(".py::", ".").replace("::", ".").replace("#", ".").replace("/", ".")
    return name


def failing(spec: ProjectSpec, outcome: TestOutcome) -> list[TestCase]:
    """The selected tests that ``outcome`` names as failed (runners spell names their own way:
    a pytest node id against a JUnit class name, ``Class#method`` against ``Class.method()``)."""
    keys = [_key(f.name) for f in outcome.failures]
    return [
        t
        for t in spec.tests
        if any(
            k == _key(t.id) or k.endswith("." + _key(t.id)) or _key(t.id).endswith("." + k)
            for k in keys
        )
    ]


def set_aside_failing(spec: ProjectSpec, outcome: TestOutcome) -> ProjectSpec | None:
    """For an optimization: the spec without the tests that already fail on the user's code
    (pre-existing failures), when some tests still judge; None when nothing can be set aside
    (no test is named as failed, a build or collection error, or every test fails)."""
    if outcome.passed or outcome.error or not outcome.failures:
        return None
    bad = failing(spec, outcome)
    if not bad or len(bad) == len(spec.tests):
        return None
    keep = tuple(t for t in spec.tests if t not in bad)
    return spec.model_copy(update={"tests": keep, "set_aside": (*spec.set_aside, *bad)})


_HOW = {
    "doctest": "its docstring's examples",
    "functions": "test functions that import and call it",
    "check": "a HumanEval-style check()",
    "program": "a test program that calls it",
    "project": "",
}


def judging(tests: TestSpec) -> list[tuple[str, str, str]]:
    """(test, its file, how it was found) for each test that judges the function, for the
    user (``perforch tests``, the editor's "Show the tests that judge …")."""
    if tests.project is not None:
        return [(t.id, t.file, t.found_by) for t in tests.project.tests]
    return [(tests.origin, tests.file or tests.origin, _HOW[tests.kind])]
