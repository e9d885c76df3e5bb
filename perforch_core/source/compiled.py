"""C++, Java, Go and Rust source: find functions with tree-sitter, cut a module around one,
take a model's function out of its reply, and find the user's tests for it.

Spans are whole lines, so the user's file outside the function's lines is carried over byte for
byte (as for Python, ``source/python.py``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tree_sitter
import tree_sitter_cpp
import tree_sitter_go
import tree_sitter_java
import tree_sitter_rust

from ..errors import NoTestsError, SourceError
from ..models import Language, Metric, Task, TestSpec
from . import extras

_GRAMMARS = {
    Language.CPP: tree_sitter_cpp.language,
    Language.JAVA: tree_sitter_java.language,
    Language.GO: tree_sitter_go.language,
    Language.RUST: tree_sitter_rust.language,
}
# Node types that are functions, per language.
_FUNCTION_NODES = {
    Language.CPP: {"function_definition"},
    Language.JAVA: {"method_declaration", "constructor_declaration"},
    Language.GO: {"function_declaration", "method_declaration"},
    Language.RUST: {"function_item"},
}
EXTENSIONS = {
    ".cpp": Language.CPP,
    ".cc": Language.CPP,
    ".cxx": Language.CPP,
    ".hpp": Language.CPP,
    ".h": Language.CPP,
    ".java": Language.JAVA,
    ".go": Language.GO,
    ".rs": Language.RUST,
}


@dataclass(frozen=True)
class FunctionSpan:
    name: str
    start: int  # 0-based first line
    end: int  # 0-based line after the last
    code: str
    header: str  # the declaration up to the body
    doc: str  # the comment block right above it, if any


@functools.cache
def _parser(language: Language) -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(_GRAMMARS[language]()))


def _name(node: tree_sitter.Node, language: Language) -> str | None:
    if language is Language.CPP:
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type not in (
            "identifier",
            "field_identifier",
            "qualified_identifier",
            "destructor_name",
            "operator_name",
        ):
            decl = decl.child_by_field_name("declarator")
        if decl is None or decl.text is None:
            return None
        return decl.text.decode().split("::")[-1]
    name = node.child_by_field_name("name")
    return name.text.decode() if name is not None and name.text is not None else None


def _walk(node: tree_sitter.Node, language: Language) -> Iterator[tuple[str, tree_sitter.Node]]:
    """Functions in file order; a function's body is not searched (nested functions and
    lambdas are part of it), which also keeps a 2,000-line file to a few milliseconds."""
    for child in node.named_children:
        if child.type in _FUNCTION_NODES[language]:
            name = _name(child, language)
            if name:
                yield name, child
        elif child.named_child_count:
            yield from _walk(child, language)


def _span(source: str, lines: list[str], name: str, node: tree_sitter.Node) -> FunctionSpan:
    start, end = node.start_point.row, node.end_point.row + 1
    body = node.child_by_field_name("body")
    head_end = body.start_point.row + 1 if body is not None else start + 1
    doc_start = start
    while doc_start > 0 and re.match(r"\s*(//|/\*|\*|#\[)", lines[doc_start - 1]):
        doc_start -= 1
    return FunctionSpan(
        name=name,
        start=start,
        end=end,
        code="".join(lines[start:end]),
        header="".join(lines[start:head_end]),
        doc="".join(lines[doc_start:start]),
    )


def functions(language: Language, source: str) -> list[FunctionSpan]:
    """Every function (methods included) in ``source``, in file order."""
    tree = _parser(language).parse(source.encode())
    lines = source.splitlines(keepends=True)
    return [_span(source, lines, name, node) for name, node in _walk(tree.root_node, language)]


def has_errors(language: Language, source: str) -> bool:
    return _parser(language).parse(source.encode()).root_node.has_error


def find_function(
    language: Language, source: str, name: str, filename: str = "<source>"
) -> FunctionSpan:
    found = [f for f in functions(language, source) if f.name == name]
    if not found:
        known = ", ".join(sorted({f.name for f in functions(language, source)})) or "none"
        raise SourceError(f"{filename} has no function {name!r}", hint=f"functions: {known}")
    return found[0]


def function_at(language: Language, source: str, line: int) -> FunctionSpan | None:
    """The innermost function whose lines include ``line`` (0-based)."""
    inside = [f for f in functions(language, source) if f.start <= line < f.end]
    return min(inside, key=lambda f: f.end - f.start) if inside else None


def split_module(source: str, span: FunctionSpan) -> tuple[str, str]:
    lines = source.splitlines(keepends=True)
    return "".join(lines[: span.start]), "".join(lines[span.end :])


def replace_function(language: Language, source: str, name: str, new_code: str) -> str:
    """``source`` with the function ``name`` replaced by a candidate block (its new imports
    merged into the file's import block)."""
    span = find_function(language, source, name)
    prefix, suffix = split_module(source, span)
    return extras.merge(language, prefix, new_code, suffix)


def function_from_reply(language: Language, code: str, name: str, indent: str = "") -> str:
    """The function ``name`` out of a model's code block (which may hold includes, other
    functions or a whole class), re-indented to the original's level."""
    return block_from_reply(language, code, name, indent, module="")


def _parse_reply(language: Language, code: str) -> str:
    if has_errors(language, code):
        # Models often answer a Java method or a C++ function without its surroundings;
        # a Java method parses inside a class.
        if language is Language.JAVA and not has_errors(language, f"class X {{\n{code}\n}}"):
            return f"class X {{\n{code}\n}}"
        raise SourceError(f"the code does not parse as {language.value}")
    return code


def _reindent(code: str, indent: str) -> str:
    lines = code.splitlines()
    current = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    return "\n".join(indent + ln[current:] if ln.strip() else "" for ln in lines) + "\n"


def reply_imports(language: Language, code: str) -> list[str]:
    """The import lines of a reply, one per line in the form a candidate block carries."""
    if language is Language.GO:
        specs: list[str] = []
        for group in re.finditer(r"^import\s*\((.*?)\)", code, re.S | re.M):
            specs += [s.strip() for s in group.group(1).splitlines() if '"' in s]
        specs += [m.group(1) for m in re.finditer(r'^import\s+((?:[\w.]+\s+)?"[^"]+")', code, re.M)]
        return [f"import {' '.join(s.split())}" for s in specs]
    pattern = extras.IMPORT_LINE[language]
    return [ln.strip() for ln in code.splitlines() if pattern.match(ln.strip())]


_NOT_HELPERS = {"main"}


def keep_visibility(language: Language, function: str, signature: str) -> str:
    """``function`` with the declared visibility of ``signature`` (the original's header) when
    the model dropped it: a Rust ``pub``, Java's access modifier and ``static``. Callers
    elsewhere depend on them; a reply without them does not build."""
    head, sep, body = function.partition("(")
    if not sep:
        return function
    if language is Language.RUST:
        vis = re.match(r"\s*(pub(?:\s*\([^)]*\))?\s+)", signature)
        if vis and not re.match(r"\s*pub\b", head):
            lead = head[: len(head) - len(head.lstrip())]
            return f"{lead}{vis.group(1)}{head.lstrip()}{sep}{body}"
    if language is Language.JAVA:
        original = signature.partition("(")[0]
        words = head.split()
        access = re.search(r"\b(public|protected|private)\b", original)
        if access and not re.search(r"\b(public|protected|private)\b", head):
            words.insert(0, access.group(1))
        if re.search(r"\bstatic\b", original) and "static" not in words:
            at = 1 if words and words[0] in ("public", "protected", "private") else 0
            words.insert(at, "static")
        if words != head.split():
            lead = head[: len(head) - len(head.lstrip())]
            return f"{lead}{' '.join(words)}{sep}{body}"
    return function


def block_from_reply(
    language: Language,
    code: str,
    name: str,
    indent: str = "",
    module: str = "",
    signature: str = "",
) -> str:
    """A candidate block out of a model's code: the import lines ``module`` lacks (and the code
    uses), the new helper functions the function calls (names ``module`` does not define), and
    the function ``name``, re-indented to the original's level, with the visibility of
    ``signature`` (the original's header) kept."""
    parsed = _parse_reply(language, code)
    spans = functions(language, parsed)
    found = [f for f in spans if f.name == name]
    if not found:
        raise SourceError(f"the code defines no function {name!r}")
    target = found[0]
    defined = {f.name for f in functions(language, module)} if module else set()
    helpers: list[FunctionSpan] = []
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
                or f.name.startswith("Test")
                or f.name.startswith("test")
                or not _calls(wanted, f.name)
            ):
                continue
            helpers.append(f)
            wanted += f.code
            changed = True
    helpers.sort(key=lambda f: f.start)
    own = _reindent(target.code, indent)
    own = keep_visibility(language, own, signature) if signature else own
    rest = "\n".join([*(_reindent(f.code, indent) for f in helpers), own])
    imports = extras.keep_used(language, reply_imports(language, code), rest)
    if module:
        imports = extras.missing_imports(language, module, imports)
    return extras.join(imports, rest)


