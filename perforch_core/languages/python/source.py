"""Python source: find a function, cut a module around it, normalise a model's code, find tests.

Everything works on text plus ``ast`` line numbers, so the user's file outside the function's
lines is carried over byte for byte.
"""

from __future__ import annotations

import ast
import doctest
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ...errors import NoTestsError, SourceError
from ...models import Language, Metric, Task, TestKind, TestSpec
from ...source import extras

# One import line as a candidate block carries it.
IMPORT_LINE = re.compile(r"^(?:import\s+[\w.]+(?:\s+as\s+\w+)?|from\s+[\w.]+\s+import\s+.+)$")

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class FunctionSpan:
    name: str
    start: int  # 0-based first line (decorators included)
    end: int  # 0-based line after the last
    code: str
    docstring: str | None
    header: str  # "def f(...):" up to and including the docstring


def parse(source: str, filename: str = "<source>") -> ast.Module:
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise SourceError(f"{filename}:{exc.lineno}: the file does not parse: {exc.msg}") from exc


def _top_level_functions(tree: ast.Module) -> dict[str, FunctionNode]:
    return {n.name: n for n in tree.body if isinstance(n, FunctionNode)}


def spans(source: str, filename: str = "<source>") -> list[FunctionSpan]:
    """Every top-level function, from one parse."""
    lines = source.splitlines(keepends=True)
    return [_span(lines, n) for n in _top_level_functions(parse(source, filename)).values()]


def find_function(source: str, name: str, filename: str = "<source>") -> FunctionSpan:
    tree = parse(source, filename)
    funcs = _top_level_functions(tree)
    node = funcs.get(name)
    if node is None:
        known = ", ".join(sorted(funcs)) or "none"
        raise SourceError(
            f"{filename} has no top-level function {name!r}", hint=f"functions in the file: {known}"
        )
    return _span(source.splitlines(keepends=True), node)


def _span(lines: list[str], node: FunctionNode) -> FunctionSpan:
    name = node.name
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    end = node.end_lineno or node.lineno
    code = "".join(lines[start:end])
    doc = ast.get_docstring(node, clean=False)
    first_body = node.body[0]
    header_end = (first_body.end_lineno if doc is not None else first_body.lineno - 1) or end
    header = "".join(lines[start:header_end])
    return FunctionSpan(name, start, end, code, doc, header)


def split_module(source: str, span: FunctionSpan) -> tuple[str, str]:
    lines = source.splitlines(keepends=True)
    prefix = "".join(lines[: span.start])
    suffix = "".join(lines[span.end :])
    return prefix, suffix


def replace_function(source: str, name: str, new_code: str) -> str:
    """``source`` with the function ``name`` replaced by a candidate block (its new imports
    merged into the file's import block)."""
    span = find_function(source, name)
    prefix, suffix = split_module(source, span)
    return extras.merge(Language.PYTHON, prefix, new_code, suffix)


# -- normalising a model's code -----------------------------------------------------------
def normalize_candidate(
    code: str,
    entry_point: str,
    *,
    module_prefix: str = "",
    module_suffix: str = "",
    original_header: str | None = None,
) -> str:
    """Turn a code block into a candidate block for ``entry_point`` (``source/extras.py``).

    Module-level imports the file lacks come first (they are merged into the file's import
    block); module-level assignments the code uses (a constant, a table) whose names the module
    does not define, then helper functions and classes with new names come next, beside the
    function; a helper whose name the module already defines is nested in the function instead
    (the module's own stays as it is); other top-level statements (tests, prints) are dropped.
    The function keeps the original's docstring as written in ``original_header`` (the
    header up to and including it): added when the model dropped it, put back when it
    rewrote it (a model's notes in a docstring do not land in the user's file).
    Raises ``SourceError``.
    """
    original = docstring_statement(original_header) if original_header else None
    tree = parse(code, "<reply>")
    funcs = _top_level_functions(tree)
    target = funcs.get(entry_point)
    if target is None:
        raise SourceError(f"the code does not define {entry_point}()")
    lines = code.splitlines(keepends=True)
    module = module_prefix + module_suffix
    try:
        module_body = parse(module, "<module>").body
    except SourceError:
        module_body = []
    module_names = {n.name for n in module_body if isinstance(n, FunctionNode | ast.ClassDef)}
    module_vars = {t for n in module_body for t in _assigned(n)}
    used = {
        n.id
        for node in tree.body
        if isinstance(node, FunctionNode | ast.ClassDef)
        for n in ast.walk(node)
        if isinstance(n, ast.Name)
    }

    def segment(node: ast.stmt) -> str:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        return "".join(lines[start - 1 : node.end_lineno])

    imports: list[str] = []
    constants: list[str] = []
    helpers: list[str] = []
    nested: list[str] = []
    for node in tree.body:
        if node is target:
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports += [" ".join(ln.split()) for ln in segment(node).strip().splitlines()]
        elif (names := _assigned(node)) and names & used and not names & module_vars:
            constants.append(textwrap.dedent(segment(node)).rstrip())
        elif isinstance(node, FunctionNode | ast.ClassDef):
            text = textwrap.dedent(segment(node)).rstrip()
            (nested if node.name in module_names else helpers).append(text)
    imports = [
        ln
        for ln in extras.missing_imports(Language.PYTHON, module, imports)
        if IMPORT_LINE.match(ln)
    ]
    func_text = textwrap.dedent(segment(target))
    own_doc = ast.get_docstring(target, clean=False)
    if nested or (original is not None and own_doc != original[0]):
        func_text = _with_nested(func_text, target, nested, original)
    parts = (["\n".join(constants)] if constants else []) + [*helpers, func_text.rstrip()]
    block = extras.join(imports, "\n\n\n".join(parts) + "\n")
    parse(block, "<candidate>")
    return block


