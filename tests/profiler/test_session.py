"""One sandbox per comparison, a fresh process per run (``profiler.session``), against the real
bubblewrap: what one run leaves (a file in /tmp or /dev/shm, a process, System V IPC) is gone
before the next, the limits and ceilings hold per run, and a run past its clock ends the
session without taking the next run with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from profiler import session
from profiler.harness import python_exe
from profiler.sandbox import NOBODY, Limits, RunResult, sandbox_mode

pytestmark = pytest.mark.skipif(sandbox_mode() != "bwrap", reason="sessions need bubblewrap")

LIMITS = Limits(wall_s=30, cpu_s=None)
PY = python_exe.resolve()


async def run(argv: list[str], limits: Limits = LIMITS) -> RunResult:
    async with session.fresh_dir() as wd:
        return await session.run_in(wd, argv, limits=limits)


def py(code: str) -> list[str]:
    return [PY, "-I", "-c", code]


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the session supervisors started."""
    started: list[int] = []
    real = session.Session.start.__func__  # type: ignore[attr-defined]

    async def counting(cls, *args, **kwargs):
        s = await real(cls, *args, **kwargs)
        started.append(s.proc.pid)
        return s

    monkeypatch.setattr(session.Session, "start", classmethod(counting))
    return started


LEAVE = """
import ctypes, os, subprocess
open('/tmp/cache', 'w').write('42')
try:
    open('/dev/shm/cache', 'w').write('42')
except PermissionError:  # bwrap's /dev/shm, as root
    pass
os.mkdir('/tmp/dir'); open('/tmp/dir/deep', 'w').write('42')
libc = ctypes.CDLL(None)
assert libc.shmget(1234, 4096, 0o1600) >= 0
assert libc.semget(1235, 1, 0o1600) >= 0
p = subprocess.Popen(['sleep', '60'], start_new_session=True)
print(p.pid, os.getpid())
"""

FIND = """
import os, sys
pid = int(sys.argv[1])
found = [p for p in ('/tmp/cache', '/dev/shm/cache', '/tmp/dir') if os.path.exists(p)]
found += ['process'] if os.path.exists(f'/proc/{pid}') else []
for kind in ('shm', 'sem'):
    found += [kind] * (len(open(f'/proc/sysvipc/{kind}').read().splitlines()) - 1)
print(found, os.getpid(), os.getuid())
"""


async def test_what_one_run_leaves_is_gone_before_the_next_in_the_same_sandbox(starts):
    async with session.fresh_processes():
        first = await run(py(LEAVE))
        assert first.returncode == 0, first.stderr_tail
        sleeper, first_pid = first.stdout_tail.split()
        second = await run([PY, "-I", "-c", FIND, sleeper])
    assert second.returncode == 0, second.stderr_tail
    found, pid, uid = second.stdout_tail.rsplit(maxsplit=2)
    assert found == "[]", found  # no file, no process, no IPC object left
    assert pid != first_pid  # a new process (in the same PID namespace)
    assert len(starts) == 1  # one sandbox for both
    if os.geteuid() == 0:
        assert int(uid) == NOBODY


async def test_limits_hold_in_a_session_and_posix_message_queues_cannot_be_made():
    limits = Limits(wall_s=30, cpu_s=None, address_space_mb=512, open_files=64)
    async with session.fresh_processes():
        seen = await run(
            ["sh", "-c", "ulimit -v; ulimit -n; grep 'msgqueue' /proc/self/limits"], limits
        )
    assert seen.returncode == 0, seen.stderr_tail
    words = seen.stdout_tail.split()
    assert words[:2] == [str(512 * 1024), "64"], words
    assert words[-3:-1] == ["0", "0"], words  # Max msgqueue size: soft, hard


async def test_exit_codes_signals_and_a_missing_command_read_as_from_a_sandbox_of_its_own():
    async with session.fresh_processes():
        code = await run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        segv = await run(["sh", "-c", "kill -SEGV $$"])
        missing = await run(["./no-such-program"])
    assert (code.returncode, code.stdout_tail, code.stderr_tail) == (3, "out\n", "err\n")
    assert segv.returncode == 128 + 11 and segv.signal_name == "SIGSEGV", segv
    assert "segmentation fault" in (segv.crashed_reason or "")
    assert missing.returncode == 127 and "cannot start ./no-such-program" in missing.stderr_tail


