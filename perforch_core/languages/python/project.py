"""Python projects: a package (flat or ``src/`` layout, ``pyproject.toml``, ``setup.cfg``,
``setup.py``, ``pytest.ini`` or ``tox.ini`` at its root) whose tests pytest runs — pytest test
functions and classes anywhere under the root, ``unittest.TestCase`` classes, and the function's
own doctest. Every test that calls the function (directly, through a helper, or through a
fixture that calls it) judges it. Those among them that take pytest-benchmark's ``benchmark``
fixture (and those handing it the function, ``benchmark(f, …)``) are the user's benchmarks:
measured instead of the other tests."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

from ...models import ProjectSpec, TestCase
from ...projects import testmap
from ...projects.search import calls, find_up, reaching, relative, walk

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", "pytest.ini", "tox.ini")
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def is_test_file(path: Path) -> bool:
    name = path.name
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or any(part in ("tests", "test", "testing") for part in path.parent.parts)
    ) and name != "conftest.py"


def module_name(path: Path, import_root: Path) -> str:
    parts = list(path.resolve().relative_to(import_root.resolve()).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_test_class(node: ast.ClassDef) -> bool:
    bases = " ".join(ast.unparse(b) for b in node.bases)
    return node.name.startswith("Test") or "TestCase" in bases


class _NoStrings(ast.NodeTransformer):
    """Blanks string constants: a call written inside a string (a test that writes a program
    to a file) is not a call."""

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant(value="") if isinstance(node.value, str) else node


def _code_only(node: FunctionNode) -> str:
    """A function's source for the call search: its code without its strings."""
    return ast.unparse(_NoStrings().visit(copy.deepcopy(node)))


def _units(
    tree: ast.Module,
) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]], set[str]]:
    """(name → code of every function, the same without string literals for the call search,
    test ids with their parameters, fixture names)."""
    bodies: dict[str, str] = {}
    searched: dict[str, str] = {}
    params: dict[str, list[str]] = {}
    fixtures: set[str] = set()

    def add(node: FunctionNode, key: str, test: bool) -> None:
        bodies[key] = ast.unparse(node)
        searched[key] = _code_only(node)
        if test:
            params[key] = [a.arg for a in node.args.args]
        if any("fixture" in ast.unparse(d) for d in node.decorator_list):
            fixtures.add(key)

    for node in tree.body:
        if isinstance(node, FunctionNode):
            add(node, node.name, node.name.startswith("test"))
        elif isinstance(node, ast.ClassDef):
            test_class = _is_test_class(node)
            for item in node.body:
                if isinstance(item, FunctionNode):
                    is_test = test_class and item.name.startswith("test")
                    add(item, f"{node.name}::{item.name}" if is_test else item.name, is_test)
    return bodies, searched, params, fixtures


def discover(path: Path, function: str, has_doctest: bool) -> ProjectSpec | None:
    """The project around ``path`` and the tests of ``function`` in it; None when the file is
    not in a project (the single-file path then looks beside it)."""
    root = find_up(path.parent, ROOT_MARKERS)
    if root is None:
        return None
    src = root / "src"
    import_root = src if src.is_dir() and src.resolve() in path.resolve().parents else root
    module = module_name(path, import_root)
    top = module.split(".")[0]
    tests: list[TestCase] = []
    benchmarks: list[TestCase] = []
    others = 0
    codes: dict[str, str] = {}  # test id → its code, for the tests read
    # The module's own functions: a test of one that calls the function exercises it too.
    own_text = _read(path)
    own_tree = _parse(own_text, path)
    conftest_bodies: dict[str, str] = (
        {k: v for k, v in _units(own_tree)[1].items() if k != function} if own_tree else {}
    )
    conftest_fixtures: set[str] = set()
    depends: list[tuple[str, bytes]] = []  # what a traced map of the tests is keyed by
    if own_text is not None:
        depends.append((relative(path, root), own_text.encode()))
    for conftest in walk(root, ("conftest.py",)):
        conftest_text = _read(conftest)
        if conftest_text is not None:
            depends.append((relative(conftest, root), conftest_text.encode()))
        tree = _parse(conftest_text, conftest)
        if tree is not None:
            _, searched, _, fixtures = _units(tree)
            conftest_bodies.update(searched)
            conftest_fixtures |= fixtures
    for test_file in walk(root, (".py",)):
        if test_file.resolve() == path.resolve() or not is_test_file(test_file):
            continue
        text = _read(test_file)
        if text is None:
            continue
        depends.append((relative(test_file, root), text.encode()))
        total = len(re.findall(r"^\s*(?:async\s+)?def\s+test", text, re.M))
        refers = re.search(rf"\b{re.escape(function)}\b", text) and re.search(
            rf"\b(?:{re.escape(top)}|{re.escape(module.rsplit('.', 1)[-1])})\b", text
        )
        tree = _parse(text, test_file) if refers else None
        if tree is None:
            others += total
            continue
        bodies, searched, params, fixtures = _units(tree)
        how = reaching({**conftest_bodies, **searched}, function)
        reached_fixtures = {f for f in (fixtures | conftest_fixtures) if f in how}
        rel = relative(test_file, root)
        codes.update({f"{rel}::{t}": bodies[t] for t in params})
        found = 0
        for test_id, args in params.items():
            reason = how.get(test_id)
            if reason is None:
                fixture = next((a for a in args if a in reached_fixtures), None)
                reason = f"uses fixture {fixture}, which {how[fixture]}" if fixture else None
            bench = "benchmark" in args
            if (
                reason is None
                and bench
                and re.search(rf"\b{re.escape(function)}\b", searched[test_id])
            ):
                reason = f"benchmarks {function}"  # benchmark(f, …): the function as a value
            if reason is not None:
                case = TestCase(
                    id=f"{rel}::{test_id}", file=rel, found_by=reason, code=bodies[test_id]
                )
                tests.append(case)
                if bench:
                    benchmarks.append(case)
                found += 1
        others += max(0, total - found)
    if has_doctest:
        rel = relative(path, root)
        tests.insert(
            0,
            TestCase(
                id=f"{rel}::{module}.{function}", file=rel, found_by="its docstring's examples"
            ),
        )
    map_key = testmap.key(function, depends)
    traced = testmap.traced_tests(map_key, lambda i: i.split("::")[0], lambda i: codes.get(i, ""))
    if traced is not None:  # the tests that reached it when every test ran replace the guess
        tests, others = traced
    options = {
        "import_root": relative(import_root, root) if import_root != root else ".",
        "module": module,
        testmap.KEY_OPTION: map_key,
    }
    venv_python = next(
        (
            p
            for p in (root / ".venv" / "bin" / "python", root / "venv" / "bin" / "python")
            if p.exists()
        ),
        None,
    )
    if venv_python is not None:
        options["python"] = str(venv_python)
    return ProjectSpec(
        kind="pytest",
        root=str(root.resolve()),
        file=relative(path, root),
        tests=tuple(tests),
        others=others,
        benchmarks=tuple(b for b in benchmarks if b.id in {t.id for t in tests}),
        options=options,
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _parse(text: str | None, path: Path) -> ast.Module | None:
    if text is None:
        return None
    try:
        return ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError):
        return None


__all__ = ["ROOT_MARKERS", "calls", "discover", "is_test_file", "module_name"]
