"""The system calls a sandboxed run may make: an allow-list, built into a BPF program with
libseccomp (through pyseccomp) once per daemon.

**Allowed** (``ALLOWED``): what the runtimes PerfOrch runs need — CPython and pytest, the JVM
with Maven and Gradle, Go's runtime and toolchain, rustc and Cargo, g++ and CMake, the test
binaries they build — by family: files and directories, memory, processes and threads (as the
candidate's own uid: ``setpriv`` drops to it inside the filter), signals, time, polling,
sockets (the network namespace is empty: only AF_UNIX pairs and loopback inside it work), System
V and POSIX IPC (a private IPC namespace); personality() only as ``setarch -R`` uses it. One
list for all of them, not one per runtime: a project's tests start other programs (a shell, a
compiler, a JVM from a Python test) whatever its language, so a run's language does not bound
what runs in it. The whole test suite in ``learn`` mode (below) made one call outside these
families: setarch's personality().

**Denied with EPERM** (``DENIED``): ptrace and other processes' memory, bpf, perf_event_open,
keyrings, kernel modules and kexec, mount, pivot_root, unshare, setns and the new mount API,
swap, reboot, acct, userfaultfd, io_uring (a way around seccomp for file and network I/O),
pidfd_getfd, kcmp, file handles (out of the mount namespace's view), and clone with
CLONE_NEWUSER (clone3 hides its flags from seccomp, so it answers ENOSYS and the C library
falls back to clone, whose flags seccomp can read, as container runtimes do).

**Everything else answers ENOSYS**, as a kernel without the call would: new calls a future
kernel adds are not allowed by default, and the C library falls back where it can.

``PERFORCH_SECCOMP``: ``allow-list`` (default); ``learn`` (calls outside the list are allowed
and logged by the kernel as ``audit: type=1326 … exe=… syscall=N``; ``python -m
profiler.seccomp`` lists them from ``dmesg`` by runtime, to extend the list); ``deny-list``
(only ``DENIED``: the policy before the allow-list, for a project that needs a call the list
lacks — say which, so it can be added).
"""

from __future__ import annotations

import errno
import functools
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

from perforch_core.errors import SandboxError

CLONE_NEWUSER = 0x10000000

DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "mount",
    "umount2",
    "pivot_root",
    "unshare",
    "setns",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "userfaultfd",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "pidfd_getfd",
    "kcmp",
    "open_by_handle_at",
    "name_to_handle_at",
)

ALLOWED = {
    "files": (
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
        "preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range",
        "lseek", "_llseek", "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "fcntl64", "flock",
        "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "truncate", "ftruncate",
        "fallocate", "fadvise64", "readahead", "sendfile", "sendfile64", "splice", "tee",
        "vmsplice", "copy_file_range", "ioctl", "stat", "fstat", "lstat", "newfstatat",
        "fstatat64", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2",
        "readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
        "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat",
        "symlink", "symlinkat", "unlink", "unlinkat", "chmod", "fchmod", "fchmodat",
        "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utime", "utimes", "utimensat",
        "futimesat", "umask", "mknod", "mknodat", "getxattr", "lgetxattr", "fgetxattr",
        "listxattr", "llistxattr", "flistxattr", "setxattr", "lsetxattr", "fsetxattr",
        "removexattr", "lremovexattr", "fremovexattr", "inotify_init", "inotify_init1",
        "inotify_add_watch", "inotify_rm_watch", "memfd_create",
    ),
    "memory": (
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mlock", "mlock2",
        "munlock", "mlockall", "munlockall", "mincore", "msync", "membarrier", "pkey_alloc",
        "pkey_free", "pkey_mprotect", "get_mempolicy", "remap_file_pages",
    ),
    "processes": (
        "clone", "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4",
        "waitid", "kill", "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid",
        "setpgid", "getpgrp", "getsid", "setsid", "getuid", "geteuid", "getgid", "getegid",
        "getgroups", "getresuid", "getresgid", "setuid", "setgid", "setreuid", "setregid",
        "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid", "capget", "capset",
        "prctl", "arch_prctl", "set_tid_address", "set_robust_list", "get_robust_list",
        "rseq", "getrlimit", "setrlimit", "prlimit64", "ugetrlimit", "getrusage",
        "getpriority", "setpriority", "sched_yield", "sched_getaffinity", "sched_setaffinity",
        "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
        "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
        "sched_getattr", "sched_setattr", "times", "uname", "sysinfo", "getrandom", "getcpu",
        "pidfd_open", "pidfd_send_signal", "ioprio_get", "ioprio_set", "restart_syscall",
    ),
    "signals": (
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
        "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigsuspend", "sigaltstack", "signalfd",
        "signalfd4", "sigreturn", "pause", "alarm",
    ),
    "time": (
        "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday",
        "time", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
        "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime",
        "timerfd_gettime",
    ),
    "waiting": (
        "futex", "futex_waitv", "poll", "ppoll", "select", "pselect6", "_newselect",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
        "epoll_pwait2", "eventfd", "eventfd2",
    ),
    "sockets": (
        "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
        "getsockname", "getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
        "recvmmsg", "shutdown", "setsockopt", "getsockopt",
    ),
    "ipc": (
        "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
        "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
        "mq_timedreceive", "mq_notify", "mq_getsetattr",
    ),
}  # fmt: skip