# -- tests --------------------------------------------------------------------------------
def _calls(text: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\s*\(", text) is not None


def _test_files(path: Path, language: Language) -> list[Path]:
    root = path.parent
    patterns = {
        Language.GO: ["*_test.go"],
        Language.JAVA: ["*Test.java", "Test*.java", "*Tests.java"],
        Language.CPP: ["*_test.cpp", "test_*.cpp", "*_test.cc", "tests/*.cpp"],
        Language.RUST: [],
    }[language]
    return sorted({p for pat in patterns for p in root.glob(pat) if p != path})


def discover_tests(
    language: Language, path: Path, source: str, span: FunctionSpan, tests_file: Path | None
) -> TestSpec:
    """Tests for a function: ``tests_file``, else a test file beside it that calls it (Go's
    ``x_test.go``, a Java test class with a ``main``, a C++ test program), else (Rust) the file's
    own ``#[cfg(test)]`` module."""
    if tests_file is not None:
        try:
            text = tests_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"cannot read the tests file {tests_file}: {exc}") from exc
        return TestSpec(kind="program", source=text, file=tests_file.name, origin=str(tests_file))
    if language is Language.RUST:
        rest = source[: source.find(span.code)] + source[source.find(span.code) + len(span.code) :]
        if "#[cfg(test)]" in rest and _calls(rest, span.name):
            return TestSpec(kind="program", source="", origin=f"{path.name}'s #[cfg(test)] module")
    for test_file in _test_files(path, language):
        try:
            text = test_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not _calls(text, span.name):
            continue
        if language is Language.JAVA and "static void main" not in text:
            continue  # a JUnit class: no runner for it here (yet)
        if language is Language.CPP and not re.search(r"\bint\s+main\s*\(", text):
            continue
        return TestSpec(kind="program", source=text, file=test_file.name, origin=str(test_file))
    hints = {
        Language.GO: "add a *_test.go beside it (same package) with a Test function calling it",
        Language.JAVA: "add a *Test.java beside it whose main() checks it (throwing on failure)",
        Language.CPP: "add a *_test.cpp beside it with an int main() that asserts on it "
        '(#include "its file" is fine)',
        Language.RUST: "add a #[cfg(test)] mod tests with #[test] functions calling it",
    }
    raise NoTestsError(
        f"no tests found for {span.name}()", hint=f"{hints[language]}, or pass --tests FILE"
    )


def task_from_text(
    path: Path,
    source: str,
    function: str,
    *,
    tests_file: Path | None = None,
    metric: Metric = Metric.EXEC_TIME,
    tests: TestSpec | None = None,
) -> Task:
    """A task for ``function`` in ``source`` (an editor's buffer of ``path``, maybe unsaved);
    ``tests``: the project's tests, found already."""
    language = EXTENSIONS.get(path.suffix)
    if language is None:
        raise SourceError(f"{path}: not a C++, Java, Go or Rust file")
    span = find_function(language, source, function, str(path))
    prefix, suffix = split_module(source, span)
    return Task(
        id=f"{path}::{function}",
        language=language,
        entry_point=function,
        module=path.stem,
        prefix=prefix,
        suffix=suffix,
        signature=span.header,
        description=span.doc,
        current_code=span.code,
        tests=tests or discover_tests(language, path, source, span, tests_file),
        metric=metric,
    )
