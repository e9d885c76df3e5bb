"""What every language's project discovery shares: finding a project's root, walking its
files without descending into build output or virtual environments, and the static search for
the tests that exercise a function (its callers, transitively, among the test code)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ..models import SKIP_DIRS

MAX_FILES = 20000  # a search stops here: a project that large is searched in part


def find_up(start: Path, names: Iterable[str], stop: Path | None = None) -> Path | None:
    """The nearest directory from ``start`` upwards that holds one of ``names``."""
    wanted = tuple(names)
    here = start if start.is_dir() else start.parent
    for directory in (here, *here.parents):
        if any((directory / n).exists() for n in wanted):
            return directory
        if stop is not None and directory == stop:
            break
    return None


def walk(root: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files under ``root`` ending in ``suffixes``, in a stable order, skipping ``SKIP_DIRS``
    and hidden directories."""
    count = 0
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(directory.iterdir(), key=lambda p: p.name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if entry.name not in SKIP_DIRS and not entry.name.startswith("."):
                    stack.append(entry)
            elif entry.name.endswith(suffixes):
                count += 1
                if count > MAX_FILES:
                    return
                yield entry


def calls(text: str, name: str, method_calls: bool = True) -> bool:
    """Whether ``text`` calls ``name`` (``name(``, ``x.name(``, ``path::name(``, a macro, a
    turbofish); ``method_calls=False``: not as ``x.name(`` (a Rust free function)."""
    before = r"(?<![\w$])" if method_calls else r"(?<![\w$.])"
    pattern = rf"{before}{re.escape(name)}\s*(?:!\s*)?(?:::<[^>]*>\s*)?\("
    return re.search(pattern, text) is not None


def add_body(bodies: dict[str, str], name: str, code: str) -> None:
    """Add a function's code under its name; overloads and same-named methods share the entry
    (the call search is by name, so a call of any of them leads through all of them)."""
    bodies[name] = f"{bodies[name]}\n{code}" if name in bodies else code


def reaching(bodies: Mapping[str, str], target: str, method_calls: bool = True) -> dict[str, str]:
    """The functions among ``bodies`` (name → code) that call ``target`` directly or through
    others in ``bodies``, each with how: "calls f" or "calls helper → f"."""
    chain: dict[str, list[str]] = {target: []}
    frontier = [target]
    while frontier:
        found: list[str] = []
        for name, code in bodies.items():
            if name in chain:
                continue
            callee = next(
                (c for c in frontier if calls(code, c, method_calls or c != target)), None
            )
            if callee is not None:
                chain[name] = [callee, *chain[callee]]
                found.append(name)
        frontier = found
    return {name: "calls " + " → ".join(path) for name, path in chain.items() if path}


def relative(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()
