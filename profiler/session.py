"""Fresh processes without a fresh sandbox each: one sandbox per comparison, a new process per run.

A comparison measures 6–12 fresh processes. Starting each in its own sandbox (prlimit, bwrap's
namespaces and mounts, setpriv) cost ~13 ms a process on this machine, a third of what a C++
measuring process costs in all. Inside :func:`fresh_processes`, a run in a :func:`fresh_dir`
(:func:`run_in`) is sent to a small supervisor (``profiler/zygote.py``) started once in a
sandbox with the same layers as :func:`profiler.sandbox.run_sandboxed` and the same limits; it
starts the command as a new process (a new exec: fresh memory, address-space layout and
runtime) and, before it answers, kills whatever the run left running and empties what it could
have written for the next (``/tmp``, ``/dev/shm``, System V IPC; POSIX message queues cannot be
made); the run's directory is then removed. Per run, as before: the wall clock (a run past it
ends the whole session; the next run starts a new one) and the ceilings on the resident memory
of all its processes and on the disk. Outside such a scope, and without bubblewrap, each run
gets a sandbox of its own. The daemon keeps its sessions from one comparison to the next (a
session costs ~30 ms to start, as much as two processes' own sandboxes) and closes one unused
for ``IDLE_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import marshal
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from perforch_core.errors import SandboxError

from .ceilings import DiskWatch, gone, kill_group, kill_tree, process_tree, watch
from .harness import python_exe
from .sandbox import (
    NOBODY,
    Limits,
    RunResult,
    _spawn,
    _tail,
    base_env,
    finished,
    run_sandboxed,
    sandbox_mode,
    total_memory_ceiling_mb,
    workdir,
)

ZYGOTE = "zygote.py"  # in the scope's directory, beside the supervisors' stderr files
START_S = 30.0  # the supervisor is up within this (a Python start: ~20 ms)
# A kept session unused this long is closed when the next scope opens (a job's comparisons are
# a model call or two apart: 30-60 s with the local models).
IDLE_S = 300.0


@dataclass
class Session:
    """One sandbox with a supervisor, for runs under the same limits and read-only binds, in
    directories of the scope's directory ``root``."""

    proc: asyncio.subprocess.Process
    root: Path
    stderr: Path
    dead: bool = False
    used: float = field(default_factory=time.monotonic)  # when its last run ended
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # one run at a time

    @classmethod
    async def start(cls, root: Path, limits: Limits, ro_binds: Sequence[str | Path]) -> Session:
        if not (root / ZYGOTE).exists():
            source = resources.files("profiler").joinpath(ZYGOTE).read_text()
            (root / ZYGOTE).write_text(source)
        exe = python_exe.resolve()
        binds = [*(str(b) for b in ro_binds), *python_exe.binds(exe)]
        own_ns = os.readlink("/proc/self/ns/pid")
        fd, name = tempfile.mkstemp(prefix=".zygote-", suffix=".stderr", dir=root)
        stderr = Path(name)
        with os.fdopen(fd, "wb") as err:
            proc = await _spawn(
                [exe, "-I", "-S", str(root / ZYGOTE), own_ns, str(root), *binds],
                root,
                replace(limits, message_queue_bytes=0),
                None,
                binds,
                asyncio.subprocess.PIPE,
                asyncio.subprocess.PIPE,
                err,
            )
        session = cls(proc, root, stderr)
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), START_S)
        except BaseException:
            await session.close()
            raise
        if line != b"ready\n":
            await session.close()
            raise SandboxError(
                "the sandbox's process supervisor did not start: "
                + (_tail(stderr) or "no output")[-500:]
            )
        return session

    async def run(
        self, wd: Path, argv: Sequence[str], limits: Limits, env: Mapping[str, str] | None
    ) -> RunResult:
        """``argv`` as a fresh process in ``wd`` (a directory of the scope's)."""
        async with self.turn:
            try:
                return await self._run(wd, argv, limits, env)
            finally:
                self.used = time.monotonic()

    async def _run(
        self, wd: Path, argv: Sequence[str], limits: Limits, env: Mapping[str, str] | None
    ) -> RunResult:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        out, err = wd / ".stdout", wd / ".stderr"
        request = {"argv": list(argv), "cwd": str(wd), "env": base_env(env)}
        request |= {"out": str(out), "err": str(err)}
        message = marshal.dumps(request)
        disk = DiskWatch([self.root], limits.disk_mb << 20, limits.disk_files)
        tripped: list[str] = []
        killed: list[int] = []
        ceiling = total_memory_ceiling_mb(limits)
        watcher = asyncio.create_task(
            watch(self.proc.pid, ceiling, disk, tripped, killed), name="ceilings"
        )
        started = time.perf_counter()
        timed_out = False
        reply = b""
        try:
            self.proc.stdin.write(len(message).to_bytes(4, "little") + message)
            await self.proc.stdin.drain()
            reply = await asyncio.wait_for(self.proc.stdout.readline(), limits.wall_s)
        except TimeoutError:
            timed_out = True
        except (ConnectionError, ValueError):
            pass  # the supervisor was killed (a ceiling), or a line past the reader's limit
        except asyncio.CancelledError:
            await self.close()
            raise
        finally:
            watcher.cancel()
        wall_s = time.perf_counter() - started
        status: int | None = None
        answer = reply.split()
        if len(answer) == 2 and all(word.isdigit() for word in answer):
            status = int(answer[0])
            if answer[1] != b"1":
                self.dead = True  # what it could not end or remove: no later run may share it
        else:
            # No answer (a ceiling killed it), or not the supervisor's (the candidate shares its
            # uid and could write to its pipe): the run failed, and the sandbox is not reused.
            self.dead = True
        result = self._result(status, timed_out, tripped, ceiling, wall_s, out, err)
        if self.dead:
            await self.close()
        return result

    @staticmethod
    def _result(
        status: int | None,
        timed_out: bool,
        tripped: list[str],
        ceiling: int,
        wall_s: float,
        out: Path,
        err: Path,
    ) -> RunResult:
        """The run as :func:`run_sandboxed` reports it (a signal as 128 + N, as bwrap does)."""
        rc: int | None = None
        sig = None
        if status is not None:
            rc = os.waitstatus_to_exitcode(status)
            if rc < 0:
                with contextlib.suppress(ValueError):
                    sig = signal.Signals(-rc).name
                rc = 128 - rc
        elif not timed_out:
            rc, sig = 128 + signal.SIGKILL, "SIGKILL"
        return finished(rc, sig, timed_out, tripped, ceiling, wall_s, out, err)

    async def close(self) -> None:
        """End the supervisor and everything in its sandbox (the scope removes the
        directories). A live one is asked first (its stdin closes), and ends at once."""
        if not self.dead and self.proc.stdin is not None:
            self.dead = True
            self.proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 1.0)
        self.dead = True
        started = process_tree(self.proc.pid)
        kill_group(self.proc.pid)
        kill_tree(started)
        await self.proc.wait()
        await gone(started)


