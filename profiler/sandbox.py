"""Running untrusted code: namespaces, uid nobody, resource limits, a wall clock, capped output.

Every build and run of a candidate goes through :func:`run_sandboxed`. Layers:

- **bubblewrap**: own PID, network, IPC and UTS namespaces (no network at all: even loopback is
  a fresh, empty one); a new root holding only read-only binds of the system (``/usr``, the
  dynamic loader cache, ``/etc/alternatives``) and of the toolchain directories the harness names,
  a private ``/tmp`` of at most 2 GiB, and the per-run work dir — the only writable place,
  at its own path;
- **uid 65534 (nobody)**, no capabilities, ``no_new_privs``: when PerfOrch runs as root, bwrap
  runs privileged and ``setpriv`` drops to nobody inside (so ``RLIMIT_NPROC`` applies — the kernel
  ignores it for root); otherwise bwrap maps nobody in a user namespace that cannot nest
  (``--disable-userns``);
- a **seccomp** allow-list (``profiler.seccomp``): the calls the runtimes need, by family;
  EPERM for ptrace, process_vm_*, bpf, perf_event_open, keyring and kernel-module calls,
  mount/pivot_root/unshare/setns and the new mount API, swap, reboot, acct, userfaultfd,
  io_uring, pidfd_getfd, kcmp, file handles, clone with CLONE_NEWUSER (clone3 answers ENOSYS,
  so the C library falls back to clone, whose flags seccomp can read); ENOSYS for the rest;
- a ceiling on the resident memory of all the run's processes together (polled every 0.2 s;
  half the machine unless set), since the address-space limit below is per process;
- a ceiling on what the run writes to the host's disk, through the work dir and the writable
  binds (bytes and files; ``RLIMIT_FSIZE`` caps one file, not how many): the free space and
  inodes of their filesystems are read every 0.2 s (``statvfs``, no cost), and when they fell
  by more than the ceiling the run's directories are counted (what changed since it started)
  and the run is killed if it was them;
- rlimits, set by ``prlimit`` in front of bwrap: CPU seconds (SIGXCPU first), address space,
  file size (an output flood stops), open files, processes (a fork bomb stops; without root
  the kernel counts the user's own tasks too, so the limit is their count now plus the
  allowance), no core dumps;
- a new session and a wall-clock timeout that kills the whole process group; bwrap's
  ``--die-with-parent`` and the PID namespace take every descendant down with it;
- a cleared environment; stdout/stderr go to files in the work dir, only their tails come back.

``PERFORCH_SANDBOX=none`` turns the namespace layer off (rlimits and timeouts stay) for machines
without bubblewrap; without it, a missing ``bwrap`` is an error, never a silent downgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from perforch_core.errors import SandboxError

from . import seccomp
from .ceilings import DiskWatch, gone, kill_group, kill_tree, process_tree, watch

OUTPUT_TAIL = 8 * 1024


@dataclass(frozen=True)
class Limits:
    wall_s: float = 30.0
    # None: no RLIMIT_CPU. Measuring runs need that: under RLIMIT_CPU this kernel serves the
    # process CPU clock at 4 ms tick resolution. Their wall-clock limit still ends them (and
    # bounds their CPU time to cores × wall).
    cpu_s: int | None = 60
    address_space_mb: int = 4096
    file_size_mb: int = 16
    open_files: int = 256
    processes: int = 256  # threads count too (a JVM starts ~20)
    # All of the candidate's processes together (resident memory, polled): the address-space
    # limit is per process, and a few forked children could otherwise take the whole machine.
    # None: half of this machine's memory.
    total_memory_mb: int | None = None
    # What the run may add to the host's disk through its work dir and writable binds.
    disk_mb: int = 2048
    disk_files: int = 100_000
    # Bytes of POSIX message queues (None: the system's). 0 in a shared sandbox: a queue
    # outlives its process and cannot be listed to be removed.
    message_queue_bytes: int | None = None


@dataclass
class RunResult:
    returncode: int | None
    timed_out: bool
    wall_s: float
    stdout_tail: str
    stderr_tail: str
    signal_name: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    memory_exceeded_mb: int | None = None  # the ceiling its processes together went past
    disk_exceeded: str | None = None  # "more than 2048 MiB" / "more than 100,000 files"

    @property
    def crashed_reason(self) -> str | None:
        if self.memory_exceeded_mb is not None:
            return f"used more than {self.memory_exceeded_mb} MiB across its processes (killed)"
        if self.disk_exceeded is not None:
            return f"wrote {self.disk_exceeded} to its work dir (killed)"
        if self.timed_out:
            return f"timed out after {self.wall_s:.1f} s (killed)"
        if self.signal_name and self.signal_name != "SIGABRT":  # abort(): its stderr says why
            return {
                "SIGXCPU": "used up its CPU-time limit (killed)",
                "SIGXFSZ": "wrote more output than allowed (killed)",
                "SIGKILL": "was killed (memory or time limit)",
                "SIGSEGV": "crashed (segmentation fault; stack overflow?)",
            }.get(self.signal_name, f"was killed by {self.signal_name}")
        return None


NOBODY = 65534
TMP_MB = 2048  # the private /tmp's size (a tmpfs: memory, used only as it fills)
SYSTEM_BINDS = (
    "/usr",
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
)


@contextlib.contextmanager
def workdir(prefix: str = "perforch-") -> Iterator[Path]:
    """A fresh scratch directory the sandboxed uid may write to; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        path = Path(tmp)
        if os.geteuid() == 0:
            os.chown(path, NOBODY, NOBODY)
        yield path


