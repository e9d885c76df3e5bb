"""C++ projects: a file that tests itself (its own ``int main()`` reaching the function), or a
CMake project whose CTest tests — GoogleTest, Catch2 and doctest cases, or plain test programs
added with ``add_test`` — call the function. Cases are selected by name (``Suite.Name``, a
``TEST_CASE``'s title), plain test programs by the executable built from the sources that call
the function."""

from __future__ import annotations

import re
from pathlib import Path

from ..models import Language, ProjectSpec, TestCase
from ..source import compiled
from .common import calls, find_up, reaching, relative, walk

SOURCES = (".cpp", ".cc", ".cxx", ".c++")
MAIN = re.compile(r"\bint\s+main\s*\(")
GTEST = re.compile(r"^\s*(?:TEST|TEST_F|TEST_P|TYPED_TEST)\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)", re.M)
CASE = re.compile(
    r"^\s*(?:TEST_CASE|SCENARIO|TEST_CASE_METHOD)\s*\(\s*(?:\w+\s*,\s*)?\"([^\"]+)\"", re.M
)
ADD_EXECUTABLE = re.compile(r"add_executable\s*\(\s*([\w.-]+)([^)]*)\)", re.S)


def _body_after(text: str, start: int) -> str:
    """The brace block that follows ``start`` (a test macro's body)."""
    open_at = text.find("{", start)
    if open_at < 0:
        return ""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_at : i + 1]
    return text[open_at:]


def self_test(path: Path, source: str, function: str) -> ProjectSpec | None:
    """The file's own ``main()`` when it reaches the function."""
    if not MAIN.search(source):
        return None
    bodies = {
        f.name: f.code for f in compiled.functions(Language.CPP, source) if f.name != function
    }
    how = reaching(bodies, function)
    if "main" not in how:
        return None
    root = path.parent
    return ProjectSpec(
        kind="cpp-self-test",
        root=str(root.resolve()),
        file=path.name,
        tests=(
            TestCase(
                id="main", file=path.name, found_by=f"main() {how['main']}", code=bodies["main"]
            ),
        ),
    )


def _cmake_root(path: Path) -> Path | None:
    root = find_up(path.parent, ("CMakeLists.txt",))
    while root is not None and (root.parent / "CMakeLists.txt").exists():
        root = root.parent
    return root


def discover(path: Path, source: str, function: str) -> ProjectSpec | None:
    own = self_test(path, source, function)
    if own is not None:
        return own
    root = _cmake_root(path)
    if root is None:
        return None
    cmake = "\n".join(
        f.read_text(encoding="utf-8", errors="replace") for f in walk(root, ("CMakeLists.txt",))
    )
    if "add_test" not in cmake and "discover_tests" not in cmake:
        return None
    helpers: dict[str, str] = {}
    cases: list[tuple[str, str, str]] = []  # (id, file, body)
    calling_files: set[str] = set()
    for file in walk(root, SOURCES):
        if file.resolve() == path.resolve():
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        rel = relative(file, root)
        for f in compiled.functions(Language.CPP, text):
            if f.name not in ("TEST", "TEST_F", "TEST_P", "TEST_CASE", "main"):
                helpers.setdefault(f.name, f.code)
        for m in GTEST.finditer(text):
            cases.append((f"case:{m.group(1)}.{m.group(2)}", rel, _body_after(text, m.end())))
        for m in CASE.finditer(text):
            cases.append((f"case:{m.group(1)}", rel, _body_after(text, m.end())))
        if calls(text, function):
            calling_files.add(rel)
    how = reaching(helpers, function)
    tests: list[TestCase] = []
    for case_id, rel, body in cases:
        callee = next((c for c in [function, *how] if calls(body, c)), None)
        if callee is not None:
            reason = (
                f"calls {function}" if callee == function else f"calls {callee} → {how[callee][6:]}"
            )
            tests.append(TestCase(id=case_id, file=rel, found_by=reason, code=body))
    case_files = {rel for _, rel, _ in cases}
    for m in ADD_EXECUTABLE.finditer(cmake):
        target, sources = m.group(1), m.group(2)
        for rel in sorted(calling_files - case_files):
            if Path(rel).name in sources:
                tests.append(
                    TestCase(id=f"exe:{target}", file=rel, found_by=f"{rel} calls {function}")
                )
    return ProjectSpec(
        kind="cmake",
        root=str(root.resolve()),
        file=relative(path, root),
        tests=tuple(tests),
        others=len(cases) - sum(1 for t in tests if t.id.startswith("case:")),
    )
