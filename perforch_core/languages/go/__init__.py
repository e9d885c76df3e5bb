"""Go: functions and methods (tree-sitter), ``import`` lines in the file's import block,
Go modules with their packages' ``Test`` functions (``project.py``), and a ``*_test.go``
beside a file outside any module."""

from __future__ import annotations

import re
from pathlib import Path

import tree_sitter_go

from ...models import Language, ProjectSpec, Task, Workload
from ..base import SavedBenchmark, last_line
from ..treesitter import TreeSitterLanguage


class Go(TreeSitterLanguage):
    language = Language.GO
    label = "Go"
    fence = "go"
    extensions = (".go",)
    stub_body = 'panic("not implemented")'
    no_tests_hint = "add a *_test.go beside it (same package) with a Test function calling it"
    state_patterns = (
        ("a package variable", re.compile(r"^var\s+(\w+)", re.M)),
        ("a package variable", re.compile(r"^var\s*\(\s*\n\s*(\w+)", re.M)),
        ("a sync.Once", re.compile(r"\b(\w+)\s+sync\.Once\b")),
    )
    grammar = tree_sitter_go.language
    generated_workloads = True
    generated_workloads_in_projects = True  # a Go module's function (not a method)
    generator_values = (
        "The Go arguments are read from Python values: int for integer types, float for "
        "float64, bool, str for string (a one-character str for a rune), a list for a slice or "
        "array, a dict for a map, a tuple for a struct (its fields in order)."
    )
    function_nodes = frozenset({"function_declaration", "method_declaration"})
    test_globs = ("*_test.go",)
    import_line = re.compile(r'^import\s+(?:[\w.]+\s+)?"[^"]+"$')
    top_import = re.compile(r"^import\s")
    imports_after = re.compile(r"^package\s")
    doc_line = re.compile(r"^\s*//")

    def benchmark_file(self, task: Task, workload: Workload) -> SavedBenchmark:
        from . import benchmark_file

        name = task.entry_point[:1].upper() + task.entry_point[1:]
        return SavedBenchmark(
            text=benchmark_file.render(task, workload),
            data_path=benchmark_file.data_path(task),
            name_suffix="_test.go",
            run_hint=f"go test -run '^$' -bench {name}PerforchGenerated",
        )

    def takes_generated_inputs(self, task: Task) -> bool:
        """Not a method: the measuring program calls a function of the package (a method
        is measured by its tests)."""
        return not task.signature.lstrip().startswith("func (")

    def reply_imports(self, code: str) -> list[str]:
        """One ``import "path"`` line per spec, grouped ``import (…)`` blocks included."""
        specs: list[str] = []
        for group in re.finditer(r"^import\s*\((.*?)\)", code, re.S | re.M):
            specs += [s.strip() for s in group.group(1).splitlines() if '"' in s]
        specs += [m.group(1) for m in re.finditer(r'^import\s+((?:[\w.]+\s+)?"[^"]+")', code, re.M)]
        return [f"import {' '.join(s.split())}" for s in specs]

    def import_present(self, module: str, line: str) -> bool:
        path = re.search(r'"([^"]+)"', line)
        return path is not None and re.search(rf'"{re.escape(path.group(1))}"', module) is not None

    def insert_imports(self, prefix: str, imports: list[str]) -> str:
        """Into the file's ``import (…)`` group, else after its last import line, else after
        the ``package`` clause."""
        if not imports:
            return prefix
        lines = prefix.splitlines(keepends=True)
        specs = [re.sub(r"^import\s+", "", line) for line in imports]
        for i, line in enumerate(lines):
            if re.match(r"^import\s*\($", line.strip()):
                end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == ")"), None)
                if end is not None:
                    return "".join([*lines[:end], *(f"\t{s}\n" for s in specs), *lines[end:]])
        single = [f"import {s}\n" for s in specs]
        last = last_line(lines, self.top_import)
        if last is not None:
            return "".join([*lines[: last + 1], *single, *lines[last + 1 :]])
        last = last_line(lines, self.imports_after)
        if last is None:
            return "".join([*single, *lines])
        return "".join([*lines[: last + 1], "\n", *single, *lines[last + 1 :]])

    def used_names(self, line: str) -> list[str]:
        alias = re.match(r'^import\s+([\w.]+)\s+"', line)
        if alias:
            return [alias.group(1)]
        path = re.search(r'"([^"]+)"', line)
        return [path.group(1).rsplit("/", 1)[-1]] if path else []

    def uses(self, code: str, name: str) -> bool:
        return re.search(rf"\b{re.escape(name)}\s*\.", code) is not None

    def discover(self, path: Path, source: str, function: str) -> ProjectSpec | None:
        from . import project

        return project.discover(path, function)


SUPPORT = Go()
