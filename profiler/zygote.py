"""Inside one sandbox, start each command it is sent as a fresh process, and leave nothing of it
behind for the next (``profiler.session`` runs it; standard library only: it is copied into the
sandbox and runs under the daemon's interpreter with ``-I -S``).

Its arguments: the daemon's PID namespace, then the paths that scratch directories may hold
and must keep (the session's directory, read-only binds). Each request on stdin: its length
(4 bytes, little-endian), then a dict (``marshal``, from the daemon only: ``argv``, ``cwd``,
``env``, ``out``, ``err``); each reply a line on stdout, ``<wait status> <1 if clean>``, once
the process has ended and, before the reply:

- every other process in the sandbox's PID namespace is killed (a process it left running) and
  gone — ``kill(-1)`` reaches only this namespace, and the zygote refuses to start outside a
  PID namespace of its own (argv[1]: the daemon's, to compare with);
- ``/tmp`` and ``/dev/shm`` are emptied, and System V shared memory, semaphores and message
  queues removed (POSIX message queues cannot be created: the session sets RLIMIT_MSGQUEUE 0);

so that a process can leave nothing for the next one of the same comparison to find (a cache
in a file would make every process after the first faster than the code is).
"""

import _signal
import marshal
import os
import sys
import time

SCRATCH = ("/tmp", "/dev/shm")
IPC_RMID = 0
# Signal numbers (the same on every Linux architecture PerfOrch runs on) and the built-in
# ``_signal``: importing ``signal``, ``json`` or ``shutil`` would double the supervisor's start
# (enum, re: ~30 ms).
SIGKILL, SIGPIPE, SIGXFSZ = 9, 13, 25
IGNORED_BY_PYTHON = (SIGPIPE, SIGXFSZ)  # a process exec'd from here would inherit that


def end_others(timeout_s: float = 5.0) -> bool:
    """SIGKILL every process of this namespace but init and this one; True once none is left."""
    try:
        os.kill(-1, SIGKILL)
    except (ProcessLookupError, PermissionError):
        return True
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(-1, 0)  # zombies count until init reaps them
        except (ProcessLookupError, PermissionError):
            return True
        time.sleep(0.001)
    return False


def empty(directory: str, keep: list[str]) -> bool:
    """Remove what ``directory`` holds, but not the paths in ``keep`` nor their ancestors (the
    session's own directory and read-only binds may live under /tmp); True if nothing else is
    left."""
    for _ in range(2):
        try:
            with os.scandir(directory) as entries:
                left = [e.path for e in entries if not kept(e.path, keep)]
        except OSError:
            return True
        if not left:
            return True
        for path in left:
            remove(path)
    return False


def kept(path: str, keep: list[str]) -> bool:
    return any(k == path or k.startswith(path + "/") for k in keep)


def remove(path: str) -> None:
    """``path`` and, for a directory, all below it (what cannot go stays: see :func:`empty`)."""
    try:
        if os.path.islink(path) or not os.path.isdir(path):
            os.unlink(path)
            return
        with os.scandir(path) as entries:
            children = [e.path for e in entries]
        for child in children:
            remove(child)
        os.rmdir(path)
    except (OSError, RecursionError):
        pass


def remove_sysv_ipc() -> None:
    """Remove the System V objects the namespace holds (listed in /proc/sysvipc)."""
    found = {}
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                found[kind] = [int(line.split()[1]) for line in fh.read().splitlines()[1:]]
        except (OSError, IndexError, ValueError):
            continue
    if not any(found.values()):
        return
    import ctypes  # only when there is something to remove

    libc = ctypes.CDLL(None, use_errno=True)
    for ident in found.get("shm", ()):
        libc.shmctl(ident, IPC_RMID, None)
    for ident in found.get("sem", ()):
        libc.semctl(ident, 0, IPC_RMID)
    for ident in found.get("msg", ()):
        libc.msgctl(ident, IPC_RMID, None)


def find(command: str, path: str) -> str:
    """``command`` looked up on the run's own PATH (as bwrap's execvp does), not the
    supervisor's."""
    if "/" in command:
        return command
    for directory in path.split(":"):
        candidate = os.path.join(directory or ".", command)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return command  # posix_spawn then says it does not exist


def run(argv: list[str], cwd: str, env: dict[str, str], out: str, err: str) -> int:
    """``argv`` as a new process in ``cwd``, in a session of its own, stdout/stderr to files:
    its wait status. fork and exec, not posix_spawn: glibc's posix_spawn leaves its two
    internal signals (32, 33) ignored in the program it starts, which a sandbox of its own
    does not."""
    pid = os.fork()
    if pid == 0:  # the child: nothing here may return into the supervisor's loop
        try:
            os.setsid()
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            for fd, path, mode in ((0, "/dev/null", os.O_RDONLY), (1, out, flags), (2, err, flags)):
                opened = os.open(path, mode, 0o644)
                os.dup2(opened, fd)
                os.close(opened)
            for signum in IGNORED_BY_PYTHON:
                _signal.signal(signum, _signal.SIG_DFL)
            os.chdir(cwd)
            os.execve(find(argv[0], env.get("PATH", "")), argv, env)
        except BaseException as exc:
            os.write(2, f"perforch: cannot start {argv[0]}: {exc}\n".encode())
        os._exit(127)  # what a shell reports for a command it cannot run
    _, status = os.waitpid(pid, 0)
    return status


def main() -> int:
    own = os.readlink("/proc/self/ns/pid")
    if len(sys.argv) < 3 or own == sys.argv[1]:
        sys.stderr.write("zygote: not in a PID namespace of its own; refusing to start\n")
        return 2
    keep = sys.argv[2:]
    requests, reply = sys.stdin.buffer, sys.stdout
    reply.write("ready\n")
    reply.flush()
    while size := int.from_bytes(requests.read(4), "little"):
        status = run(**marshal.loads(requests.read(size)))
        clean = end_others()
        clean = all([empty(directory, keep) for directory in SCRATCH]) and clean
        remove_sysv_ipc()
        reply.write(f"{status} {int(clean)}\n")
        reply.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
