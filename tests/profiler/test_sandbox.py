"""Hostile candidates against the real sandbox: each attack is contained and reported, nothing
outside the work dir changes, and the daemon serves the next request.

The candidate function performs the attack and returns "blocked" when the sandbox stopped it;
``check`` asserts that, so a passing test run means "contained".
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from perforch_core.models import Language, Task, TestSpec
from profiler.client import ProfilerClient
from profiler.harness.compiled import Recipe, build
from profiler.sandbox import NOBODY, Limits, run_sandboxed, workdir

CHECK = "def check(f):\n    result = f()\n    assert result == 'blocked', result\n"


def task() -> Task:
    return Task(
        id="t::attack",
        language=Language.PYTHON,
        entry_point="attack",
        module="mod",
        signature="def attack():",
        tests=TestSpec(kind="check", source=CHECK, origin="t"),
    )


def attack(body: str) -> str:
    return "def attack():\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())


@pytest.fixture
async def client():
    c = ProfilerClient(test_timeout_s=15)
    await c.start()
    yield c
    await c.aclose()


async def assert_contained(client: ProfilerClient, body: str) -> None:
    outcome = await client.run_tests(task(), attack(body))
    assert outcome.passed, outcome.failure_report() or outcome.error
    ok = await client.run_tests(task(), attack("return 'blocked'"))
    assert ok.passed  # the daemon still serves


async def test_candidates_run_as_nobody_without_capabilities(client: ProfilerClient):
    await assert_contained(
        client,
        """
import os
if os.getuid() != 65534 or os.geteuid() != 65534:
    return f'uid {os.getuid()}'
caps = [l for l in open('/proc/self/status') if l.startswith('CapEff')][0]
return 'blocked' if caps.split()[1].strip('0') == '' else caps
""",
    )


async def test_reading_a_canary_file_outside_the_work_dir_fails(client: ProfilerClient):
    secret = uuid.uuid4().hex
    canary = Path("/tmp") / f"perforch-canary-{secret[:8]}"
    canary.write_text(secret)
    try:
        outcome = await client.run_tests(
            task(),
            attack(f"""
leaked = []
paths = [{str(canary)!r}, '/root/.bash_history', '/etc/shadow']
paths.append({str(Path.cwd() / "README.md")!r})
for path in paths:
    try:
        leaked.append(open(path).read()[:40])
    except OSError:
        pass
return 'blocked' if not leaked else 'LEAKED ' + repr(leaked)
"""),
        )
        assert outcome.passed, outcome.failure_report()
        assert secret not in outcome.failure_report() + outcome.stdout_tail + outcome.stderr_tail
    finally:
        canary.unlink()


async def test_writing_outside_the_work_dir_changes_nothing(client: ProfilerClient, tmp_path: Path):
    target = tmp_path / "victim.txt"
    target.write_text("original")
    host_tmp = Path("/tmp") / f"perforch-written-{uuid.uuid4().hex[:8]}"
    await assert_contained(
        client,
        f"""
wrote = []
paths = [{str(target)!r}, {str(host_tmp)!r}]
paths += ['/usr/perforch-x', '/etc/perforch-x', '/perforch-x']
for path in paths:
    try:
        with open(path, 'w') as fh:
            fh.write('pwned')
        wrote.append(path)
    except OSError:
        pass
# /tmp inside is private: writing there is allowed but must not reach the host.
return 'blocked' if wrote in ([], [{str(host_tmp)!r}]) else 'WROTE ' + repr(wrote)
""",
    )
    assert target.read_text() == "original"
    assert not host_tmp.exists()
    assert not Path("/perforch-x").exists() and not Path("/usr/perforch-x").exists()


async def test_no_network_even_to_a_loopback_listener_the_test_starts(client: ProfilerClient):
    connections = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await assert_contained(
            client,
            f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()
    return 'CONNECTED'
except OSError:
    return 'blocked'
""",
        )
    finally:
        server.close()
        await server.wait_closed()
    assert connections == []


async def test_a_fork_bomb_hits_the_process_limit_and_leaves_nothing_behind(client: ProfilerClient):
    await assert_contained(
        client,
        """
import os, time
children = 0
try:
    while children < 5000:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError:
    return 'blocked'
return f'forked {children} processes'
""",
    )
    await asyncio.sleep(0.5)
    pgrep = await asyncio.create_subprocess_exec(
        "pgrep", "-u", "65534", stdout=asyncio.subprocess.PIPE
    )
    left = (await pgrep.communicate())[0].decode()
    assert left.strip() == "", f"processes left as nobody: {left}"


