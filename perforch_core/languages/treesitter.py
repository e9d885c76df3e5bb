"""The languages read with tree-sitter (C++, Java, Go, Rust): find functions, take a model's
function (with the imports and helpers it added) out of its reply, find a single file's tests.

Spans are whole lines, so the user's file outside the function's lines is carried over byte for
byte. A language package subclasses :class:`TreeSitterLanguage` with its grammar and what its
syntax does differently.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import tree_sitter

from ..errors import NoTestsError, SourceError
from ..models import Metric, Task, TestSpec
from ..source import extras
from .base import LanguageSupport, Span

_NOT_HELPERS = {"main"}


@functools.cache
def parser(grammar: Callable[[], object]) -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(grammar()))


def calls(text: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\s*\(", text) is not None


class TreeSitterLanguage(LanguageSupport):
    grammar: Callable[[], object]  # the tree-sitter-<language> package's ``language``
    function_nodes: frozenset[str]  # node types that are functions
    doc_comment = re.compile(r"\s*(//|/\*|\*|#\[)")  # the lines of a doc comment above one
    test_globs: tuple[str, ...] = ()  # a single file's test files beside it

    # -- functions -------------------------------------------------------------------------
    def name_of(self, node: tree_sitter.Node) -> str | None:
        name = node.child_by_field_name("name")
        return name.text.decode() if name is not None and name.text is not None else None

    def _walk(self, node: tree_sitter.Node) -> Iterator[tuple[str, tree_sitter.Node]]:
        """Functions in file order; a function's body is not searched (nested functions and
        lambdas are part of it), which also keeps a 2,000-line file to a few milliseconds."""
        for child in node.named_children:
            if child.type in self.function_nodes:
                name = self.name_of(child)
                if name:
                    yield name, child
            elif child.named_child_count:
                yield from self._walk(child)

    def parse(self, source: str) -> tree_sitter.Tree:
        return parser(self.grammar).parse(source.encode())

    def functions(self, source: str) -> list[Span]:
        """Every function (methods included) in ``source``, in file order."""
        lines = source.splitlines(keepends=True)
        return [
            self._span(lines, name, node) for name, node in self._walk(self.parse(source).root_node)
        ]

    def _span(self, lines: list[str], name: str, node: tree_sitter.Node) -> Span:
        start, end = node.start_point.row, node.end_point.row + 1
        body = node.child_by_field_name("body")
        head_end = body.start_point.row + 1 if body is not None else start + 1
        doc_start = start
        while doc_start > 0 and self.doc_comment.match(lines[doc_start - 1]):
            doc_start -= 1
        return Span(
            name=name,
            start=start,
            end=end,
            code="".join(lines[start:end]),
            header="".join(lines[start:head_end]),
            doc="".join(lines[doc_start:start]),
        )

    def has_errors(self, source: str) -> bool:
        return self.parse(source).root_node.has_error

    def find_function(self, source: str, name: str, filename: str = "<source>") -> Span:
        every = self.functions(source)
        found = [f for f in every if f.name == name]
        if not found:
            known = ", ".join(sorted({f.name for f in every})) or "none"
            raise SourceError(f"{filename} has no function {name!r}", hint=f"functions: {known}")
        return found[0]

    def stubbed(self, span: Span) -> str:
        indent = span.header[: len(span.header) - len(span.header.lstrip())]
        return f"{span.header}{indent}    {self.stub_body}\n{indent}}}\n"

    # -- a model's reply -------------------------------------------------------------------
    def parse_reply(self, code: str) -> str:
        """The reply's code in a form that parses (a language may wrap a bare method)."""
        if self.has_errors(code):
            raise SourceError(f"the code does not parse as {self.language.value}")
        return code

    def keep_visibility(self, function: str, signature: str) -> str:
        """``function`` with the declared visibility of ``signature`` (the original's header)
        when the model dropped it; callers elsewhere depend on it."""
        return function

    def candidate(self, code: str, task: Task) -> str:
        current = task.current_code or task.signature
        indent = current[: len(current) - len(current.lstrip(" \t"))]
        return self.block_from_reply(
            code,
            task.entry_point,
            indent,
            module=task.prefix + task.suffix,
            signature=task.signature,
        )

    def block_from_reply(
        self, code: str, name: str, indent: str = "", module: str = "", signature: str = ""
    ) -> str:
        """A candidate block out of a model's code: the import lines ``module`` lacks (and the
        code uses), the new helper functions the function calls (names ``module`` does not
        define), and the function ``name``, re-indented to the original's level, with the
        visibility of ``signature`` (the original's header) kept."""
        spans = self.functions(self.parse_reply(code))
        found = [f for f in spans if f.name == name]
        if not found:
            raise SourceError(f"the code defines no function {name!r}")
        target = found[0]
        defined = {f.name for f in self.functions(module)} if module else set()
        helpers: list[Span] = []
        wanted = target.code
        changed = True
        while changed:  # helpers the function calls, and helpers those call
            changed = False
            for f in spans:
                if (
                    f is target
                    or f in helpers
                    or f.name in defined
                    or f.name in _NOT_HELPERS
                    or f.name.startswith(("Test", "test"))
                    or not calls(wanted, f.name)
                ):
                    continue
                helpers.append(f)
                wanted += f.code
                changed = True
        helpers.sort(key=lambda f: f.start)
        own = _reindent(target.code, indent)
        own = self.keep_visibility(own, signature) if signature else own
        rest = "\n".join([*(_reindent(f.code, indent) for f in helpers), own])
        imports = [ln for ln in self.reply_imports(code) if self.keep_import(ln, rest)]
        if module:
            imports = extras.missing_imports(self.language, module, imports)
        return extras.join(imports, rest)

    # -- a single file's tests -------------------------------------------------------------
    def test_file_runs(self, text: str) -> bool:
        """Whether a test file beside the function is a program this language can run."""
        return True

    def own_tests(self, path: Path, source: str, span: Span) -> TestSpec | None:
        """Tests inside the function's own file (Rust's ``#[cfg(test)]`` module)."""
        return None

    def single_file_tests(
        self, path: Path, source: str, span: Span, tests_file: Path | None
    ) -> TestSpec:
        """Tests for a function outside any project: ``tests_file``, else the file's own test
        module, else a test program beside it (:attr:`test_globs`) that calls it."""
        if tests_file is not None:
            try:
                text = tests_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise SourceError(f"cannot read the tests file {tests_file}: {exc}") from exc
            return TestSpec(
                kind="program", source=text, file=tests_file.name, origin=str(tests_file)
            )
        own = self.own_tests(path, source, span)
        if own is not None:
            return own
        beside = sorted({p for g in self.test_globs for p in path.parent.glob(g) if p != path})
        for test_file in beside:
            try:
                text = test_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if calls(text, span.name) and self.test_file_runs(text):
                return TestSpec(
                    kind="program", source=text, file=test_file.name, origin=str(test_file)
                )
        raise NoTestsError(
            f"no tests found for {span.name}()", hint=f"{self.no_tests_hint}, or pass --tests FILE"
        )

    def task_from_text(
        self,
        path: Path,
        source: str,
        function: str,
        *,
        tests_file: Path | None = None,
        metric: Metric = Metric.EXEC_TIME,
        tests: TestSpec | None = None,
    ) -> Task:
        span = self.find_function(source, function, str(path))
        lines = source.splitlines(keepends=True)
        return Task(
            id=f"{path}::{function}",
            language=self.language,
            entry_point=function,
            module=path.stem,
            prefix="".join(lines[: span.start]),
            suffix="".join(lines[span.end :]),
            signature=span.header,
            description=span.doc,
            current_code=span.code,
            tests=tests or self.single_file_tests(path, source, span, tests_file),
            metric=metric,
        )


def _reindent(code: str, indent: str) -> str:
    lines = code.splitlines()
    current = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    return "\n".join(indent + ln[current:] if ln.strip() else "" for ln in lines) + "\n"