# personality() only as ``setarch -R`` uses it (valgrind's instruction counts run with ASLR
# off): the query, Linux's default, and ASLR off; never READ_IMPLIES_EXEC and the like, which
# turn off exploit mitigations. Seen in the learn run of the test suite (the one call the
# families above lacked).
PERSONAS = (0xFFFFFFFF, 0x0, 0x0040000)


def mode() -> str:
    value = os.environ.get("PERFORCH_SECCOMP", "allow-list")
    if value not in ("allow-list", "learn", "deny-list"):
        raise SandboxError(
            f"PERFORCH_SECCOMP={value!r}: use 'allow-list' (default), 'learn' or 'deny-list'"
        )
    return value


@functools.cache
def program(policy: str = "") -> bytes:
    """The policy (default: :func:`mode`'s) as a BPF program."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError) as exc:  # OSError: libseccomp itself is missing
        raise SandboxError(
            "seccomp is unavailable (pyseccomp / libseccomp2)", hint="run scripts/setup.sh"
        ) from exc
    policy = policy or mode()
    default = {"allow-list": sc.ERRNO(errno.ENOSYS), "learn": sc.LOG, "deny-list": sc.ALLOW}
    rules = sc.SyscallFilter(default[policy])
    known = _known(sc)
    for name in DENIED:
        if name in known:
            rules.add_rule(sc.ERRNO(errno.EPERM), name)
    rules.add_rule(
        sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)
    )
    if policy != "allow-list":  # there ENOSYS is the default (libseccomp refuses the rule)
        rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    if policy != "deny-list":
        for name in sorted({n for family in ALLOWED.values() for n in family} - {"clone"}):
            if name in known:
                rules.add_rule(sc.ALLOW, name)
        rules.add_rule(sc.ALLOW, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_NEWUSER, 0))
        for persona in PERSONAS:
            # the kernel reads an unsigned int: compare the low 32 bits only
            low = sc.Arg(0, sc.MASKED_EQ, 0xFFFFFFFF, persona)
            rules.add_rule(sc.ALLOW, "personality", low)
    with tempfile.TemporaryFile() as fh:
        rules.export_bpf(fh)
        fh.seek(0)
        return fh.read()


def _known(sc: object) -> set[str]:
    """The names this libseccomp knows (for this architecture or as a pseudo-call it ignores
    here): newer kernels' calls are left out on an older library rather than failing."""
    names = {n for family in ALLOWED.values() for n in family} | set(DENIED)
    return {n for n in names if sc.resolve_syscall(sc.Arch.NATIVE, n) != -1}  # type: ignore[attr-defined]


LOGGED = re.compile(r'type=1326 .*?exe="(?P<exe>[^"]*)".*? syscall=(?P<nr>\d+)')


def learned(log: str) -> dict[str, set[str]]:
    """From kernel log text: each call logged by ``learn`` mode, with the executables."""
    import pyseccomp as sc

    seen: dict[str, set[str]] = defaultdict(set)
    for m in LOGGED.finditer(log):
        name = sc.resolve_syscall(sc.Arch.NATIVE, int(m["nr"]))
        seen[name.decode() if isinstance(name, bytes) else str(name)].add(m["exe"])
    return dict(seen)


def main() -> int:
    log = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    for name, exes in sorted(learned(log).items()):
        print(f"{name}: {', '.join(sorted(exes))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
