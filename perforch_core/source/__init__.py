"""Source files of every registered language behind one interface: which language a path is,
the functions in it, the function at a line, a task for a function (with its project's tests),
the file with a function replaced. What differs per language is in ``perforch_core/languages``;
``extras.py`` merges a candidate's imports and helpers into a file."""

from __future__ import annotations

from pathlib import Path

from .. import languages, projects
from ..errors import NoTestsError, SourceError
from ..models import Language, Metric, Task
from . import extras

Function = languages.Span  # a function of a file, by whole lines


def language_of(path: str | Path) -> Language | None:
    found = languages.of_path(path)
    return found.language if found is not None else None


def functions(language: Language, source: str) -> list[Function]:
    """The functions a user can act on: Python's top-level ones, every function or method in
    the others. A file that does not parse has none."""
    try:
        spans = languages.support(language).functions(source)
    except SourceError:
        return []
    return spans


def function_at(language: Language, source: str, line: int) -> Function | None:
    """The innermost function whose lines include ``line`` (0-based)."""
    return innermost(functions(language, source), line)


def innermost(found: list[Function], line: int) -> Function | None:
    """The innermost of ``found`` whose lines include ``line`` (0-based)."""
    inside = [f for f in found if f.start <= line < f.end]
    return min(inside, key=lambda f: f.end - f.start) if inside else None


def find_code(language: Language, source: str, name: str, filename: str = "<source>") -> str:
    return languages.support(language).find_function(source, name, filename).code


def replace_function(language: Language, source: str, name: str, new_code: str) -> str:
    """``source`` with the function ``name`` replaced by a candidate block (its new imports
    merged into the file's import block)."""
    span = languages.support(language).find_function(source, name)
    lines = source.splitlines(keepends=True)
    prefix, suffix = "".join(lines[: span.start]), "".join(lines[span.end :])
    return extras.merge(language, prefix, new_code, suffix)


def task_from_file(
    path: Path, function: str, *, tests_file: Path | None = None, metric: Metric = Metric.EXEC_TIME
) -> Task:
    """A task for ``function`` in the file at ``path``, with its tests."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourceError(f"no such file: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    return task_from_text(path, text, function, tests_file=tests_file, metric=metric)


def task_from_text(
    path: Path,
    text: str,
    function: str,
    *,
    tests_file: Path | None = None,
    metric: Metric = Metric.EXEC_TIME,
) -> Task:
    """As :func:`task_from_file`, for a buffer's text: the tests of the project around
    ``path`` that exercise the function, else (no project, or ``tests_file`` given) the
    language's single-file tests."""
    support = languages.of_path(path)
    if support is None:
        known = ", ".join("/".join(s.extensions) for s in languages.every())
        raise SourceError(f"{path}: unknown language", hint=f"PerfOrch reads {known}")
    project = None if tests_file is not None else projects.discover(support, path, text, function)
    tests = projects.test_spec(project) if project is not None and project.tests else None
    try:
        return support.task_from_text(
            path, text, function, tests_file=tests_file, metric=metric, tests=tests
        )
    except NoTestsError as exc:
        if project is None:
            raise
        raise NoTestsError(
            f"no tests found for {function}(): none of the {project.others} tests of the "
            f"{project.kind} project at {project.root} calls it",
            hint=exc.hint,
        ) from exc