async def test_a_work_dir_under_a_private_tmpdir_is_reachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A $TMPDIR below /tmp (code-server, systemd, HPC schedulers set one) puts the work dir
    in directories the sandbox must recreate traversable for nobody."""
    private = tmp_path / "user-tmp"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("TMPDIR", str(private))
    async with ProfilerClient(test_timeout_s=15) as c:
        outcome = await c.run_tests(task(), attack("return 'blocked'"))
    assert outcome.passed, outcome.error


async def test_an_import_time_hang_is_killed_by_the_wall_clock():
    c = ProfilerClient(test_timeout_s=2)
    async with c:
        outcome = await c.run_tests(task(), "while True:\n    pass\n" + attack("return 1"))
        assert not outcome.passed and outcome.timed_out
        assert "timed out" in (outcome.error or "")


async def test_a_compile_time_bomb_is_contained(client: ProfilerClient):
    """The compiler reads untrusted input too: an endless #include is stopped by the build's
    limits, reported as a failed build, and the next request is served."""
    from perforch_core import benchmarks

    record = next(r for r in benchmarks.records(Language.CPP) if r.number == 0)
    task_ = benchmarks.task(record)
    outcome = await client.run_tests(task_, '#include "/dev/zero"\n' + (task_.current_code or ""))
    assert not outcome.passed
    assert "the build failed" in (outcome.error or "")
    assert (await client.run_tests(task_, task_.current_code or "")).passed


async def test_seccomp_denies_ptrace_namespaces_io_uring_and_the_mount_api(client: ProfilerClient):
    await assert_contained(
        client,
        """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
results = []
for name, call in [('ptrace', lambda: libc.ptrace(0, 0, 0, 0)),          # PTRACE_TRACEME
                   ('unshare', lambda: libc.unshare(0x00020000)),          # CLONE_NEWNS
                   ('userfaultfd', lambda: libc.syscall(323, 0)),
                   ('clone NEWUSER', lambda: libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)),
                   ('io_uring_setup', lambda: libc.syscall(425, 1, 0)),
                   ('fsopen', lambda: libc.syscall(430, b'tmpfs', 0)),
                   ('open_tree', lambda: libc.syscall(428, -100, b'/', 1)),
                   ('pidfd_getfd', lambda: libc.syscall(438, 0, 0, 0)),
                   ('kcmp', lambda: libc.syscall(312, 1, 1, 0, 0, 0))]:
    rc = call()
    results.append((name, rc, ctypes.get_errno()))
ok = all(rc == -1 and err == 1 for _, rc, err in results)  # EPERM
libc.syscall(435, 0, 0)  # clone3: not supported, so that the C library uses clone
clone3 = ctypes.get_errno()
import threading, subprocess  # threads and child processes still start (through clone)
t = threading.Thread(target=lambda: None); t.start(); t.join()
child = subprocess.run(['true']).returncode
ok = ok and clone3 == 38 and child == 0  # ENOSYS
return 'blocked' if ok else repr((results, clone3, child))
""",
    )


async def test_calls_outside_the_allow_list_answer_enosys(client: ProfilerClient):
    """Not denied one by one: allowed one by one. syslog(), quotactl() and personality() with
    READ_IMPLIES_EXEC are in no deny-list and in no runtime's needs: they answer ENOSYS, as on
    a kernel without them, while ordinary calls (files, threads, processes, sockets) and
    ``setarch -R``'s personality() work."""
    await assert_contained(
        client,
        """
import ctypes, os, socket, threading, subprocess
libc = ctypes.CDLL(None, use_errno=True)
results = []
for name, nr, args in [('personality', 135, (0x0400000,)), ('syslog', 103, (10, 0, 0)),
                       ('quotactl', 179, (0, 0, 0, 0))]:
    rc = libc.syscall(nr, *args)
    results.append((name, rc, ctypes.get_errno()))
ok = all(rc == -1 and err == 38 for _, rc, err in results)  # ENOSYS
results = []
for name, nr, args in [('personality query', 135, (0xffffffff,)),
                       ('ASLR off', 135, (0x0040000,))]:  # setarch -R, for valgrind's counts
    rc = libc.syscall(nr, *args)
    results.append((name, rc, ctypes.get_errno()))
ok = ok and all(rc != -1 for _, rc, err in results)
with open('f.txt', 'w') as fh:
    fh.write('x')
os.rename('f.txt', 'g.txt')
a, b = socket.socketpair()
a.send(b'y')
t = threading.Thread(target=lambda: None); t.start(); t.join()
ok = ok and b.recv(1) == b'y' and subprocess.run(['true']).returncode == 0
return 'blocked' if ok else repr(results)
""",
    )


