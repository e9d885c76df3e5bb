"""Measured numbers against the truth, through the real daemon and toolchains.

- Work a candidate hands to other threads (Go's ``t.Run`` subtests, ``std::thread``, Rust's
  ``thread::spawn``, a Java ``Thread``) is counted: the per-run CPU time PerfOrch reports is
  within 20 % of the same function's native all-thread CPU time, measured outside PerfOrch as
  the difference of two native runs (``getrusage`` of 1 + N calls minus 1 call, over N).
  The thread clock PerfOrch read before saw only the joining thread, which does none of the
  work: it read a small fraction of it. How precise the numbers are is the fidelity benchmark's
  question (`perforch bench fidelity`), where the machine's noise is measured, not this test's.
- A candidate that keeps results between calls is rolled back with that reason, although its
  measured gain is large (the workload repeats the same tests).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from perforch_core import caching, languages, source
from perforch_core.models import Metric
from profiler.client import ProfilerClient
from profiler.languages.java.harness import BENCH_JVM_FLAGS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


@dataclass(frozen=True)
class Spread:
    """A function spreading fixed work over two threads, its test, and a native program
    calling it ``argv[1]`` times."""

    files: dict[str, str]  # the lone file and its test, as a user has them
    path: str  # the function's file
    function: str
    native: dict[str, str]  # the native program's files
    build: list[list[str]]  # commands building it in its directory
    run: list[str]  # then running it (the count appended)


CPP_WORK = """#include <thread>
#include <vector>

long spread_work() {
    std::vector<long> sums(2, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < 2; t++) {
        pool.emplace_back([&sums, t] {
            volatile long s = 0;
            for (long i = 0; i < 6000000; i++) s = s + (i ^ t);
            sums[t] = s;
        });
    }
    for (auto& th : pool) th.join();
    return sums[0] + sums[1];
}
"""

RUST_WORK = """pub fn spread_work() -> u64 {
    let handles: Vec<_> = (0..2u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut s = 0u64;
                for i in 0..std::hint::black_box(30_000_000u64) {
                    s = std::hint::black_box(s.wrapping_add(i ^ t));
                }
                s
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}
"""

JAVA_WORK = """public class Spread {
    public static long spreadWork() throws InterruptedException {
        long[] sums = new long[2];
        Thread[] pool = new Thread[2];
        for (int t = 0; t < 2; t++) {
            final int id = t;
            pool[t] = new Thread(() -> {
                long s = 0;
                for (long i = 0; i < 40_000_000L; i++) {
                    s = s * 31 + (i ^ id);
                }
                sums[id] = s;
            });
            pool[t].start();
        }
        for (Thread th : pool) {
            th.join();
        }
        return sums[0] + sums[1];
    }
}
"""

GO_WORK = """package spread

func Work(seed int) int {
	s := seed
	for i := 0; i < 20000000; i++ {
		s = s*31 + (i ^ seed)
	}
	return s
}
"""

GO_TEST = """package spread

import "testing"

func TestSubtests(t *testing.T) {
	for _, seed := range []int{1, 2} {
		seed := seed
		t.Run("seed", func(t *testing.T) {
			t.Parallel()
			if Work(seed) == 42 {
				t.Fatal("unexpected")
			}
		})
	}
}
"""

SPREADS = {
    "cpp": Spread(
        files={
            "spread.cpp": CPP_WORK,
            "spread_test.cpp": '#include <cassert>\n#include "spread.cpp"\n\n'
            "int main() {\n    assert(spread_work() != 42);\n    return 0;\n}\n",
        },
        path="spread.cpp",
        function="spread_work",
        native={
            "main.cpp": CPP_WORK + "#include <cstdio>\n#include <cstdlib>\n"
            "int main(int argc, char** argv) {\n    long acc = 0;\n"
            "    for (long i = 0; i < atol(argv[1]); i++) acc += spread_work();\n"
            '    printf("%ld\\n", acc);\n}\n'
        },
        build=[["g++", "-std=c++17", "-O2", "-o", "prog", "main.cpp"]],
        run=["./prog"],
    ),
    "rust": Spread(
        files={
            "spread.rs": RUST_WORK + "\n#[cfg(test)]\nmod tests {\n    #[test]\n"
            "    fn spreads() {\n        assert_ne!(super::spread_work(), 42);\n    }\n}\n"
        },
        path="spread.rs",
        function="spread_work",
        native={
            "main.rs": RUST_WORK + "fn main() {\n"
            "    let n: u64 = std::env::args().nth(1).unwrap().parse().unwrap();\n"
            "    let acc: u64 = (0..n).map(|_| spread_work()).fold(0, u64::wrapping_add);\n"
            '    println!("{acc}");\n}\n'
        },
        build=[["rustc", "-O", "-o", "prog", "main.rs"]],
        run=["./prog"],
    ),
    "java": Spread(
        files={
            "Spread.java": JAVA_WORK,
            "SpreadTest.java": "public class SpreadTest {\n"
            "    public static void main(String[] args) throws Exception {\n"
            "        if (Spread.spreadWork() == 42) throw new AssertionError();\n    }\n}\n",
        },
        path="Spread.java",
        function="spreadWork",
        native={
            "Spread.java": JAVA_WORK,
            "Main.java": "public class Main {\n"
            "    public static void main(String[] args) throws Exception {\n"
            "        long acc = 0;\n"
            "        int n = Integer.parseInt(args[0]);\n"
            "        for (int i = 0; i < n; i++) acc += Spread.spreadWork();\n"
            "        System.out.println(acc);\n    }\n}\n",
        },
        build=[["javac", "-d", ".", "Spread.java", "Main.java"]],
        run=["java", *BENCH_JVM_FLAGS, "-cp", ".", "Main"],
    ),
    "go": Spread(
        files={"spread.go": GO_WORK, "spread_test.go": GO_TEST},
        path="spread.go",
        function="Work",
        native={
            "go.mod": "module example.com/spread\n\ngo 1.21\n",
            "spread.go": GO_WORK,
            "spread_test.go": GO_TEST,
        },
        build=[["go", "test", "-c", "-o", "prog.test", "."]],
        run=["./prog.test", "-test.run", "TestSubtests", "-test.count"],
    ),
}


def _cpu_of(argv: list[str], cwd: Path) -> float:
    """CPU seconds (user + system, all threads) of one native run."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, with its rusage
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return usage.ru_utime + usage.ru_stime


def build_native(spread: Spread, wd: Path) -> None:
    for name, text in spread.native.items():
        (wd / name).write_text(text)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "CGO_ENABLED": "0"}
    for command in spread.build:
        done = subprocess.run(command, cwd=wd, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr


def native_ns_per_call(spread: Spread, wd: Path) -> float:
    """The function's all-thread CPU time per call, native: (runs of 1 + N calls − 1 call) / N,
    the median of five such differences (start-up and one-time costs cancel)."""
    n = 20
    diffs = sorted(
        (_cpu_of([*spread.run, str(1 + n)], wd) - _cpu_of([*spread.run, "1"], wd)) / n
        for _ in range(5)
    )
    return diffs[2] * 1e9


ROUNDS = 7  # PerfOrch's measurements, each between two native ones


@pytest.mark.parametrize("language", list(SPREADS))
async def test_work_on_other_threads_is_counted_like_native_all_thread_cpu_time(
    client: ProfilerClient, tmp_path: Path, language: str
):
    """Alternated, each PerfOrch reading against the mean of the native readings just before
    and just after it, and the median of the rounds' ratios. This machine's two vCPUs run the
    same two-thread program at speeds up to 1.7x apart from one few-second stretch to the next
    (the host's other tenants; seen 2026-12-03 with the native C++ program alone, even pinned
    to one vCPU: 4.8-8.5 ms a call). With three rounds against one native reading each, CI runs
    failed twice on such stretches (C++ ratios 1.55, 1.72, 0.84: PerfOrch 7.9/8.4/7.0 ms
    against native 5.1/4.9/8.3 ms; Rust 43/32/21 ms against 21/21/21 ms), while 16 rounds on an
    idle stretch read a median of 1.00 (0.79-1.45). A count of the joining thread alone would
    read near 0 and a count of one worker of two near 0.5, both far outside the 20 % band."""
    spread = SPREADS[language]
    lone = tmp_path / "lone"
    lone.mkdir()
    for name, text in spread.files.items():
        (lone / name).write_text(text)
    task = source.task_from_file(lone / spread.path, spread.function)
    code = task.current_code or ""
    native_dir = tmp_path / "native"
    native_dir.mkdir()
    build_native(spread, native_dir)
    ratios, seen = [], []
    native_before = native_ns_per_call(spread, native_dir)
    for _ in range(ROUNDS):
        verdict = await client.compare(task, code, code, Metric.EXEC_TIME, 5.0)
        measured = verdict.before.summary
        native_after = native_ns_per_call(spread, native_dir)
        native = (native_before + native_after) / 2
        ratios.append(measured / native)
        seen.append((round(measured), round(native_before), round(native_after)))
        native_before = native_after
        # The wall time is reported beside: two threads share it, so it is below the CPU time.
        assert verdict.wall_before_ns is not None and verdict.wall_before_ns < measured
    ratio = sorted(ratios)[ROUNDS // 2]
    assert abs(ratio - 1) < 0.20, (language, ratio, seen)


MEMO_PYTHON = '''_answers = {}


def has_duplicates(items):
    """Whether any item occurs twice."""
    key = repr(items)
    if key in _answers:
        return _answers[key]
    found = False
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i] == items[j]:
                found = True
                break
        if found:
            break
    _answers[key] = found
    return found
'''

# The same function remembering its one answer in statics: free from its second call on.
MEMO_CPP = CPP_WORK.split("long spread_work() {\n", 1)[1].replace(
    "    return sums[0] + sums[1];\n",
    "    answer = sums[0] + sums[1];\n    known = true;\n    return answer;\n",
)
MEMO_CPP = (
    "long spread_work() {\n    static bool known = false;\n    static long answer = 0;\n"
    "    if (known) return answer;\n" + MEMO_CPP
)


async def test_a_memoizing_candidate_shows_its_repeats_getting_free_and_is_not_accepted(
    client: ProfilerClient, tmp_path: Path
):
    """A memo keyed by the input (Python, measured by the pytest plugin) and a static result
    (C++, by the lone-file driver) each measure far faster on repeated runs of the same tests;
    the drivers' first and second runs show why, and the core's guard does not accept them.
    (Through a whole job: tests/profiler/test_executor_with_daemon.py.)"""
    project = tmp_path / "intervalkit"
    shutil.copytree(FIXTURES / "python" / "intervalkit", project)
    lone = tmp_path / "lone"
    lone.mkdir()
    for name, text in SPREADS["cpp"].files.items():
        (lone / name).write_text(text)
    cases = [
        (project / "src/intervalkit/words.py", "has_duplicates", MEMO_PYTHON),
        (lone / "spread.cpp", "spread_work", MEMO_CPP),
    ]
    for path, function, memo in cases:
        task = source.task_from_file(path, function)
        original = task.current_code or ""
        verdict = await client.compare(task, original, memo, Metric.EXEC_TIME, 5.0)
        assert verdict.improved and verdict.improvement_pct > 20, verdict  # a large "gain" …
        assert verdict.repeat_speedup is not None
        assert verdict.repeat_speedup >= caching.FACTOR, verdict
        guarded = caching.guarded(languages.support(task.language), original, memo, verdict)
        assert guarded.decision == "not_improved"
        assert "keeps results between calls" in guarded.rejected
