"""Running untrusted code: one scratch directory, resource limits, a wall clock, capped output.

Every build and run of a candidate goes through :func:`run_sandboxed`. Layers (issue 2 level):

- a fresh temporary work dir per run, removed afterwards; the harness copies in what it needs;
- a cleared environment (only what the runtime needs);
- rlimits: CPU seconds (SIGXCPU), address space, file size (so an output flood stops), open
  files, no core dumps;
- a new session, so a wall-clock timeout or a cancellation kills the whole process group;
- stdout/stderr go to files in the work dir and only their tails are read back.

Stronger isolation (bubblewrap namespaces, seccomp, uid nobody) is layered on in the sandbox
issue; callers do not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OUTPUT_TAIL = 8 * 1024


@dataclass(frozen=True)
class Limits:
    wall_s: float = 30.0
    cpu_s: int = 60
    address_space_mb: int = 4096
    file_size_mb: int = 16
    open_files: int = 256


@dataclass
class RunResult:
    returncode: int | None
    timed_out: bool
    wall_s: float
    stdout_tail: str
    stderr_tail: str
    signal_name: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def crashed_reason(self) -> str | None:
        if self.timed_out:
            return f"timed out after {self.wall_s:.1f} s (killed)"
        if self.signal_name:
            return {
                "SIGXCPU": "used up its CPU-time limit (killed)",
                "SIGXFSZ": "wrote more output than allowed (killed)",
                "SIGKILL": "was killed (memory or time limit)",
                "SIGSEGV": "crashed (segmentation fault; stack overflow?)",
            }.get(self.signal_name, f"was killed by {self.signal_name}")
        return None


@contextlib.contextmanager
def workdir(prefix: str = "perforch-") -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def _limiter(limits: Limits) -> None:
    def set_limit(which: int, value: int) -> None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, value))

    # Soft < hard for CPU: SIGXCPU first (reported clearly), SIGKILL a second later.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    set_limit(resource.RLIMIT_AS, limits.address_space_mb << 20)
    set_limit(resource.RLIMIT_FSIZE, limits.file_size_mb << 20)
    set_limit(resource.RLIMIT_NOFILE, limits.open_files)
    set_limit(resource.RLIMIT_CORE, 0)


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - OUTPUT_TAIL))
            data = fh.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return ("…" + text) if size > OUTPUT_TAIL else text


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/nonexistent",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra or {})
    return env


async def run_sandboxed(
    argv: Sequence[str],
    *,
    cwd: Path,
    limits: Limits,
    env: Mapping[str, str] | None = None,
) -> RunResult:
    """Run ``argv`` in ``cwd`` under ``limits``; cancellation kills the process group."""
    out_path, err_path = cwd / ".stdout", cwd / ".stderr"
    started = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=base_env(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=lambda: _limiter(limits),
        )
    timed_out = False
    try:
        await asyncio.wait_for(proc.wait(), timeout=limits.wall_s)
    except TimeoutError:
        timed_out = True
    except asyncio.CancelledError:
        kill_group(proc.pid)
        await proc.wait()
        raise
    finally:
        # Whatever happened, nothing the candidate started outlives the run.
        kill_group(proc.pid)
    rc = await proc.wait()
    sig = None
    if rc is not None and rc < 0 and not timed_out:
        with contextlib.suppress(ValueError):
            sig = signal.Signals(-rc).name
    return RunResult(
        returncode=rc,
        timed_out=timed_out,
        wall_s=time.perf_counter() - started,
        stdout_tail=_tail(out_path),
        stderr_tail=_tail(err_path),
        signal_name=sig,
    )
