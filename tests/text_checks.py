"""Assertions about a result written into a file."""

from __future__ import annotations

import re

IMPORT = re.compile(r"^(?:import\s+\S|from\s+\S+\s+import\s)")


def same_but_added_imports(new: str, old: str) -> bool:
    """Whether ``new`` is ``old`` with import lines added (a result that needs a new import
    brings it into the file's import block) and nothing else changed."""
    added = [ln for ln in new.splitlines() if IMPORT.match(ln) and ln not in old.splitlines()]
    kept = [ln for ln in new.splitlines() if ln not in added]
    return kept == old.splitlines() and (new.endswith("\n") == old.endswith("\n"))
