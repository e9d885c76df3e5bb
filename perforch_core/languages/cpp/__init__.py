"""C++: functions (tree-sitter), ``#include`` and ``using namespace`` lines, CMake projects
with CTest, GoogleTest, Catch2 and doctest, a file with its own ``main()`` self-test
(``project.py``), and a ``*_test.cpp`` beside a file outside any project."""

from __future__ import annotations

import re
from pathlib import Path

import tree_sitter
import tree_sitter_cpp

from ...models import Language, ProjectSpec
from ..treesitter import TreeSitterLanguage

_NAMES = (
    "identifier",
    "field_identifier",
    "qualified_identifier",
    "destructor_name",
    "operator_name",
)


class Cpp(TreeSitterLanguage):
    language = Language.CPP
    label = "C++"
    fence = "cpp"
    extensions = (".cpp", ".cc", ".cxx", ".hpp", ".h")
    stub_body = "throw 0;"
    no_tests_hint = (
        'add a *_test.cpp beside it with an int main() that asserts on it (#include "its file" '
        "is fine)"
    )
    grammar = tree_sitter_cpp.language
    generated_workloads = True  # lone files; a CMake project's function keeps its tests
    generator_values = (
        "The C++ arguments are read from Python values: int for integer types, float for "
        "float/double, bool, str for string (and a one-character str for char), a list for a "
        "vector or set, a dict for a map, a tuple for a pair or tuple."
    )
    function_nodes = frozenset({"function_definition"})
    test_globs = ("*_test.cpp", "test_*.cpp", "*_test.cc", "tests/*.cpp")
    state_patterns = (
        (
            "a static variable",
            re.compile(
                r"\bstatic\s+(?!constexpr\b|const\b|inline\b)(?:[\w:]+(?:<[^;{}]*?>)?[\s*&]+)+"
                r"(\w+)\s*(?:=|;|\{|\[)"
            ),
        ),
        ("a thread_local variable", re.compile(r"\bthread_local\b[^;={]*?\b(\w+)\s*(?:=|;|\{)")),
    )
    import_line = re.compile(
        r"^(?:#\s*include\s*[<\"][^>\"]+[>\"]|using\s+namespace\s+[\w:]+\s*;)$"
    )
    top_import = re.compile(r"^\s*(?:#\s*include\b|using\s+namespace\b)")
    imports_after = re.compile(r"^\s*#\s*pragma\s+once")
    doc_line = re.compile(r"^\s*(?://|/\*|\*|template\s*<)")

    def name_of(self, node: tree_sitter.Node) -> str | None:
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type not in _NAMES:
            decl = decl.child_by_field_name("declarator")
        if decl is None or decl.text is None:
            return None
        return decl.text.decode().split("::")[-1]

    def keep_import(self, line: str, code: str) -> bool:
        return '"' not in line  # a local header the model imagined; the file's own stay

    def test_file_runs(self, text: str) -> bool:
        return re.search(r"\bint\s+main\s*\(", text) is not None

    def discover(self, path: Path, source: str, function: str) -> ProjectSpec | None:
        from . import project

        return project.discover(path, source, function)


SUPPORT = Cpp()
