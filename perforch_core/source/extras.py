"""What a model's reply adds beside the function: import lines and helper functions.

A candidate is a *block*: the import lines it needs that the file lacks (one per line, first),
then any new helper functions, then the function itself. :func:`merge` puts such a block into
the user's file: the imports into the file's own import block (deduplicated), the helpers and
the function in the function's place. The same merge builds the program that is tested, the
file that ``--apply`` writes and the editor's edit, so what is reviewed is what was tested.
"""

from __future__ import annotations

import re

from ..models import Language

# One import line of each language, as a candidate block carries it.
IMPORT_LINE = {
    Language.PYTHON: re.compile(
        r"^(?:import\s+[\w.]+(?:\s+as\s+\w+)?|from\s+[\w.]+\s+import\s+.+)$"
    ),
    Language.GO: re.compile(r'^import\s+(?:[\w.]+\s+)?"[^"]+"$'),
    Language.RUST: re.compile(r"^use\s+[^;]+;$"),
    Language.CPP: re.compile(
        r"^(?:#\s*include\s*[<\"][^>\"]+[>\"]|using\s+namespace\s+[\w:]+\s*;)$"
    ),
    Language.JAVA: re.compile(r"^import\s+(?:static\s+)?[\w.]+(?:\.\*)?\s*;$"),
}


def split_imports(language: Language, block: str) -> tuple[list[str], str]:
    """The block's leading import lines and the rest (helpers and the function)."""
    lines = block.splitlines(keepends=True)
    imports: list[str] = []
    i = 0
    pattern = IMPORT_LINE[language]
    while i < len(lines):
        text = lines[i].strip()
        if pattern.match(text):
            imports.append(text)
        elif text:
            break
        i += 1
    return imports, "".join(lines[i:])


def join(imports: list[str], rest: str) -> str:
    """A block from its import lines and the rest."""
    if not imports:
        return rest
    return "\n".join(imports) + "\n\n" + rest.lstrip("\n")


def normalize_import(language: Language, line: str) -> str:
    return " ".join(line.split())


def _present(language: Language, module: str, line: str) -> bool:
    """Whether the module already has ``line`` (compared without spacing)."""
    wanted = normalize_import(language, line)
    if language is Language.GO:
        path = re.search(r'"([^"]+)"', line)
        return path is not None and re.search(rf'"{re.escape(path.group(1))}"', module) is not None
    return any(normalize_import(language, ln.strip()) == wanted for ln in module.splitlines())


def missing_imports(language: Language, module: str, imports: list[str]) -> list[str]:
    out: list[str] = []
    for line in imports:
        if not _present(language, module, line) and line not in out:
            out.append(line)
    return out


def _last_line(prefix_lines: list[str], pattern: re.Pattern[str]) -> int | None:
    last = None
    for i, line in enumerate(prefix_lines):
        if pattern.match(line):
            last = i
    return last


_TOP_IMPORT = {
    Language.PYTHON: re.compile(r"^(?:import\s|from\s+\S+\s+import\s)"),
    Language.RUST: re.compile(r"^(?:pub\s+)?use\s"),
    Language.CPP: re.compile(r"^\s*(?:#\s*include\b|using\s+namespace\b)"),
    Language.JAVA: re.compile(r"^import\s"),
}
_AFTER = {  # where imports go when the file has none
    Language.PYTHON: re.compile(r'^(?:#!|# -\*-|from\s+__future__\s|"""|\'\'\')'),
    Language.RUST: re.compile(r"^(?://!|#!\[)"),
    Language.CPP: re.compile(r"^\s*#\s*pragma\s+once"),
    Language.JAVA: re.compile(r"^package\s"),
}


def insert_imports(language: Language, prefix: str, imports: list[str]) -> str:
    """``prefix`` (the file before the function) with ``imports`` added to its import block."""
    if not imports:
        return prefix
    lines = prefix.splitlines(keepends=True)
    if language is Language.GO:
        return _insert_go(lines, imports)
    if language is Language.PYTHON:
        return _insert_python(prefix, imports)
    last = _last_line(lines, _TOP_IMPORT[language])
    if last is None:
        last = _last_line(lines, _AFTER[language])
        added = [line + "\n" for line in imports]
        if last is None:
            return "".join([*added, "\n", *lines])
        return "".join([*lines[: last + 1], "\n", *added, *lines[last + 1 :]])
    return "".join([*lines[: last + 1], *(line + "\n" for line in imports), *lines[last + 1 :]])


