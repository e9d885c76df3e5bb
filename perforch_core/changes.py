"""The functions a working tree's changes touch: ``git diff -U0 REF`` (staged and unstaged
changes against REF, HEAD by default) read for the new side's changed lines, intersected with
each changed file's functions. Files in languages PerfOrch does not handle, deleted files and
files that do not parse contribute nothing."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import source
from .errors import ConfigError

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Changed:
    path: Path
    function: str
    lines: tuple[int, int]  # the function's lines, 1-based, inclusive


def changed_lines(diff: str) -> dict[str, list[tuple[int, int]]]:
    """File (relative to the repository) → changed line ranges of the new side (1-based,
    inclusive; a pure deletion marks the line it happened before)."""
    found: dict[str, list[tuple[int, int]]] = {}
    current: str | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = line[4:].strip()
            current = None if name == "/dev/null" else name.removeprefix("b/")
            continue
        m = HUNK.match(line)
        if m and current is not None:
            start, count = int(m.group(1)), int(m.group(2) or "1")
            found.setdefault(current, []).append((start, start + max(count, 1) - 1))
    return found


def changed_functions(root: Path, ref: str = "HEAD") -> list[Changed]:
    """The functions under ``root``'s repository touched since ``ref``, file by file in order."""
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "-U0", "--no-color", "--no-ext-diff", ref, "--", "."],
            cwd=top,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ConfigError(
            f"cannot read the changes of {root} against {ref}: {detail.strip()}",
            hint="run it inside a git repository, with a ref that exists",
        ) from exc
    out: list[Changed] = []
    for name, ranges in sorted(changed_lines(diff).items()):
        path = Path(top) / name
        language = source.language_of(path)
        if language is None or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for f in source.functions(language, text):
            first, last = f.start + 1, f.end  # 1-based, inclusive
            if any(a <= last and b >= first for a, b in ranges):
                out.append(Changed(path=path, function=f.name, lines=(first, last)))
    return out