def _assigned(node: ast.stmt) -> set[str]:
    """The names a top-level assignment binds (none for anything else)."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    else:
        return set()
    names = {t.id for t in targets if isinstance(t, ast.Name)}
    return names if len(names) == len(targets) else set()


def docstring_statement(header: str) -> tuple[str, str] | None:
    """The docstring of the function whose ``header`` (its ``def`` line up to and including
    the docstring) is given: (its value, its statement's lines as written, dedented with the
    function). None when it has none or the header does not parse alone."""
    text = textwrap.dedent(header).rstrip() + "\n"
    try:
        node = ast.parse(text).body[0]
    except (SyntaxError, IndexError):
        return None
    if not isinstance(node, FunctionNode):
        return None
    value = ast.get_docstring(node, clean=False)
    first = node.body[0]
    if value is None or first.lineno == node.lineno:
        return None
    lines = text.splitlines(keepends=True)
    return value, "".join(lines[first.lineno - 1 : first.end_lineno])


def _with_nested(
    func_text: str,
    target: FunctionNode,
    nested: list[str],
    original: tuple[str, str] | None,
) -> str:
    """The function with ``nested`` definitions at the top of its body and the ``original``
    docstring statement in place of its own (or added)."""
    func_lines = func_text.splitlines(keepends=True)
    body0 = target.body[0]
    has_doc = ast.get_docstring(target, clean=False) is not None
    offset = min([target.lineno, *(d.lineno for d in target.decorator_list)])
    first = body0.lineno - offset  # the first body statement's line, 0-based in func_lines
    after = (body0.end_lineno or body0.lineno) - offset + 1
    if not has_doc:
        if body0.lineno == target.lineno:
            raise SourceError(
                "one-line function bodies are not supported; put the body on its own line"
            )
        cut = resume = first
    elif original is None or body0.lineno == target.lineno:
        cut = resume = after  # its own docstring stays
        original = None
    else:
        cut, resume = first, after  # its own docstring is replaced
    head = "".join(func_lines[:cut])
    rest = "".join(func_lines[resume:])
    indent = re.match(r"[ \t]*", rest.lstrip("\n")).group(0) or "    "  # type: ignore[union-attr]
    doc = _reindented(original[1], indent) if original is not None else ""
    inner = "".join(textwrap.indent(e, indent) + "\n" for e in nested)
    out = head + doc + inner + rest
    parse(out, "<candidate>")
    return out.rstrip() + "\n"


def _reindented(statement: str, indent: str) -> str:
    """A docstring statement moved to the body indentation ``indent``: the lines that start
    with its first line's indentation get ``indent`` instead (lines inside the string that
    are indented less stay as written)."""
    was = re.match(r"[ \t]*", statement).group(0)  # type: ignore[union-attr]
    lines = statement.splitlines(keepends=True)  # the last ends in "\n" (docstring_statement)
    return "".join(
        indent + ln[len(was) :] if ln.startswith(was) and ln.strip() else ln for ln in lines
    )


# -- tests --------------------------------------------------------------------------------
def runs_examples(docstring: str | None) -> bool:
    """Whether the docstring has examples doctest runs (``# doctest: +SKIP`` ones do not)."""
    if not docstring or ">>>" not in docstring:
        return False
    try:
        examples = doctest.DocTestParser().get_examples(docstring)
    except ValueError:  # malformed examples still fail as a test
        return True
    return any(not e.options.get(doctest.SKIP, False) for e in examples)


def _doctest_examples(docstring: str | None) -> str | None:
    if not runs_examples(docstring):
        return None
    return inspect.cleandoc(docstring or "")


def _test_files_calling(path: Path, name: str, module: str) -> list[Path]:
    root = path.parent
    found = []
    candidates = [
        *root.glob("test_*.py"),
        *root.glob("*_test.py"),
        *root.glob("tests/test_*.py"),
        *root.glob("tests/*_test.py"),
    ]
    for test_file in sorted(set(candidates)):
        if test_file == path:
            continue
        try:
            text = test_file.read_text(encoding="utf-8")
        except OSError:
            continue
        if re.search(rf"\b{re.escape(name)}\s*\(", text) and re.search(
            rf"\b(from\s+{re.escape(module)}\s+import|import\s+{re.escape(module)}\b)", text
        ):
            found.append(test_file)
    return found


def discover_tests(
    path: Path, source: str, span: FunctionSpan, tests_file: Path | None = None
) -> TestSpec:
    """Tests for a function: ``tests_file``, else docstring examples, else test files."""
    module = path.stem
    if tests_file is not None:
        try:
            text = tests_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"cannot read the tests file {tests_file}: {exc}") from exc
        if ">>>" in text and "def test" not in text and "def check" not in text:
            return TestSpec(kind="doctest", source=text, origin=str(tests_file))
        parse(text, str(tests_file))
        kind: TestKind = "check" if re.search(r"^def check\(", text, re.M) else "functions"
        return TestSpec(kind=kind, source=text, origin=str(tests_file))
    examples = _doctest_examples(span.docstring)
    if examples:
        return TestSpec(kind="doctest", source=examples, origin=f"docstring of {span.name}")
    files = _test_files_calling(path, span.name, module)
    if files:
        text = "\n\n".join(f.read_text(encoding="utf-8") for f in files)
        return TestSpec(kind="functions", source=text, origin=", ".join(str(f) for f in files))
    raise NoTestsError(
        f"no tests found for {span.name}()",
        hint="add >>> examples to its docstring, a test_*.py beside it that imports it, "
        "or pass --tests FILE",
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
    span = find_function(source, function, str(path))
    prefix, suffix = split_module(source, span)
    tests = tests or discover_tests(path, source, span, tests_file)
    return Task(
        id=f"{path}::{function}",
        language=Language.PYTHON,
        entry_point=function,
        module=path.stem,
        prefix=prefix,
        suffix=suffix,
        signature=span.header,
        description=span.docstring or "",
        current_code=span.code,
        tests=tests,
        metric=metric,
    )


_CACHES = {"lru_cache", "cache", "cached", "memoize", "memoized", "cached_property"}
_MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque"}


def _mutable(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in _MUTABLE_CALLS
    return False


def kept_state(code: str) -> set[str]:
    """What in ``code`` keeps values from one call to the next: a caching decorator, a mutable
    default argument, a ``global`` or ``nonlocal`` name, a module-level container, an
    attribute set on a function."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return set()
    found: set[str] = set()
    for stmt in tree.body:  # module-level containers
        targets = stmt.targets if isinstance(stmt, ast.Assign) else []
        if isinstance(stmt, ast.AnnAssign):
            targets = [stmt.target]
        value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
        for target in targets:
            if isinstance(target, ast.Name) and _mutable(value):
                found.add(f"a module-level container `{target.id}`")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                call = deco.func if isinstance(deco, ast.Call) else deco
                name = call.id if isinstance(call, ast.Name) else getattr(call, "attr", "")
                if name in _CACHES:
                    found.add(f"@{name} on `{node.name}`")
            args = node.args
            for arg, default in zip(
                [*args.posonlyargs, *args.args][-len(args.defaults) :] if args.defaults else [],
                args.defaults,
                strict=False,
            ):
                if _mutable(default):
                    found.add(f"a mutable default `{arg.arg}`")
            for kwarg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=False):
                if _mutable(kw_default):
                    found.add(f"a mutable default `{kwarg.arg}`")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            kind = "global" if isinstance(node, ast.Global) else "nonlocal"
            found.update(f"a {kind} `{n}`" for n in node.names)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id not in ("self", "cls")
                ):
                    found.add(f"an attribute `{target.value.id}.{target.attr}`")
    return found
