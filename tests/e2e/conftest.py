"""Running the real ``perforch`` command in a scratch environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PERFORCH = [sys.executable, "-P", "-m", "server.cli"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("slow_functions.py", "stub.py"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def perforch(tmp_path: Path, workdir: Path):
    env = {
        **os.environ,
        "PERFORCH_DATA": str(tmp_path / "data"),
        "PERFORCH_CONFIG": str(tmp_path / "config"),
        "COLUMNS": "160",
    }
    env.pop("PERFORCH_LOCAL_API_BASE", None)

    def run(*args: str, timeout: float = 600, extra_env: dict[str, str] | None = None) -> Run:
        proc = subprocess.run(
            [*PERFORCH, *args],
            cwd=workdir,
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


def local_models_installed(*aliases: str) -> bool:
    from perforch_core.llm import local_models

    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return all(local_models.spec(a).installed for a in aliases)
