"""What a model's reply adds beside the function: import lines and helper functions.

A candidate is a *block*: the import lines it needs that the file lacks (one per line, first),
then any new helper functions, then the function itself. :func:`merge` puts such a block into
the user's file: the imports into the file's own import block (deduplicated), the helpers and
the function in the function's place. The same merge builds the program that is tested, the
file that ``--apply`` writes and the editor's edit, so what is reviewed is what was tested.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import Language

if TYPE_CHECKING:
    from ..languages import LanguageSupport


def _support(language: Language) -> LanguageSupport:
    from ..languages import support  # the language packages import this module

    return support(language)


def split_imports(language: Language, block: str) -> tuple[list[str], str]:
    """The block's leading import lines and the rest (helpers and the function)."""
    lines = block.splitlines(keepends=True)
    imports: list[str] = []
    i = 0
    pattern = _support(language).import_line
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


def missing_imports(language: Language, module: str, imports: list[str]) -> list[str]:
    """``imports`` that ``module`` lacks, each once."""
    support = _support(language)
    out: list[str] = []
    for line in imports:
        if not support.import_present(module, line) and line not in out:
            out.append(line)
    return out


def insert_imports(language: Language, prefix: str, imports: list[str]) -> str:
    """``prefix`` (the file before the function) with ``imports`` added to its import block."""
    return _support(language).insert_imports(prefix, imports)


def _function_start(support: LanguageSupport, rest: str) -> int:
    """The line where the block's function (its last definition) starts: helpers come
    before it."""
    try:
        spans = support.functions(rest)
    except Exception:  # an unparsable block is merged as one piece
        return 0
    return spans[-1].start if spans else 0


def merge(language: Language, prefix: str, block: str, suffix: str) -> str:
    """The whole file: ``prefix`` with the block's missing imports, then the block's helpers
    (before the function's own doc comment, which stays with the function) and function in the
    function's place, then ``suffix``."""
    support = _support(language)
    imports, rest = split_imports(language, block)
    missing = missing_imports(language, prefix + suffix, imports)
    head = support.insert_imports(prefix, missing)
    rest_lines = rest.splitlines(keepends=True)
    at = _function_start(support, rest)
    if at == 0:
        return f"{head}{rest.rstrip()}\n{suffix}"
    head_lines = head.splitlines(keepends=True)
    doc_at = len(head_lines)
    while doc_at > 0 and support.doc_line.match(head_lines[doc_at - 1]):
        doc_at -= 1
    helpers = "".join(rest_lines[:at]).rstrip() + support.helper_gap
    function = "".join(rest_lines[at:]).rstrip()
    return (
        "".join(head_lines[:doc_at])
        + helpers
        + "".join(head_lines[doc_at:])
        + f"{function}\n{suffix}"
    )


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
