"""The traced map of which tests reach a function (``perforch tests --trace``), cached per
content: the function's file and every test file of the project hash into the key, so any edit
to them makes the map stale and the static search answers again until the next trace.

Where tracing is possible (pytest, Go, Maven/Gradle and CMake projects) the map replaces the
static search's guess; the tests it names are those that ran the function when the whole suite
ran.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..models import TestCase

KEY_OPTION = "test_map_key"  # ProjectSpec.options: the key discovery computed
FOUND_BY = "reached it when every test ran (traced)"
_ignored: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "perforch_ignore_maps", default=False
)


@contextlib.contextmanager
def ignored() -> Iterator[None]:
    """Discovery inside answers from the static search alone (to compare it with a trace)."""
    token = _ignored.set(True)
    try:
        yield
    finally:
        _ignored.reset(token)


def cache_dir() -> Path:
    """Where maps are kept: ``$PERFORCH_TEST_MAPS``, else ``test-maps`` in PerfOrch's cache."""
    if os.environ.get("PERFORCH_TEST_MAPS"):
        return Path(os.environ["PERFORCH_TEST_MAPS"])
    root = Path(os.environ.get("PERFORCH_CACHE", Path.home() / ".cache" / "perforch"))
    return root / "test-maps"


def key(function: str, files: Iterable[tuple[str, bytes]]) -> str:
    """The map's key: the function's name and the (path, content) of the files it depends on
    (the function's own file and the project's test files), in any order."""
    digest = hashlib.sha256(function.encode())
    for name, content in sorted(files):
        digest.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:24]


def load(map_key: str) -> tuple[list[str], int] | None:
    """(the node ids that reached the function, how many tests ran), if traced."""
    if _ignored.get():
        return None
    try:
        data = json.loads((cache_dir() / f"{map_key}.json").read_text())
        return [str(i) for i in data["reached"]], int(data["ran"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(map_key: str, reached: list[str], ran: int) -> Path:
    path = cache_dir() / f"{map_key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"reached": reached, "ran": ran}))
    tmp.replace(path)
    return path


def traced_tests(
    map_key: str, file_of: Callable[[str], str], code_of: Callable[[str], str]
) -> tuple[list[TestCase], int] | None:
    """The kept map as the tests that judge the function (parameterized instances folded into
    their test) and how many other tests ran; None when the key was never traced."""
    traced = load(map_key)
    if traced is None:
        return None
    reached, ran = traced
    ids = list(dict.fromkeys(re.sub(r"\[.*\]$", "", i) for i in reached))
    tests = [TestCase(id=i, file=file_of(i), found_by=FOUND_BY, code=code_of(i)) for i in ids]
    return tests, max(0, ran - len(reached))
