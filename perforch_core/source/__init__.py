"""Source files of the five languages behind one interface: which language a path is, the
functions in it, the function at a line, a task for a function, the file with a function
replaced. Python goes through ``ast`` (``python.py``), the others through tree-sitter
(``compiled.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import projects
from ..errors import NoTestsError, SourceError
from ..models import Language, Metric, ProjectSpec, Task
from . import compiled, python


@dataclass(frozen=True)
class Function:
    name: str
    start: int  # 0-based first line
    end: int  # 0-based line after the last
    code: str


def language_of(path: str | Path) -> Language | None:
    suffix = Path(path).suffix
    return Language.PYTHON if suffix == ".py" else compiled.EXTENSIONS.get(suffix)


def functions(language: Language, source: str) -> list[Function]:
    """The functions a user can act on: Python's top-level ones, every function or method in
    the others. A Python file that does not parse has none."""
    if language is Language.PYTHON:
        try:
            spans = python.spans(source)
        except SourceError:
            return []
        return [Function(s.name, s.start, s.end, s.code) for s in spans]
    return [Function(s.name, s.start, s.end, s.code) for s in compiled.functions(language, source)]


def function_at(language: Language, source: str, line: int) -> Function | None:
    inside = [f for f in functions(language, source) if f.start <= line < f.end]
    return min(inside, key=lambda f: f.end - f.start) if inside else None


def find_code(language: Language, source: str, name: str, filename: str = "<source>") -> str:
    if language is Language.PYTHON:
        return python.find_function(source, name, filename).code
    return compiled.find_function(language, source, name, filename).code


def replace_function(language: Language, source: str, name: str, new_code: str) -> str:
    if language is Language.PYTHON:
        return python.replace_function(source, name, new_code)
    return compiled.replace_function(language, source, name, new_code)


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
    """As :func:`task_from_file`, for a buffer's text (tests are still looked up beside
    ``path``)."""
    language = language_of(path)
    if language is None:
        raise SourceError(
            f"{path}: unknown language", hint="PerfOrch reads .py, .cpp/.cc/.h, .java, .go, .rs"
        )
    project = None if tests_file is not None else _project(language, path, text, function)
    tests = projects.test_spec(project) if project is not None and project.tests else None
    try:
        if language is Language.PYTHON:
            return python.task_from_text(
                path, text, function, tests_file=tests_file, metric=metric, tests=tests
            )
        return compiled.task_from_text(
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


def _project(language: Language, path: Path, text: str, function: str) -> ProjectSpec | None:
    """The project around the file, with the tests that exercise ``function`` in it. A
    Python function whose only tests are its docstring's examples keeps the single-file
    doctest path (measured in one process)."""
    has_doctest = False
    if language is Language.PYTHON:
        try:
            span = python.find_function(text, function, str(path))
        except SourceError:
            return None
        has_doctest = bool(span.docstring and ">>>" in span.docstring)
    elif language is Language.RUST:
        try:
            span_c = compiled.find_function(language, text, function, str(path))
        except SourceError:
            return None
        has_doctest = "```" in span_c.doc
    spec = projects.discover(language, path, text, function, has_doctest)
    if spec is None:
        return None
    if language is Language.PYTHON and all(
        t.found_by.startswith("its docstring") for t in spec.tests
    ):
        return spec.model_copy(update={"tests": ()})
    return spec
