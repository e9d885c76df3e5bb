"""What a sandboxed run may hold and write while it runs, watched from outside: the resident
memory of its whole process tree and what it adds to the host's disk (polled every 0.2 s by
:func:`watch`, which kills the run past either), and the killing itself — the process group,
then every process of the tree directly, and the wait until they are gone. Used by one-shot
runs (``sandbox.run_sandboxed``) and kept sessions (``session``) alike."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant."""
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in found or not Path(f"/proc/{pid}").exists():
            continue
        found.append(pid)
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                stack += [int(child) for child in children.read_text().split()]
    return found


def tree_resident_mb(root: int) -> float:
    """Resident memory of ``root`` and every descendant (shared pages count in each)."""
    pages = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError, IndexError, ValueError):  # gone meanwhile
            pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def kill_tree(pids: Sequence[int]) -> None:
    """SIGKILL each of ``pids`` directly: through bwrap's --die-with-parent and the PID
    namespace's end alone, processes holding gigabytes were seen alive a second later."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


async def gone(pids: Sequence[int], timeout_s: float = 10.0) -> None:
    """Return once none of ``pids`` runs any more (freeing much memory takes a moment)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return
        await asyncio.sleep(0.05)


@dataclass
class DiskWatch:
    """What a run may add to the host's disk through ``dirs`` (its work dir, writable binds).
    Cheap while nothing happens: each poll reads the free blocks and inodes of their
    filesystems; only when those fell by more than the ceiling are the directories walked, to
    tell the run's writes from anyone else's on the same filesystem. After a walk that finds
    the run within its ceilings, the next one waits until the filesystems fell by what is left
    of them (another writer on the disk costs a walk per ceiling's worth, not one per poll)."""

    dirs: Sequence[Path]
    max_bytes: int
    max_files: int
    # Inode times come from a coarse clock (a tick behind at most): a margin of 0.1 s.
    started: float = field(default_factory=lambda: time.time() - 0.1)
    # One directory per filesystem, and its free (bytes, inodes) when last counted from.
    free: dict[Path, tuple[int, int]] = field(default_factory=dict)
    counted: tuple[int, int] = (0, 0)  # what the last walk found the run had written

    def __post_init__(self) -> None:
        devices = set()
        for path in self.dirs:
            with contextlib.suppress(OSError):
                if (dev := path.stat().st_dev) not in devices:
                    devices.add(dev)
                    self.free[path] = _free(path)

    def exceeded(self) -> str | None:
        """ "more than … MiB" / "more than … files" when the run went past a ceiling."""
        fell_bytes, fell_files = self.counted
        now: dict[Path, tuple[int, int]] = {}
        for path, (free_bytes, free_files) in self.free.items():
            with contextlib.suppress(OSError):
                now[path] = _free(path)
                fell_bytes += free_bytes - now[path][0]
                fell_files += free_files - now[path][1]
        if fell_bytes <= self.max_bytes and fell_files <= self.max_files:
            return None
        written, files = self.written()
        if written > self.max_bytes:
            return f"more than {self.max_bytes >> 20} MiB"
        if files > self.max_files:
            return f"more than {self.max_files:,} files"
        self.free.update(now)
        self.counted = (written, files)
        return None

    def written(self) -> tuple[int, int]:
        """Bytes (allocated) and entries changed in ``dirs`` since the run started."""
        written = files = 0
        stack = [str(p) for p in self.dirs]
        while stack:
            with contextlib.suppress(OSError), os.scandir(stack.pop()) as entries:
                for entry in entries:
                    with contextlib.suppress(OSError):
                        st = entry.stat(follow_symlinks=False)
                        if st.st_ctime >= self.started:
                            files += 1
                            written += st.st_blocks * 512
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
        return written, files


def _free(path: Path) -> tuple[int, int]:
    st = os.statvfs(path)
    return st.f_bfree * st.f_frsize, st.f_ffree


async def watch(
    pid: int, ceiling_mb: int, disk: DiskWatch, tripped: list[str], killed: list[int]
) -> None:
    """Kill the run when its processes together hold more than ``ceiling_mb``, or when it wrote
    more than ``disk`` allows (``tripped``: what it went past; ``killed``: the processes it
    killed, for the run to wait on)."""
    while True:
        await asyncio.sleep(0.2)
        if tree_resident_mb(pid) > ceiling_mb:
            tripped.append("memory")
        elif (over := disk.exceeded()) is not None:
            tripped.append(over)
        else:
            continue
        killed += process_tree(pid)
        kill_group(pid)
        kill_tree(killed)
        return


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