def _insert_python(prefix: str, imports: list[str]) -> str:
    """After the module's last top-level import (a docstring and ``__future__`` imports stay
    first), else after the module docstring, else at the top."""
    import ast

    try:
        tree = ast.parse(prefix)
    except SyntaxError:
        tree = None
    lines = prefix.splitlines(keepends=True)
    at = 0
    if tree is not None:
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom) or (
                at == 0
                and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                at = node.end_lineno or node.lineno
    added = [line + "\n" for line in imports]
    if at == 0:
        return "".join([*added, "\n", *lines])
    return "".join([*lines[:at], *added, *lines[at:]])


def _insert_go(lines: list[str], imports: list[str]) -> str:
    specs = [re.sub(r"^import\s+", "", line) for line in imports]
    for i, line in enumerate(lines):
        if re.match(r"^import\s*\($", line.strip()):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == ")"), None)
            if end is not None:
                return "".join([*lines[:end], *(f"\t{s}\n" for s in specs), *lines[end:]])
    last = _last_line(lines, re.compile(r"^import\s"))
    if last is None:
        last = _last_line(lines, re.compile(r"^package\s"))
        if last is None:
            return "".join([*(f"import {s}\n" for s in specs), *lines])
        return "".join(
            [*lines[: last + 1], "\n", *(f"import {s}\n" for s in specs), *lines[last + 1 :]]
        )
    return "".join([*lines[: last + 1], *(f"import {s}\n" for s in specs), *lines[last + 1 :]])


_DOC_LINE = {
    Language.PYTHON: re.compile(r"^\s*#"),
    Language.GO: re.compile(r"^\s*//"),
    Language.RUST: re.compile(r"^\s*(?://|#\[)"),
    Language.CPP: re.compile(r"^\s*(?://|/\*|\*|template\s*<)"),
    Language.JAVA: re.compile(r"^\s*(?://|/\*|\*|@)"),
}


def _function_start(language: Language, rest: str) -> int:
    """The line where the block's function (its last definition) starts: helpers come
    before it."""
    if language is Language.PYTHON:
        from . import python

        try:
            spans = python.spans(rest)
        except Exception:  # an unparsable block is merged as one piece
            return 0
    else:
        from . import compiled

        spans = compiled.functions(language, rest)  # type: ignore[assignment]
    return spans[-1].start if spans else 0


def merge(language: Language, prefix: str, block: str, suffix: str) -> str:
    """The whole file: ``prefix`` with the block's missing imports, then the block's helpers
    (before the function's own doc comment, which stays with the function) and function in the
    function's place, then ``suffix``."""
    imports, rest = split_imports(language, block)
    missing = missing_imports(language, prefix + suffix, imports)
    head = insert_imports(language, prefix, missing)
    rest_lines = rest.splitlines(keepends=True)
    at = _function_start(language, rest)
    if at == 0:
        return f"{head}{rest.rstrip()}\n{suffix}"
    head_lines = head.splitlines(keepends=True)
    doc_at = len(head_lines)
    while doc_at > 0 and _DOC_LINE[language].match(head_lines[doc_at - 1]):
        doc_at -= 1
    helpers = (
        "".join(rest_lines[:at]).rstrip() + "\n\n" + ("\n" if language is Language.PYTHON else "")
    )
    function = "".join(rest_lines[at:]).rstrip()
    return (
        "".join(head_lines[:doc_at])
        + helpers
        + "".join(head_lines[doc_at:])
        + f"{function}\n{suffix}"
    )


def used_names(language: Language, line: str) -> list[str]:
    """The names an import line brings into scope (for dropping imports the code never uses:
    Go refuses to build with one)."""
    if language is Language.GO:
        alias = re.match(r'^import\s+([\w.]+)\s+"', line)
        if alias:
            return [alias.group(1)]
        path = re.search(r'"([^"]+)"', line)
        return [path.group(1).rsplit("/", 1)[-1]] if path else []
    if language is Language.RUST:
        body = line.removeprefix("use").strip().rstrip(";")
        return [n for n in re.findall(r"\w+", body.rsplit("::", 1)[-1]) if n not in ("as", "self")]
    if language is Language.JAVA:
        return [line.rstrip(";").rsplit(".", 1)[-1].strip()]
    return []


def keep_used(language: Language, imports: list[str], code: str) -> list[str]:
    """Imports whose names the code uses (C++ includes and Python imports are all kept)."""
    out = []
    for line in imports:
        if language is Language.CPP and '"' in line:
            continue  # a local header the model imagined; the file's own includes stay
        names = used_names(language, line)
        if not names or "*" in names:
            out.append(line)
            continue
        suffix = r"\s*\." if language is Language.GO else r"\b"
        if any(re.search(rf"\b{re.escape(n)}{suffix}", code) for n in names):
            out.append(line)
    return out


def file_diff(
    language: Language, prefix: str, suffix: str, before: str, after: str, path: str
) -> str:
    """The unified diff of the file with ``before`` against the file with ``after`` (both
    candidate blocks merged): new imports show where they land, not above the function."""
    import difflib

    old = merge(language, prefix, before, suffix)
    new = merge(language, prefix, after, suffix)
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )
