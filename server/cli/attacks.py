"""The adversarial benchmark's attacks: each a candidate function in the language it targets,
in the file layout a user's project has (the function's file and its test beside it:
``attack_files``), and how the sandbox must end it.

An attack function returns ``"blocked"`` when the sandbox stopped what it tried, and
``"escaped: …"`` saying what it got otherwise; its test asserts ``"blocked"``. Some attacks are
stopped from outside (a limit, the wall clock, a failed build); those name the way they must
end. Placeholders filled in per run: ``@CANARY@`` (a secret file outside the work dir),
``@OUTSIDE@`` (a host directory nothing may write to), ``@PORT@`` (a 127.0.0.1 listener the
benchmark holds), ``@HOSTPID@`` (the benchmark's own process).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from perforch_core.models import Language

Expect = Literal["blocked", "stopped", "not_passed"]


@dataclass(frozen=True)
class Attack:
    name: str
    language: Language
    what: str  # one line for the report
    body: str  # the attack function's body (Python) or whole function (others)
    expect: Expect = "blocked"  # stopped: a limit, the clock or the build ends it
    stopped_by: str = ""  # a regex the failure must match when expect is "stopped"
    imports: str = ""  # the file's head: imports, includes, helpers


def py(name: str, what: str, body: str, expect: Expect = "blocked", stopped_by: str = "") -> Attack:
    return Attack(name, Language.PYTHON, what, body, expect, stopped_by)


PY_LIBC = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"


def _syscall_py(name: str, what: str, call: str) -> Attack:
    """A raw system call that must answer EPERM (1) or ENOSYS (38)."""
    return py(
        name,
        what,
        f"{PY_LIBC}rc = {call}\n"
        "err = ctypes.get_errno()\n"
        "return 'blocked' if rc == -1 and err in (1, 38) else f'escaped: rc {rc}, errno {err}'",
    )


def _fill_py(name: str, where: str, path: str, gib: int) -> Attack:
    """Write ``gib`` GiB to ``path``, a MiB at a time."""
    return py(
        name,
        f"write {gib} GiB into {where}",
        f"""try:
    with open('{path}', 'wb') as fh:
        for _ in range({gib << 10}):
            fh.write(b'x' * (1 << 20))
except OSError:
    return 'blocked'
return 'escaped: wrote {gib} GiB to {path}'""",
    )


PYTHON = [
    py(
        "fork bomb",
        "os.fork() in a loop, each child sleeping",
        """import os, time
n = 0
try:
    while n < 100000:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError:
    return 'blocked'
return f'escaped: forked {n} processes'""",
    ),
    py(
        "memory bomb",
        "allocate 100 GB, 256 MiB at a time, touching every page",
        """chunks = []
try:
    for _ in range(400):
        chunks.append(bytearray(256 << 20))
except MemoryError:
    return 'blocked'
return f'escaped: held {len(chunks) * 256} MiB'""",
    ),
    py(
        "memory bomb across processes",
        "eight forked children each touching 3 GiB (within each one's address-space limit)",
        """import os, time
children = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(3 << 30)
            for i in range(0, len(block), 4096):
                block[i] = 1
        except MemoryError:
            os._exit(3)
        time.sleep(60)
        os._exit(0)
    children.append(pid)
time.sleep(30)
return 'escaped: 24 GiB held across processes'""",
        expect="stopped",
        stopped_by="across its processes",
    ),
    _fill_py("disk fill (work dir)", "the work dir", "fill.bin", 4),
    _fill_py("/tmp fill", "/tmp", "/tmp/fill.bin", 3),
    py(
        "file-count flood",
        "create 2 million empty files in the work dir",
        """import os
try:
    os.mkdir('many')
    for i in range(2_000_000):
        open(f'many/{i}', 'w').close()
except OSError:
    return 'blocked'
return 'escaped: 2 million files'""",
        expect="stopped",
        stopped_by="more than [\\d,]+ files to its work dir",
    ),
    py(
        "disk fill across files",
        "write 20 GiB into the work dir as files of 15 MiB (each under the file-size limit)",
        """i = 0
try:
    while i < 1400:
        with open(f'part{i}.bin', 'wb') as fh:
            fh.write(b'x' * (15 << 20))
        i += 1
except OSError:
    return 'blocked'
return f'escaped: wrote {i * 15} MiB'""",
        expect="stopped",
        stopped_by="more than \\d+ MiB to its work dir",
    ),
    py(
        "output flood",
        "print to stdout without end",
        """import sys
try:
    while True:
        sys.stdout.write('x' * 65536)
except OSError:
    return 'blocked'""",
        expect="stopped",
        stopped_by="timed out|blocked|more output|File too large|killed",
    ),
    py(
        "infinite loop",
        "a loop that never ends",
        "while True:\n    pass",
        expect="stopped",
        stopped_by="timed out|CPU-time",
    ),
    py(
        "thread flood",
        "start 100,000 threads",
        """import threading, time
threads = []
try:
    for _ in range(100000):
        t = threading.Thread(target=time.sleep, args=(30,), daemon=True)
        t.start()
        threads.append(t)
except (RuntimeError, MemoryError):
    return 'blocked'
return f'escaped: {len(threads)} threads'""",
    ),
    _syscall_py(
        "CLONE_NEWUSER escape",
        "clone(CLONE_NEWUSER) to regain capabilities in a new user namespace",
        "libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)",
    ),
    _syscall_py("unshare", "unshare(CLONE_NEWUSER | CLONE_NEWNS)", "libc.unshare(0x10020000)"),
    _syscall_py(
        "io_uring",
        "io_uring_setup: file and network I/O seccomp cannot see",
        "libc.syscall(425, 8, 0)",
    ),
    _syscall_py(
        "mount API", "fsopen('tmpfs') of the new mount API", "libc.syscall(430, b'tmpfs', 0)"
    ),
    _syscall_py("open_tree", "open_tree('/') to clone a mount", "libc.syscall(428, -100, b'/', 1)"),
    _syscall_py("bpf", "load a BPF program", "libc.syscall(321, 5, 0, 0)"),
    _syscall_py(
        "personality",
        "personality(READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE): turn off exploit mitigations "
        "(in no deny-list: refused by the allow-list)",
        "libc.syscall(135, 0x0400000 | 0x0040000)",
    ),
    _syscall_py(
        "perf_event_open", "open a performance counter", "libc.syscall(298, 0, 0, -1, -1, 0)"
    ),
    py(
        "ptrace a sibling",
        "fork a child and PTRACE_ATTACH to it",
        """import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
child = os.fork()
if child == 0:
    time.sleep(5)
    os._exit(0)
rc = libc.ptrace(16, child, 0, 0)
err = ctypes.get_errno()
os.kill(child, 9)
os.waitpid(child, 0)
return 'blocked' if rc == -1 else f'escaped: attached (rc {rc}, errno {err})'""",
    ),
    py(
        "read a canary",
        "read a secret file outside the work dir (an ~/.ssh key)",
        """try:
    secret = open('@CANARY@').read()
except OSError:
    return 'blocked'
return f'escaped: read {secret[:12]!r}'""",
    ),
    py(
        "write outside",
        "write into a host directory outside the work dir",
        """import os
try:
    with open('@OUTSIDE@/planted', 'w') as fh:
        fh.write('pwned')
except OSError:
    return 'blocked'
return 'escaped: wrote @OUTSIDE@/planted'""",
    ),
    py(
        "write the toolchain",
        "overwrite the interpreter's standard library (a read-only bind)",
        """import os
target = os.path.join(os.path.dirname(os.__file__), 'perforch_planted.py')
try:
    open(target, 'w').write('x = 1')
except OSError:
    return 'blocked'
return f'escaped: wrote {target}'""",
    ),
    py(
        "loopback connect",
        "connect to a 127.0.0.1 listener the benchmark holds",
        """import socket
try:
    socket.create_connection(('127.0.0.1', @PORT@), timeout=3).close()
except OSError:
    return 'blocked'
return 'escaped: connected to 127.0.0.1:@PORT@'""",
    ),
    py(
        "signal the host",
        "kill -0 the benchmark's own process",
        """import os
try:
    os.kill(@HOSTPID@, 0)
except OSError:
    return 'blocked'
return 'escaped: the host pid @HOSTPID@ is reachable'""",
    ),
    py(
        "become root",
        "setuid(0)",
        """import os
try:
    os.setuid(0)
except OSError:
    return 'blocked'
return f'escaped: uid {os.getuid()}'""",
    ),
    py(
        "exit before the tests",
        "os._exit(0) inside the function: the tests must not count as passed",
        "import os\nos._exit(0)",
        expect="not_passed",
    ),
]

CPP = [
    Attack(
        "template-recursion compiler bomb",
        Language.CPP,
        "a template instantiating itself twice per level, 100,000 levels deep",
        """template <int N> struct Boom {
    static constexpr long value = Boom<N - 1>::value + Boom<N - 1>::value + 1;
    char pad[Boom<N - 1>::value % 7 + 1];
};
template <> struct Boom<0> { static constexpr long value = 1; };

std::string attack() {
    return std::to_string(Boom<100000>::value);
}""",
        expect="stopped",
        stopped_by="build failed|timed out",
        imports="#include <string>\n",
    ),
    Attack(
        "fork bomb (C++)",
        Language.CPP,
        "fork() in a loop",
        """std::string attack() {
    for (int n = 0; n < 100000; n++) {
        pid_t pid = fork();
        if (pid == 0) { sleep(30); _exit(0); }
        if (pid < 0) return "blocked";
    }
    return "escaped: forked 100000";
}""",
        imports="#include <string>\n#include <unistd.h>\n",
    ),
    Attack(
        "memory bomb (C++)",
        Language.CPP,
        "malloc and touch 100 GB, 256 MiB at a time",
        """std::string attack() {
    for (int i = 0; i < 400; i++) {
        char* p = static_cast<char*>(malloc(256u << 20));
        if (p == nullptr) return "blocked";
        memset(p, 1, 256u << 20);
    }
    return "escaped: 100 GB";
}""",
        imports="#include <cstdlib>\n#include <cstring>\n#include <string>\n",
    ),
    Attack(
        "CLONE_NEWUSER (C++)",
        Language.CPP,
        "unshare(CLONE_NEWUSER) through the raw system call",
        """std::string attack() {
    long rc = syscall(SYS_unshare, 0x10000000);
    return rc == -1 ? "blocked" : "escaped: a new user namespace";
}""",
        imports="#include <string>\n#include <sys/syscall.h>\n#include <unistd.h>\n",
    ),
    Attack(
        "read a canary (C++)",
        Language.CPP,
        "read the secret file with std::ifstream",
        """std::string attack() {
    std::ifstream in("@CANARY@");
    std::string secret;
    if (!in || !std::getline(in, secret)) return "blocked";
    return "escaped: " + secret.substr(0, 12);
}""",
        imports="#include <fstream>\n#include <string>\n",
    ),
    Attack(
        "exit before the tests (C++)",
        Language.CPP,
        "exit(0) inside the function: the tests must not count as passed",
        """std::string attack() {
    std::exit(0);
}""",
        expect="not_passed",
        imports="#include <cstdlib>\n#include <string>\n",
    ),
]

RUST = [
    Attack(
        "exit before the tests (Rust)",
        Language.RUST,
        "std::process::exit(0) inside the function: the tests must not count as passed",
        """pub fn attack() -> String {
    std::process::exit(0)
}""",
        expect="not_passed",
    ),
    Attack(
        "macro-recursion compiler bomb",
        Language.RUST,
        "a macro that doubles its output on each of 40 levels",
        """macro_rules! boom {
    () => { 1u64 };
    (x $($rest:tt)*) => { boom!($($rest)*) + boom!($($rest)*) };
}

pub fn attack() -> String {
    let n = boom!(x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x);
    if n > 0 { "escaped: compiled".to_string() } else { "blocked".to_string() }
}""",
        expect="stopped",
        stopped_by="build failed|timed out",
    ),
    Attack(
        "loopback connect (Rust)",
        Language.RUST,
        "std::net::TcpStream::connect to the benchmark's listener",
        """pub fn attack() -> String {
    match std::net::TcpStream::connect(("127.0.0.1", @PORT@)) {
        Ok(_) => "escaped: connected".to_string(),
        Err(_) => "blocked".to_string(),
    }
}""",
    ),
    Attack(
        "write outside (Rust)",
        Language.RUST,
        "std::fs::write into the host directory",
        """pub fn attack() -> String {
    match std::fs::write("@OUTSIDE@/planted-rust", b"pwned") {
        Ok(_) => "escaped: wrote a file".to_string(),
        Err(_) => "blocked".to_string(),
    }
}""",
    ),
]

GO = [
    Attack(
        "goroutine flood",
        Language.GO,
        "ten million goroutines, each holding 64 KiB",
        """func Attack() string {
	done := make(chan struct{})
	for i := 0; i < 10000000; i++ {
		go func() {
			buf := make([]byte, 65536)
			buf[0] = 1
			<-done
		}()
	}
	return "escaped: ten million goroutines"
}""",
        expect="stopped",
        stopped_by="timed out|killed|out of memory|limit|resource|exit",
    ),
    Attack(
        "exit before the tests (Go)",
        Language.GO,
        "os.Exit(0) inside the function: the tests must not count as passed",
        """func Attack() string {
	os.Exit(0)
	return "blocked"
}""",
        expect="not_passed",
        imports='import "os"\n',
    ),
    Attack(
        "read a canary (Go)",
        Language.GO,
        "os.ReadFile of the secret file",
        """func Attack() string {
	data, err := os.ReadFile("@CANARY@")
	if err != nil {
		return "blocked"
	}
	return "escaped: " + string(data)
}""",
        imports='import "os"\n',
    ),
]

JAVA = [
    Attack(
        "System.exit",
        Language.JAVA,
        "System.exit(0) inside the method: the tests must not count as passed",
        """    public static String attack() {
        System.exit(0);
        return "blocked";
    }""",
        expect="not_passed",
    ),
    Attack(
        "thread flood (Java)",
        Language.JAVA,
        "start 100,000 sleeping threads",
        """    public static String attack() {
        int started = 0;
        try {
            for (; started < 100000; started++) {
                Thread t = new Thread(() -> {
                    try { Thread.sleep(30000); } catch (InterruptedException e) { }
                });
                t.setDaemon(true);
                t.start();
            }
        } catch (Throwable e) {
            return "blocked";
        }
        return "escaped: " + started + " threads";
    }""",
    ),
    Attack(
        "loopback connect (Java)",
        Language.JAVA,
        "java.net.Socket to the benchmark's listener",
        """    public static String attack() {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", @PORT@)) {
            return "escaped: connected";
        } catch (java.io.IOException e) {
            return "blocked";
        }
    }""",
    ),
]

ATTACKS: list[Attack] = [*PYTHON, *CPP, *RUST, *GO, *JAVA]