@dataclass
class Sessions:
    """A scope's sessions, by what they share (rlimits, read-only binds), and its directory:
    owned by the daemon (nobody may not write in it when the daemon is root), holding one
    fresh directory per run, the candidate's to write in."""

    open: dict[tuple[object, ...], Session] = field(default_factory=dict)
    made: int = 0
    active: set[Path] = field(default_factory=set)  # run directories in use
    _root: Path | None = None

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="perforch-runs-"))
            self._root.chmod(0o755)
        return self._root

    async def expire(self, idle_s: float = IDLE_S) -> None:
        """Close the sessions no run used for ``idle_s``."""
        now = time.monotonic()
        for key, session in list(self.open.items()):
            if session.dead or (now - session.used > idle_s and not session.turn.locked()):
                del self.open[key]
                await session.close()

    async def get(self, limits: Limits, ro_binds: Sequence[str | Path]) -> Session:
        key = (replace(limits, wall_s=0.0), tuple(sorted(str(b) for b in ro_binds)))
        session = self.open.get(key)
        if session is None or session.dead:
            session = self.open[key] = await Session.start(self.root, limits, ro_binds)
        return session

    def new_dir(self) -> Path:
        self.made += 1
        wd = self.root / f"run-{self.made}"
        wd.mkdir()
        if os.geteuid() == 0:
            os.chown(wd, NOBODY, NOBODY)
        self.active.add(wd)
        return wd

    def clear(self, done: Path) -> None:
        """Remove the run directory ``done`` and whatever else a run left in the scope's
        directory (without root, the candidate's uid owns it too and could write beside its
        own), but not the directories of runs still going on."""
        self.active.discard(done)
        for entry in self.root.iterdir():
            if entry.name == ZYGOTE or entry.name.startswith(".zygote-") or entry in self.active:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    async def close(self) -> None:
        try:
            for session in self.open.values():
                if not session.dead:
                    await session.close()
        finally:
            self.open.clear()
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None


_SCOPE: contextvars.ContextVar[Sessions | None] = contextvars.ContextVar("sessions", default=None)


@contextlib.asynccontextmanager
async def fresh_processes(kept: Sessions | None = None) -> AsyncIterator[None]:
    """Within this, runs in a :func:`fresh_dir` share one sandbox per set of limits and
    binds; without bubblewrap, each still gets its own. ``kept``: sessions that outlive the
    scope (the daemon's, for all its comparisons; it closes them), else the scope's own,
    closed at its end. Inside another scope, that one goes on."""
    if sandbox_mode() != "bwrap" or _SCOPE.get() is not None:
        yield
        return
    sessions = kept or Sessions()
    if kept is not None:
        await kept.expire()
    token = _SCOPE.set(sessions)
    try:
        yield
    finally:
        _SCOPE.reset(token)
        if kept is None:
            await sessions.close()


@contextlib.asynccontextmanager
async def fresh_dir(prefix: str = "perforch-run-") -> AsyncIterator[Path]:
    """A fresh directory for one run (:func:`run_in`), removed afterwards: in the scope's
    directory inside :func:`fresh_processes`, else a work dir of its own."""
    sessions = _SCOPE.get()
    if sessions is None:
        with workdir(prefix) as wd:
            yield wd
        return
    wd = sessions.new_dir()
    try:
        yield wd
    finally:
        sessions.clear(wd)


async def run_in(
    wd: Path,
    argv: Sequence[str],
    *,
    limits: Limits,
    env: Mapping[str, str] | None = None,
    ro_binds: Sequence[str | Path] = (),
    mount_at: str | None = None,
) -> RunResult:
    """:func:`profiler.sandbox.run_sandboxed` in ``wd`` from :func:`fresh_dir`: as a fresh
    process of the scope's session when there is one (and no fixed ``mount_at``)."""
    sessions = _SCOPE.get()
    if sessions is None or wd.parent != sessions.root or mount_at is not None:
        return await run_sandboxed(
            argv, cwd=wd, limits=limits, env=env, ro_binds=ro_binds, mount_at=mount_at
        )
    session = await sessions.get(limits, ro_binds)
    return await session.run(wd, argv, limits, env)
