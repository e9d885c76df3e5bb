"""Measuring programs built in a copy of the user's project for a generated workload (Go
modules, Maven/Gradle projects, Cargo crates): kept outside the copy, a few at a time, so that
every process of a comparison (and its mirrored pair) runs the same build."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

MAX_KEPT = 4  # a comparison's pair, mirrored and not, and the one before


def key(*parts: str) -> str:
    """A build's key: what went into it."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class KeptBuilds:
    """Built artifacts by key, each in a directory of its own, the oldest removed first."""

    def __init__(self, limit: int = MAX_KEPT) -> None:
        self._limit = limit
        self._dirs: dict[str, Path] = {}  # newest last

    def get(self, key: str, artifact: str) -> Path | None:
        """The kept ``artifact`` built under ``key`` (now the most recently used), or None."""
        directory = self._dirs.get(key)
        if directory is None or not (directory / artifact).exists():
            return None
        self._dirs[key] = self._dirs.pop(key)  # the most recently used goes last
        return directory / artifact

    def new_dir(self, key: str) -> Path:
        """An empty directory (readable by the sandbox's uid) to keep ``key``'s build in."""
        stale = self._dirs.pop(key, None)  # a build that failed half-way
        if stale is not None:
            shutil.rmtree(stale, ignore_errors=True)
        directory = Path(tempfile.mkdtemp(prefix="perforch-kept-"))
        directory.chmod(0o755)
        self._dirs[key] = directory
        while len(self._dirs) > self._limit:
            shutil.rmtree(self._dirs.pop(next(iter(self._dirs))), ignore_errors=True)
        return directory

    def clear(self) -> None:
        for directory in self._dirs.values():
            shutil.rmtree(directory, ignore_errors=True)
        self._dirs.clear()
