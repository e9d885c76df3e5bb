"""What PerfOrch's core knows about one language, as one object (:class:`LanguageSupport`).

Everything outside ``perforch_core/languages/`` asks the registry for a language's support and
calls it; it never tests which language it has. A language package subclasses this (usually
through :class:`~perforch_core.languages.treesitter.TreeSitterLanguage`) and fills in the
parts that differ: its syntax (functions, import lines, visibility), its tests (project
discovery and the single-file fallback) and its prompt hints.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from ..models import Language, Metric, ProjectSpec, Task, TestSpec, Workload


@dataclass(frozen=True)
class Span:
    """One function of a source file, by whole lines."""

    name: str
    start: int  # 0-based first line
    end: int  # 0-based line after the last
    code: str
    header: str  # the declaration up to the body (Python: up to and including the docstring)
    doc: str  # the documentation a model is shown: the docstring or the comment above


@dataclass(frozen=True)
class SavedBenchmark:
    """A generated workload as a benchmark file in the function's language: its text, where
    it reads the inputs from (relative to the file), how its name must end, how to run it."""

    text: str
    data_path: str
    name_suffix: str
    run_hint: str


class LanguageSupport(ABC):
    """One language's source, tests and prompts. Subclasses set the class attributes and
    override what their language does differently."""

    language: Language
    label: str  # as people write it: "C++"
    fence: str  # a Markdown code fence's tag
    extensions: tuple[str, ...]
    stub_body: str  # a statement that compiles and fails its tests (an emptied body)
    no_tests_hint: str  # how to give a function tests, when none were found
    # One import line as a candidate block carries it; the top-level import lines of a file;
    # the lines after which imports go when the file has none; a function's doc comment lines.
    import_line: re.Pattern[str]
    top_import: re.Pattern[str]
    imports_after: re.Pattern[str]
    doc_line: re.Pattern[str]
    helper_gap = "\n\n"  # between a helper and what follows it
    generated_workloads = False  # the profiler runs generated inputs for it (workloads.py)
    generated_workloads_in_projects = False  # … for a function in a project too
    workload_test_file = False  # workloads.as_test_file writes a test in this language
    # How the generator's Python values become the function's arguments (the prompt says it).
    generator_values = ""

    def benchmark_file(self, task: Task, workload: Workload) -> SavedBenchmark | None:
        """The workload as a benchmark file the user keeps (``--save-workload``); None when
        this language's is not written yet; ``ConfigError`` when this function's arguments
        cannot be read back from JSON."""
        return None

    def takes_generated_inputs(self, task: Task) -> bool:
        """Whether generated inputs can call this function (a measuring program calls free
        functions; a language may refuse some, as Go refuses methods)."""
        return True

    # -- source --------------------------------------------------------------------------
    @abstractmethod
    def functions(self, source: str) -> list[Span]:
        """The functions a user can act on, in file order (raises ``SourceError`` when the
        language needs the file to parse)."""

    @abstractmethod
    def find_function(self, source: str, name: str, filename: str = "<source>") -> Span: ...

    @abstractmethod
    def task_from_text(
        self,
        path: Path,
        source: str,
        function: str,
        *,
        tests_file: Path | None,
        metric: Metric,
        tests: TestSpec | None,
    ) -> Task:
        """A task for ``function``; ``tests``: the project's, found already (else the
        single-file fallback looks beside ``path``, or reads ``tests_file``)."""

    @abstractmethod
    def candidate(self, code: str, task: Task) -> str:
        """A candidate block (imports, helpers, the function) out of one code block of a
        model's reply; ``SourceError`` when it holds no usable function."""

    @abstractmethod
    def stubbed(self, span: Span) -> str:
        """The function of ``span`` with its body emptied to :attr:`stub_body`."""

    def defines(self, code: str, name: str) -> bool:
        """Whether a reply's code block may hold the function ``name`` (cheap, textual)."""
        return re.search(rf"\b{re.escape(name)}\s*\(", code) is not None

    # -- import lines ----------------------------------------------------------------------
    def reply_imports(self, code: str) -> list[str]:
        """The import lines of a reply, one per line in the form a candidate block carries."""
        return [ln.strip() for ln in code.splitlines() if self.import_line.match(ln.strip())]

    def import_present(self, module: str, line: str) -> bool:
        """Whether ``module`` already has the import ``line`` (compared without spacing)."""
        wanted = " ".join(line.split())
        return any(" ".join(ln.split()) == wanted for ln in module.splitlines())

    def insert_imports(self, prefix: str, imports: list[str]) -> str:
        """``prefix`` (the file before the function) with ``imports`` after its last
        top-level import line (else after :attr:`imports_after`, else at the top)."""
        if not imports:
            return prefix
        lines = prefix.splitlines(keepends=True)
        added = [line + "\n" for line in imports]
        last = last_line(lines, self.top_import)
        if last is not None:
            return "".join([*lines[: last + 1], *added, *lines[last + 1 :]])
        last = last_line(lines, self.imports_after)
        if last is None:
            return "".join([*added, "\n", *lines])
        return "".join([*lines[: last + 1], "\n", *added, *lines[last + 1 :]])

    def used_names(self, line: str) -> list[str]:
        """The names an import line brings into scope; empty when it cannot be told (the line
        is then always kept)."""
        return []

    def uses(self, code: str, name: str) -> bool:
        """Whether ``code`` uses a name an import brought in."""
        return re.search(rf"\b{re.escape(name)}\b", code) is not None

    def keep_import(self, line: str, code: str) -> bool:
        """Whether a reply's import line stays in the candidate: when ``code`` uses what it
        brings in, or when that cannot be told (Go refuses to build with an unused one)."""
        names = self.used_names(line)
        if not names or "*" in names:
            return True
        return any(self.uses(code, n) for n in names)

    # -- state that outlives a call ------------------------------------------------------------
    # (description, pattern whose first non-empty group is the name) of declarations that keep
    # values from one call to the next: static locals, globals, lazily built statics.
    state_patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()

    def kept_state(self, code: str) -> set[str]:
        """What in ``code`` keeps values from one call to the next (a cache, a memo, a static
        or global variable), each said shortly: ``a static variable `memo```."""
        found = set()
        for what, pattern in self.state_patterns:
            for m in pattern.finditer(code):
                name = next((g for g in m.groups() if g), m.group(0))
                found.add(f"{what} `{name}`")
        return found

    # -- tests -----------------------------------------------------------------------------
    def discover(self, path: Path, source: str, function: str) -> ProjectSpec | None:
        """The project around ``path`` with the tests that exercise ``function``; None when
        the file is in no project this language recognises."""
        return None


def last_line(lines: list[str], pattern: re.Pattern[str]) -> int | None:
    """The index of the last of ``lines`` that ``pattern`` matches."""
    last = None
    for i, line in enumerate(lines):
        if pattern.match(line):
            last = i
    return last