@functools.cache
def sandbox_mode() -> str:
    mode = os.environ.get("PERFORCH_SANDBOX", "bwrap")
    if mode not in ("bwrap", "none"):
        raise SandboxError(f"PERFORCH_SANDBOX={mode!r}: use 'bwrap' (default) or 'none'")
    if mode == "bwrap" and shutil.which("bwrap") is None:
        raise SandboxError(
            "bubblewrap (bwrap) is not installed: candidates cannot be isolated",
            hint="run scripts/setup.sh (it installs the Debian package), or set "
            "PERFORCH_SANDBOX=none to run without namespaces (unsafe)",
        )
    if shutil.which("prlimit") is None:
        raise SandboxError(
            "prlimit (util-linux) is not installed: candidates' resource limits cannot be set",
            hint="install the Debian package util-linux",
        )
    return mode


def _ancestors(paths: Sequence[str]) -> list[str]:
    """Every directory above ``paths`` (outermost first), except "/", /usr (bound itself) and
    /tmp (the private tmpfs, which must stay 1777)."""
    out: list[str] = []
    for path in paths:
        for parent in reversed(Path(path).parents[:-1]):
            name = str(parent)
            if name not in out and name not in ("/usr", "/tmp"):
                out.append(name)
    return out


def wrap(
    argv: Sequence[str],
    cwd: Path,
    ro_binds: Sequence[str | Path] = (),
    env: Mapping[str, str] | None = None,
    seccomp_fd: int | None = None,
    mount_at: str | None = None,
    rw_binds: Sequence[tuple[str | Path, str]] = (),
) -> list[str]:
    """``argv`` wrapped in bubblewrap (or unchanged when the sandbox is off). ``env`` is the
    whole environment inside: bwrap starts from an empty one (``--clearenv`` comes first).
    ``mount_at``: where the work dir appears inside (default: its own path); ``rw_binds``:
    (host directory, path inside) pairs the command may write to (a project's build cache)."""
    if sandbox_mode() == "none":
        return list(argv)
    cmd = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ]
    for key, value in (env or {}).items():
        cmd += ["--setenv", key, value]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    root = os.geteuid() == 0
    if not root:
        cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY), "--cap-drop", "ALL"]
        # No user namespace inside this one (where privilege would come back), besides the
        # seccomp rule on CLONE_NEWUSER: the kernel's own limit, set by bwrap.
        cmd += ["--disable-userns"]
    for link, target in (
        ("/bin", "usr/bin"),
        ("/sbin", "usr/sbin"),
        ("/lib", "usr/lib"),
        ("/lib64", "usr/lib64"),
    ):
        if os.path.islink(link):
            cmd += ["--symlink", target, link]
        elif os.path.isdir(link):
            cmd += ["--ro-bind", link, link]
    # /proc, /dev and the private /tmp first: binds below come on top of them (a toolchain or
    # virtualenv may itself live under /tmp).
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777"]
    cmd += ["--size", str(TMP_MB << 20), "--tmpfs", "/tmp"]  # a /tmp fill stops at ENOSPC
    # bwrap creates a bind's missing parents 0700 (and /root keeps the host's 0700), which
    # would hide a toolchain under /root, or a work dir under a $TMPDIR such as /tmp/user-1,
    # from nobody: create them 0755 first.
    inside = mount_at or str(cwd)
    rw_inside = [dest for _, dest in rw_binds]
    for parent in _ancestors([*SYSTEM_BINDS, *(str(p) for p in ro_binds), inside, *rw_inside]):
        cmd += ["--perms", "0755", "--dir", parent]
    for path in (*SYSTEM_BINDS, *(str(p) for p in ro_binds)):
        cmd += ["--ro-bind-try", path, path]
    cmd += ["--bind", str(cwd), inside]
    for host, dest in rw_binds:
        cmd += ["--bind", str(host), dest]
    cmd += ["--chdir", inside]
    if root:
        cmd += [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]
    return cmd + list(argv)