async def test_the_limits_hold_inside_and_a_cpu_hog_gets_sigxcpu(tmp_path: Path):
    """The rlimits are set on the sandboxed command (by prlimit in front of bwrap): the shell
    inside sees them, and a busy loop past its CPU seconds is stopped by SIGXCPU, not by the
    wall clock."""
    limits = Limits(wall_s=20, cpu_s=1, address_space_mb=512, open_files=64)
    with workdir("perforch-limits-") as wd:
        seen = await run_sandboxed(
            ["sh", "-c", "ulimit -t; ulimit -v; ulimit -n; ulimit -c; ulimit -f"],
            cwd=wd,
            limits=limits,
        )
        assert seen.returncode == 0, seen.stderr_tail
        assert seen.stdout_tail.split() == ["1", str(512 * 1024), "64", "0", str(16 * 1024 * 2)]
        hog = await run_sandboxed(["sh", "-c", "while :; do :; done"], cwd=wd, limits=limits)
        assert hog.signal_name == "SIGXCPU" and not hog.timed_out, hog


async def test_the_private_tmp_fills_up_at_its_size_not_the_hosts_memory(tmp_path: Path):
    """Filling /tmp stops at the tmpfs's size with ENOSPC (before it, a /tmp fill was bounded
    only by memory); the work dir's files are bounded per file by RLIMIT_FSIZE."""
    from profiler import sandbox

    limits = Limits(wall_s=60, cpu_s=60, file_size_mb=4096)
    fill = f"dd if=/dev/zero of=/tmp/fill bs=1M count={sandbox.TMP_MB + 64} 2>&1; df -m /tmp"
    with workdir("perforch-tmpfill-") as wd:
        run = await run_sandboxed(["sh", "-c", fill], cwd=wd, limits=limits)
    out = run.stdout_tail + run.stderr_tail
    assert "No space left on device" in out, out


def test_without_root_the_process_limit_is_the_users_tasks_plus_the_allowance(
    monkeypatch: pytest.MonkeyPatch,
):
    """Unprivileged, RLIMIT_NPROC counts every task of the user (measured: 30 of the user's
    processes elsewhere left a limit of 50 room for 17), so a bare allowance would refuse a
    busy user's candidates and none would be no limit at all (before: none)."""
    from profiler import sandbox

    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sandbox.os, "getuid", lambda: 1000)
    monkeypatch.setattr(sandbox, "_tasks_of", lambda uid: 37 if uid == 1000 else 0)
    argv = sandbox.limits_argv(Limits(processes=256))
    nproc = [a for a in argv if a.startswith("--nproc=")]
    assert nproc == ["--nproc=293:293"], argv


async def test_the_runs_processes_together_are_held_to_the_memory_ceiling():
    """Three processes of 150 MiB each, each well inside its own address-space limit, pass a
    300 MiB ceiling together: the run is killed and says why (before, only the per-process
    limit held, and forked children could take the machine)."""
    limits = Limits(wall_s=60, cpu_s=60, total_memory_mb=300)
    hog = "import time; block = b'x' * (150 << 20); time.sleep(30)"
    script = f'for i in 1 2 3; do python3 -c "{hog}" & done; wait'
    with workdir("perforch-memory-") as wd:
        run = await run_sandboxed(["sh", "-c", script], cwd=wd, limits=limits)
    assert run.memory_exceeded_mb == 300 and not run.timed_out, run
    assert "more than 300 MiB across its processes" in (run.crashed_reason or "")


