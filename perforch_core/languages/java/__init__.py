"""Java: methods and constructors (tree-sitter; a bare method in a reply parses inside a
class), ``import`` lines, the access modifier and ``static`` a model dropped put back, Maven and
Gradle projects with JUnit Jupiter tests (``project.py``), and a test class with a ``main``
beside a file outside any project."""

from __future__ import annotations

import re
from pathlib import Path

import tree_sitter_java

from ...models import Language, ProjectSpec
from ..treesitter import TreeSitterLanguage

_ACCESS = re.compile(r"\b(public|protected|private)\b")


class Java(TreeSitterLanguage):
    language = Language.JAVA
    label = "Java"
    fence = "java"
    extensions = (".java",)
    stub_body = "throw new UnsupportedOperationException();"
    no_tests_hint = "add a *Test.java beside it whose main() checks it (throwing on failure)"
    grammar = tree_sitter_java.language
    generated_workloads = True
    generated_workloads_in_projects = True  # Maven and Gradle projects' methods too
    generator_values = (
        "The Java arguments are read from Python values: int for int/long/Integer/Long, float "
        "for double, bool, str for String (a one-character str for a char), a list for a List, "
        "Set or array, a dict for a Map."
    )
    function_nodes = frozenset({"method_declaration", "constructor_declaration"})
    test_globs = ("*Test.java", "Test*.java", "*Tests.java")
    state_patterns = (
        (
            "a static field",
            re.compile(
                r"\bstatic\s+(?!final\s+(?:int|long|double|float|boolean|char|byte|short|String)"
                r"\s)(?:final\s+)?[\w.]+(?:<[^;(){}]*?>)?(?:\[\])*\s+(\w+)\s*(?:=|;)"
            ),
        ),
    )
    import_line = re.compile(r"^import\s+(?:static\s+)?[\w.]+(?:\.\*)?\s*;$")
    top_import = re.compile(r"^import\s")
    imports_after = re.compile(r"^package\s")
    doc_line = re.compile(r"^\s*(?://|/\*|\*|@)")

    def parse_reply(self, code: str) -> str:
        # Models often answer a method without its class; it parses inside one.
        if self.has_errors(code) and not self.has_errors(f"class X {{\n{code}\n}}"):
            return f"class X {{\n{code}\n}}"
        return super().parse_reply(code)

    def keep_visibility(self, function: str, signature: str) -> str:
        head, sep, body = function.partition("(")
        if not sep:
            return function
        original = signature.partition("(")[0]
        words = head.split()
        access = _ACCESS.search(original)
        if access and not _ACCESS.search(head):
            words.insert(0, access.group(1))
        if re.search(r"\bstatic\b", original) and "static" not in words:
            at = 1 if words and words[0] in ("public", "protected", "private") else 0
            words.insert(at, "static")
        if words == head.split():
            return function
        lead = head[: len(head) - len(head.lstrip())]
        return f"{lead}{' '.join(words)}{sep}{body}"

    def used_names(self, line: str) -> list[str]:
        return [line.rstrip(";").rsplit(".", 1)[-1].strip()]

    def test_file_runs(self, text: str) -> bool:
        return "static void main" in text  # a JUnit class beside a lone file has no runner

    def discover(self, path: Path, source: str, function: str) -> ProjectSpec | None:
        from . import project

        return project.discover(path, function)


SUPPORT = Java()
