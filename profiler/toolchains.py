"""What every language's toolchain shares: the cache they are prepared into (keyed by
version), asking a tool for its version, and the memory launcher (``profiler/launcher.c``,
compiled once per source and compiler version). Each language's toolchain (where it is, its
version, the one-time preparation of the libraries tests need) is
``profiler/languages/<name>/toolchain.py``.

``python -m profiler.toolchains`` (run by ``scripts/setup.sh``) prepares everything; it is a
no-op when the cache for these versions exists.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from perforch_core.errors import HarnessError


def cache_root() -> Path:
    return Path(os.environ.get("PERFORCH_CACHE", Path.home() / ".cache" / "perforch"))


def version_of(cmd: list[str]) -> str:
    """A tool's one-line answer (its version, its root), or ``HarnessError`` when unusable."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise HarnessError(f"{cmd[0]} is not usable: {exc}") from exc


# -- preparation (network allowed; run by scripts/setup.sh) -------------------------------
@functools.cache
def launcher() -> Path:
    """The memory launcher binary, compiled from ``profiler/launcher.c`` on first use (and
    looked up once per process: this sits on the measuring path)."""
    source = Path(__file__).with_name("launcher.c")
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise HarnessError("gcc is not installed: the memory launcher cannot be built")
    text = source.read_bytes()
    key = hashlib.sha256(text + version_of([cc, "-dumpfullversion"]).encode()).hexdigest()[:10]
    binary = cache_root() / "toolchains" / f"launcher-{key}" / "perforch-launch"
    if binary.is_file():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(f"perforch-launch.{os.getpid()}.tmp")
    try:
        subprocess.run(
            [cc, "-O2", "-o", str(tmp), str(source)], check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as exc:
        raise HarnessError(f"cannot build the memory launcher: {exc.stderr[-500:]}") from exc
    tmp.rename(binary)
    return binary


def main() -> None:
    """Prepare every language's toolchain and the launcher (``scripts/setup.sh``)."""
    from . import languages

    failures = []
    steps: list[tuple[str, Callable[[], object]]] = [("launcher", launcher)]
    steps += [(name, prepare) for name, prepare in languages.preparations()]
    for name, step in steps:
        try:
            step()
        except (HarnessError, subprocess.CalledProcessError, OSError) as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        print(
            "perforch setup: toolchain preparation failed:\n  " + "\n  ".join(failures),
            file=sys.stderr,
        )
        raise SystemExit(1)


if __name__ == "__main__":
    main()