def limits_argv(limits: Limits) -> list[str]:
    """``prlimit`` setting ``limits`` on the command it then executes. Not a ``preexec_fn``:
    that makes Python fork the whole daemon (~13 ms at 150 MB resident, every run) where
    without it the child is spawned with vfork (~1 ms). A limit above what this user may set
    is lowered to the hard limit it has."""
    wanted: list[tuple[str, int, int, int]] = [
        ("--as", resource.RLIMIT_AS, limits.address_space_mb << 20, limits.address_space_mb << 20),
        ("--fsize", resource.RLIMIT_FSIZE, limits.file_size_mb << 20, limits.file_size_mb << 20),
        ("--nofile", resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        ("--core", resource.RLIMIT_CORE, 0, 0),
    ]
    if limits.message_queue_bytes is not None:
        q = limits.message_queue_bytes
        wanted.append(("--msgqueue", resource.RLIMIT_MSGQUEUE, q, q))
    if limits.cpu_s is not None:
        # Soft < hard for CPU: SIGXCPU first (reported clearly), SIGKILL a second later.
        wanted.append(("--cpu", resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + 1))
    root = os.geteuid() == 0
    if root and sandbox_mode() == "bwrap":
        # Counts processes per real uid: the candidate runs as nobody.
        wanted.append(("--nproc", resource.RLIMIT_NPROC, limits.processes, limits.processes))
    elif not root:
        # The kernel counts this user's tasks in every user namespace above the candidate's
        # too (measured: 30 of the user's processes elsewhere left a limit of 50 room for 17),
        # so the limit is what the user runs now plus the candidate's allowance.
        allowance = _tasks_of(os.getuid()) + limits.processes
        wanted.append(("--nproc", resource.RLIMIT_NPROC, allowance, allowance))
    argv = ["prlimit"]
    for flag, which, soft, hard in wanted:
        if not root:
            ceiling = resource.getrlimit(which)[1]
            if ceiling != resource.RLIM_INFINITY:
                soft, hard = min(soft, ceiling), min(hard, ceiling)
        argv.append(f"{flag}={soft}:{hard}")
    return [*argv, "--"]


def processes_of(uid: int, live_only: bool = False) -> dict[int, int]:
    """The processes running as real uid ``uid``: pid → thread count (zombies too, unless
    ``live_only``: until reaped, a zombie still counts against RLIMIT_NPROC)."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields["Uid"].split()[0]) != uid:
                continue
            if live_only and fields["State"].strip().startswith("Z"):
                continue
            found[int(status.parent.name)] = int(fields["Threads"])
        except (OSError, KeyError, ValueError):  # gone meanwhile, or unreadable
            continue
    return found


def _tasks_of(uid: int) -> int:
    """How many tasks (threads count: RLIMIT_NPROC counts them) run as real uid ``uid``."""
    return sum(processes_of(uid).values())


def total_memory_ceiling_mb(limits: Limits) -> int:
    if limits.total_memory_mb is not None:
        return limits.total_memory_mb
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 / (1 << 20))


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


async def _spawn(
    argv: Sequence[str],
    cwd: Path,
    limits: Limits,
    env: Mapping[str, str] | None,
    ro_binds: Sequence[str | Path],
    stdin: int | IO[bytes],
    stdout: int | IO[bytes],
    stderr: int | IO[bytes],
    mount_at: str | None = None,
    rw_binds: Sequence[tuple[str | Path, str]] = (),
) -> asyncio.subprocess.Process:
    full_env = base_env(env)
    with contextlib.ExitStack() as stack:
        fds: tuple[int, ...] = ()
        if sandbox_mode() == "bwrap":  # bwrap reads the seccomp program from an inherited fd
            program = stack.enter_context(tempfile.TemporaryFile())
            program.write(seccomp.program())
            program.seek(0)
            fds = (program.fileno(),)
        command = wrap(argv, cwd, ro_binds, full_env, fds[0] if fds else None, mount_at, rw_binds)
        return await asyncio.create_subprocess_exec(
            *limits_argv(limits),
            *command,
            pass_fds=fds,
            cwd=cwd,
            env=full_env,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )


async def start_sandboxed(
    argv: Sequence[str],
    *,
    cwd: Path,
    limits: Limits,
    env: Mapping[str, str] | None = None,
    ro_binds: Sequence[str | Path] = (),
) -> asyncio.subprocess.Process:
    """Start a long-lived sandboxed service speaking over its stdin/stdout pipes (stderr goes to
    ``cwd/.stderr``); the caller stops it with :func:`kill_group`."""
    with (cwd / ".stderr").open("wb") as err:
        return await _spawn(
            argv, cwd, limits, env, ro_binds, asyncio.subprocess.PIPE, asyncio.subprocess.PIPE, err
        )


async def run_sandboxed(
    argv: Sequence[str],
    *,
    cwd: Path,
    limits: Limits,
    env: Mapping[str, str] | None = None,
    ro_binds: Sequence[str | Path] = (),
    mount_at: str | None = None,
    rw_binds: Sequence[tuple[str | Path, str]] = (),
) -> RunResult:
    """Run ``argv`` sandboxed in ``cwd`` under ``limits``; cancellation kills everything it
    started. ``ro_binds``: toolchain paths the command needs, visible read-only; ``mount_at``:
    a fixed path for the work dir inside (for runs that must not depend on its random name)."""
    out_path, err_path = cwd / ".stdout", cwd / ".stderr"
    disk = DiskWatch(
        [cwd, *(Path(host) for host, _ in rw_binds)], limits.disk_mb << 20, limits.disk_files
    )
    started = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = await _spawn(
            argv,
            cwd,
            limits,
            env,
            ro_binds,
            asyncio.subprocess.DEVNULL,
            out,
            err,
            mount_at,
            rw_binds,
        )
    timed_out = False
    tripped: list[str] = []
    killed: list[int] = []
    ceiling = total_memory_ceiling_mb(limits)
    watcher = asyncio.create_task(watch(proc.pid, ceiling, disk, tripped, killed), name="ceilings")
    try:
        await asyncio.wait_for(proc.wait(), timeout=limits.wall_s)
    except TimeoutError:
        timed_out = True
    except asyncio.CancelledError:
        kill_group(proc.pid)
        await proc.wait()
        raise
    finally:
        watcher.cancel()
        # Whatever happened, nothing the candidate started outlives the run.
        started_ones = process_tree(proc.pid) + killed
        kill_group(proc.pid)
        kill_tree(started_ones)
    rc = await proc.wait()
    await gone(started_ones)
    sig = None
    # bwrap exits 128 + N when the command inside was killed by signal N (as a shell does).
    number = -rc if rc < 0 else rc - 128 if rc > 128 and sandbox_mode() == "bwrap" else 0
    if number and not timed_out:
        with contextlib.suppress(ValueError):
            sig = signal.Signals(number).name
    return finished(
        rc, sig, timed_out, tripped, ceiling, time.perf_counter() - started, out_path, err_path
    )


def finished(
    rc: int | None,
    sig: str | None,
    timed_out: bool,
    tripped: list[str],
    ceiling_mb: int,
    wall_s: float,
    out: Path,
    err: Path,
) -> RunResult:
    """A run's result from how it ended, what ceiling it tripped (:func:`ceilings.watch`) and its
    output files' tails."""
    return RunResult(
        returncode=rc,
        timed_out=timed_out,
        wall_s=wall_s,
        stdout_tail=_tail(out),
        stderr_tail=_tail(err),
        signal_name="SIGKILL" if tripped else sig,
        memory_exceeded_mb=ceiling_mb if tripped == ["memory"] else None,
        disk_exceeded=tripped[0] if tripped and tripped != ["memory"] else None,
    )