async def test_many_files_each_under_the_size_limit_are_held_to_the_disk_ceiling():
    """RLIMIT_FSIZE caps one file; 30 files of 15 MiB pass a 200 MiB ceiling on what the run
    writes to the host's disk: the run is killed and says why, long before its wall clock."""
    limits = Limits(wall_s=60, cpu_s=60, disk_mb=200)
    script = (
        "import time\nfor i in range(30):\n    open(f'f{i}', 'wb').write(b'x' * (15 << 20))\n"
        "time.sleep(60)\n"
    )
    with workdir("perforch-disk-") as wd:
        run = await run_sandboxed(["python3", "-c", script], cwd=wd, limits=limits)
    assert run.disk_exceeded == "more than 200 MiB" and not run.timed_out, run
    assert "wrote more than 200 MiB to its work dir" in (run.crashed_reason or "")


async def test_a_file_count_flood_is_stopped_by_the_ceiling_not_the_clock():
    limits = Limits(wall_s=60, cpu_s=60, disk_files=2000)
    script = "import time\nfor i in range(20000):\n    open(str(i), 'w').close()\ntime.sleep(60)"
    with workdir("perforch-files-") as wd:
        run = await run_sandboxed(["python3", "-c", script], cwd=wd, limits=limits)
    assert run.disk_exceeded == "more than 2,000 files" and not run.timed_out, run
    assert run.wall_s < 30


async def test_writes_outside_the_run_are_not_held_against_it(tmp_path):
    """The free-space trigger sees the whole filesystem; the count that decides sees only what
    the run changed: another writer on the same disk does not get a run killed."""
    limits = Limits(wall_s=60, cpu_s=60, disk_mb=20)
    with workdir("perforch-quiet-") as wd:
        runner = asyncio.create_task(
            run_sandboxed(["sh", "-c", "sleep 1.5; echo done"], cwd=wd, limits=limits)
        )
        await asyncio.sleep(0.3)
        (tmp_path / "big").write_bytes(b"y" * (60 << 20))  # beside it, on the same disk
        run = await runner
    assert run.disk_exceeded is None and run.returncode == 0, run


async def test_a_build_adds_to_the_warm_cache_it_is_given_but_cannot_alter_it(tmp_path):
    """The Go harness builds on a linked copy of a warm build cache. A build that runs code
    (here the build command itself) overwrites, appends to, re-permits and removes the linked
    entries: the warm cache is unchanged, and the build can still add entries of its own."""
    warm = tmp_path / "warm"
    (warm / "ab").mkdir(parents=True)
    entry = warm / "ab" / "entry-d"
    entry.write_text("good")
    if os.geteuid() == 0:  # as without root: the candidate's uid owns the cache's files
        for path in (warm, warm / "ab", entry):
            os.chown(path, NOBODY, NOBODY)
    tamper = (
        "echo bad > cache/ab/entry-d; echo bad >> cache/ab/entry-d; chmod 666 cache/ab/entry-d;"
        " echo bad > cache/ab/entry-d; truncate -s 0 cache/ab/entry-d;"
        " echo own > cache/ab/new-d && cp cache/ab/new-d out.bin"
    )
    recipe = Recipe(
        files={"src/x.txt": uuid.uuid4().hex},  # a build of its own, never a cached one
        compile=["sh", "-c", tamper],
        artifact="out.bin",
        run=["true"],
        key="warm-cache test",
        linked_dirs={"cache": warm},
    )
    built = await build(Language.GO, recipe)
    assert built.path is not None and built.path.read_text() == "own\n", built.error
    assert entry.read_text() == "good" and oct(entry.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in (warm / "ab").iterdir()) == ["entry-d"]


def test_another_writer_on_the_disk_costs_a_walk_per_ceiling_not_one_per_poll(
    tmp_path, monkeypatch
):
    from profiler import ceilings

    free = [10_000 << 20]
    monkeypatch.setattr(ceilings, "_free", lambda path: (free[0], 1_000_000))
    watch = ceilings.DiskWatch([tmp_path, tmp_path / "."], max_bytes=100 << 20, max_files=1000)
    walks = []
    walk = watch.written
    monkeypatch.setattr(watch, "written", lambda: walks.append(1) or walk())
    for _ in range(50):  # someone else writes 10 MiB per poll beside the run: 500 MiB
        free[0] -= 10 << 20
        assert watch.exceeded() is None
    # the same filesystem named twice counts once; a walk at 110, 220, 330 and 440 MiB
    assert len(walks) == 4
