"""A Python interpreter for the sandbox: which one, and what must be visible for it to run.
Python's harnesses run the user's interpreter; the compiled languages' generated inputs run
the daemon's own (``py_workload.py`` needs the standard library only)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def resolve(exe: str | None = None) -> str:
    """``exe`` (default: the daemon's interpreter) as a path; a pyenv shim is asked once for
    the real binary."""
    exe = exe or sys.executable
    resolved = shutil.which(exe) or exe
    real = Path(resolved).resolve()
    if "shims" in real.parts:
        out = subprocess.run(
            [str(real), "-c", "import sys;print(sys.executable)"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    return resolved


def binds(exe: str) -> list[str]:
    """What the sandbox must show read-only for ``exe`` to run: its installation prefix and,
    for a virtualenv's interpreter, the virtualenv (its packages)."""
    found = {str(Path(exe).resolve().parent.parent)}
    env_root = Path(exe).parent.parent
    if (env_root / "pyvenv.cfg").is_file():
        found.add(str(env_root))
    return sorted(found)
