"""Rust: functions (tree-sitter), ``use`` lines, a ``pub`` the model dropped put back, Cargo
crates and workspaces with unit, integration and doc tests (``project.py``), and a file's own
``#[cfg(test)]`` module outside any crate."""

from __future__ import annotations

import re
from pathlib import Path

import tree_sitter_rust

from ...errors import SourceError
from ...models import Language, ProjectSpec, Task, TestSpec
from ..base import Span
from ..treesitter import TreeSitterLanguage, calls


class Rust(TreeSitterLanguage):
    language = Language.RUST
    label = "Rust"
    fence = "rust"
    extensions = (".rs",)
    stub_body = "todo!()"
    no_tests_hint = "add a #[cfg(test)] mod tests with #[test] functions calling it"
    state_patterns = (
        ("a static mut", re.compile(r"\bstatic\s+mut\s+(\w+)")),
        (
            "a static with interior mutability",
            re.compile(
                r"\bstatic\s+(\w+)\s*:\s*[^=;]*?\b(?:Mutex|RwLock|RefCell|Cell|Atomic\w+|"
                r"OnceLock|OnceCell|LazyLock|Lazy)\b"
            ),
        ),
        ("a thread_local!", re.compile(r"\bthread_local!\s*\{[^}]*?\bstatic\s+(\w+)")),
        ("a lazy_static!", re.compile(r"\blazy_static!\s*\{[^}]*?\bstatic\s+ref\s+(\w+)")),
    )
    grammar = tree_sitter_rust.language
    generated_workloads = True
    generated_workloads_in_projects = True  # a Cargo crate's free function too
    generator_values = (
        "The Rust arguments are read from Python values: int for integer types, float for "
        "f64, bool, str for String or &str (a one-character str for a char), a list for a Vec, "
        "slice or array, a dict for a HashMap or BTreeMap, a tuple for a tuple, None for None."
    )
    function_nodes = frozenset({"function_item"})
    import_line = re.compile(r"^use\s+[^;]+;$")
    top_import = re.compile(r"^(?:pub\s+)?use\s")
    imports_after = re.compile(r"^(?://!|#!\[)")
    doc_line = re.compile(r"^\s*(?://|#\[)")

    def used_names(self, line: str) -> list[str]:
        body = line.removeprefix("use").strip().rstrip(";")
        return [n for n in re.findall(r"\w+", body.rsplit("::", 1)[-1]) if n not in ("as", "self")]

    def takes_generated_inputs(self, task: Task) -> bool:
        """A free function with concrete types: not a method (``self``), not generic (the
        measuring program reads each parameter into a named type)."""
        sig = task.signature
        return re.search(r"\(\s*&?\s*(?:'\w+\s+)?(?:mut\s+)?self\b", sig) is None and (
            re.search(rf"\bfn\s+{re.escape(task.entry_point)}\s*<", sig) is None
        )

    def keep_visibility(self, function: str, signature: str) -> str:
        head, sep, body = function.partition("(")
        vis = re.match(r"\s*(pub(?:\s*\([^)]*\))?\s+)", signature)
        if sep and vis and not re.match(r"\s*pub\b", head):
            lead = head[: len(head) - len(head.lstrip())]
            return f"{lead}{vis.group(1)}{head.lstrip()}{sep}{body}"
        return function

    def own_tests(self, path: Path, source: str, span: Span) -> TestSpec | None:
        at = source.find(span.code)
        rest = source[:at] + source[at + len(span.code) :]
        if "#[cfg(test)]" in rest and calls(rest, span.name):
            return TestSpec(kind="program", source="", origin=f"{path.name}'s #[cfg(test)] module")
        return None

    def discover(self, path: Path, source: str, function: str) -> ProjectSpec | None:
        from . import project

        try:
            has_doctest = "```" in self.find_function(source, function, str(path)).doc
        except SourceError:
            return None
        return project.discover(path, function, has_doctest)


SUPPORT = Rust()
