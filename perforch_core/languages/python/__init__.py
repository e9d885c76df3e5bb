"""Python: top-level functions (``ast``, ``source.py``), import lines after the module's own,
pytest/unittest/doctest tests of packages (``project.py``), and a lone file's docstring
examples or ``test_*.py`` beside it."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import SourceError
from ...models import Language, Metric, ProjectSpec, Task, TestSpec
from ..base import LanguageSupport, Span
from . import source


class Python(LanguageSupport):
    language = Language.PYTHON
    label = "Python"
    fence = "python"
    extensions = (".py",)
    stub_body = "raise NotImplementedError"
    no_tests_hint = "add >>> examples to its docstring, a test_*.py beside it that imports it"
    generated_workloads = True
    generated_workloads_in_projects = True
    workload_test_file = True
    import_line = source.IMPORT_LINE
    top_import = re.compile(r"^(?:import\s|from\s+\S+\s+import\s)")
    imports_after = re.compile(r'^(?:#!|# -\*-|from\s+__future__\s|"""|\'\'\')')
    doc_line = re.compile(r"^\s*#")
    helper_gap = "\n\n\n"

    def functions(self, text: str) -> list[Span]:
        """The module's top-level functions (``SourceError`` when it does not parse)."""
        return [_span(s) for s in source.spans(text)]

    def find_function(self, text: str, name: str, filename: str = "<source>") -> Span:
        return _span(source.find_function(text, name, filename))

    def task_from_text(
        self,
        path: Path,
        text: str,
        function: str,
        *,
        tests_file: Path | None = None,
        metric: Metric = Metric.EXEC_TIME,
        tests: TestSpec | None = None,
    ) -> Task:
        return source.task_from_text(
            path, text, function, tests_file=tests_file, metric=metric, tests=tests
        )

    def stubbed(self, span: Span) -> str:
        return f"{span.header}    {self.stub_body}\n"

    def defines(self, code: str, name: str) -> bool:
        return f"def {name}" in code

    def candidate(self, code: str, task: Task) -> str:
        return source.normalize_candidate(
            code,
            task.entry_point,
            module_prefix=task.prefix,
            module_suffix=task.suffix,
            original_header=task.signature,
        )

    def insert_imports(self, prefix: str, imports: list[str]) -> str:
        """After the module's last top-level import (a docstring and ``__future__`` imports
        stay first), else after the module docstring, else at the top."""
        import ast

        if not imports:
            return prefix
        try:
            tree: ast.Module | None = ast.parse(prefix)
        except SyntaxError:
            tree = None
        lines = prefix.splitlines(keepends=True)
        at = 0
        if tree is not None:
            for node in tree.body:
                if isinstance(node, ast.Import | ast.ImportFrom) or (
                    at == 0
                    and isinstance(node, ast.Expr)
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)
                ):
                    at = node.end_lineno or node.lineno
        added = [line + "\n" for line in imports]
        if at == 0:
            return "".join([*added, "\n", *lines])
        return "".join([*lines[:at], *added, *lines[at:]])

    def kept_state(self, code: str) -> set[str]:
        return source.kept_state(code)

    def discover(self, path: Path, text: str, function: str) -> ProjectSpec | None:
        """The package's tests of ``function``. A function whose only tests are its
        docstring's examples keeps the single-file doctest path (measured in one process)."""
        from . import project

        try:
            span = source.find_function(text, function, str(path))
        except SourceError:
            return None
        spec = project.discover(path, function, source.runs_examples(span.docstring))
        if spec is not None and all(t.found_by.startswith("its docstring") for t in spec.tests):
            return spec.model_copy(update={"tests": ()})
        return spec


def _span(s: source.FunctionSpan) -> Span:
    return Span(s.name, s.start, s.end, s.code, s.header, s.docstring or "")


SUPPORT = Python()
