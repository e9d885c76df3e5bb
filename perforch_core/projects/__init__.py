"""The user's project around a function, per language: where its root is, which build system
and test framework it uses, and which of its tests exercise the function (``ProjectSpec``).

One module per language holds all of that language's project knowledge; :data:`DISCOVERERS`
is the registry. The profiler's ``harness/project.py`` builds and runs what is found here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..models import Language, ProjectSpec, TestSpec
from . import cpp, go, java, python, rust

Discover = Callable[[Path, str, str, bool], ProjectSpec | None]

DISCOVERERS: dict[Language, Discover] = {
    Language.PYTHON: lambda path, source, fn, doc: python.discover(path, fn, doc),
    Language.GO: lambda path, source, fn, doc: go.discover(path, fn),
    Language.RUST: lambda path, source, fn, doc: rust.discover(path, fn, doc),
    Language.JAVA: lambda path, source, fn, doc: java.discover(path, fn),
    Language.CPP: lambda path, source, fn, doc: cpp.discover(path, source, fn),
}
PROMPT_TESTS_LIMIT = 6000  # characters of the tests' source shown to models


def discover(
    language: Language, path: Path, source: str, function: str, has_doctest: bool = False
) -> ProjectSpec | None:
    """The project around ``path`` with the tests that exercise ``function``; None when the
    file is in no project this language recognises."""
    return DISCOVERERS[language](path.resolve(), source, function, has_doctest)


def test_spec(spec: ProjectSpec) -> TestSpec:
    """The task's tests: the project's, with the selected tests' source for the prompts."""
    shown = "\n\n".join(t.code for t in spec.tests if t.code)[:PROMPT_TESTS_LIMIT]
    count = f"{len(spec.tests)} test{'s' if len(spec.tests) != 1 else ''}"
    origin = f"{count} of the {spec.kind} project at {spec.root}"
    return TestSpec(kind="project", source=shown, origin=origin, project=spec)


def describe(spec: ProjectSpec) -> str:
    """One line per test that judges the function, for the user."""
    return "\n".join(f"{t.id}  ({t.file}: {t.found_by})" for t in spec.tests)