async def test_a_run_past_its_clock_ends_the_session_and_the_next_run_gets_a_new_one(starts):
    async with session.fresh_processes():
        late = await run(["sleep", "30"], Limits(wall_s=1, cpu_s=None))
        after = await run(["sh", "-c", "echo fine"], Limits(wall_s=1, cpu_s=None))
    assert late.timed_out and "timed out" in (late.crashed_reason or ""), late
    assert after.returncode == 0 and after.stdout_tail == "fine\n", after
    assert len(starts) == 2 and not any(Path(f"/proc/{pid}").exists() for pid in starts)


async def test_the_memory_ceiling_holds_across_a_runs_processes_in_a_session(starts):
    limits = Limits(wall_s=60, cpu_s=None, total_memory_mb=300)
    hog = "import time; block = b'x' * (150 << 20); time.sleep(30)"
    script = f'for i in 1 2 3; do {PY} -c "{hog}" & done; wait'
    async with session.fresh_processes():
        over = await run(["sh", "-c", script], limits)
        after = await run(["sh", "-c", "echo fine"], limits)
    assert over.memory_exceeded_mb == 300 and not over.timed_out, over
    assert after.stdout_tail == "fine\n" and len(starts) == 2


async def test_outside_a_scope_each_run_gets_a_sandbox_of_its_own(starts):
    out = await run(["sh", "-c", "echo alone"])
    assert out.stdout_tail == "alone\n" and starts == []


def test_the_supervisor_refuses_to_run_in_the_daemons_own_pid_namespace():
    """``kill(-1)`` there would reach every process of its user on the machine."""
    zygote = Path(session.__file__).with_name(session.ZYGOTE)
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(zygote), os.readlink("/proc/self/ns/pid"), "/tmp"],
        input=b"",
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 2 and b"refusing" in done.stderr


async def test_a_bare_command_is_found_on_the_runs_own_path():
    """As bwrap's execvp would (the supervisor's own PATH is the sandbox's default)."""
    async with session.fresh_processes(), session.fresh_dir() as wd:
        tool = wd / "tool"
        tool.write_text("#!/bin/sh\necho found\n")
        tool.chmod(0o755)
        found = await session.run_in(wd, ["tool"], limits=LIMITS, env={"PATH": f"{wd}:/bin"})
    assert found.returncode == 0 and found.stdout_tail == "found\n", found


async def test_the_candidate_cannot_answer_for_the_supervisor(starts):
    """A run that writes a line to the supervisor's reply pipe: refused (as root, the supervisor
    is not the candidate's to open); where it gets through, the line is not a reply, so that run
    fails and its sandbox is retired. Either way the next run is answered in step."""
    async with session.fresh_processes():
        forged = await run(["sh", "-c", "echo not a reply > /proc/$PPID/fd/1; sleep 1"])
        after = await run(["sh", "-c", "echo fine"])
    assert after.returncode == 0 and after.stdout_tail == "fine\n", after
    if "Permission denied" in forged.stderr_tail:
        assert len(starts) == 1, forged  # (the shell goes on to its sleep: exit 0)
    else:
        assert forged.returncode != 0 and len(starts) == 2, forged


async def test_a_process_starts_with_the_signals_a_sandbox_of_its_own_gives_it():
    """No signal ignored or blocked (the supervisor's Python ignores SIGPIPE and SIGXFSZ, and
    glibc's posix_spawn would leave its internal signals 32 and 33 ignored)."""
    show = ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]  # (a shell blocks all as it forks)
    alone = await run(show)
    async with session.fresh_processes():
        shared = await run(show)
    assert shared.stdout_tail == alone.stdout_tail, (shared, alone)
    assert "SigIgn:\t0000000000000000" in shared.stdout_tail


async def test_kept_sessions_serve_one_scope_after_another_until_idle_or_closed(starts):
    """The daemon keeps its measuring sandboxes from one comparison to the next (a job makes
    several): a scope inside another goes on in it; an idle one is closed when the next scope
    opens; closing the kept sessions ends their supervisors."""
    kept = session.Sessions()
    try:
        for _ in range(2):
            async with session.fresh_processes(kept), session.fresh_processes():
                assert (await run(["true"])).returncode == 0
        assert len(starts) == 1  # one sandbox for both scopes (and the nested one)
        await kept.expire(idle_s=0.0)
        async with session.fresh_processes(kept):
            assert (await run(["true"])).returncode == 0
        assert len(starts) == 2 and not Path(f"/proc/{starts[0]}").exists()
    finally:
        await kept.close()
    assert not any(Path(f"/proc/{pid}").exists() for pid in starts)
    assert kept._root is None  # its directory is gone with it
