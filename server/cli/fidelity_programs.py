"""The programs ``perforch bench fidelity`` compares, per language: one function ``work(n)``
in two versions per scenario, and the tests that run it on a fixed ``N`` (the workload).

Scenarios (the same in every language):

- ``aa``: the loop against itself (no change);
- ``loop10`` / ``loop5``: the candidate runs exactly 10 % / 5 % fewer iterations of the loop;
- ``alloc``: a small container built per iteration against plain arithmetic (in Java and Go
  the allocation is boxed / escapes to the heap: garbage-collector work);
- ``hash``: distinct values counted with a hash set against a sorted vector;
- ``recursion``: a recursive sum against a loop;
- ``threads``: the same work split over two threads against one thread (CPU time counts both).

For all but ``aa`` and the loops, the true effect is whatever it is on this machine: the
benchmark establishes it by a long reference run, not by construction. ``ITERATIONS`` in a
program is replaced by the scenario's N.
"""

from __future__ import annotations

from dataclasses import dataclass

from perforch_core.models import Language


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    baseline: str
    candidate: str
    n: int  # the workload: the tests call work(N)
    candidate_n: int | None = None  # the loops: the candidate's own N
    known_pct: float | None = None  # the improvement by construction, where there is one


SCENARIO_NAMES = {
    "aa": "A/A (no change)",
    "loop10": "10 % fewer iterations",
    "loop5": "5 % fewer iterations",
    "alloc": "allocating per iteration vs not",
    "hash": "hash set vs sorted vector",
    "recursion": "recursion vs iteration",
    "threads": "two threads vs one",
}

# -- Python ---------------------------------------------------------------------------------
PY_LOOP = """def work(n):
    s = 0
    for i in range(n):
        s = (s * 31 + i) % 1000003
    return s
"""
PY = {
    "alloc": (
        "def work(n):\n    total = 0\n    for i in range(n):\n        row = [i, i + 1, i + 2]\n"
        "        total += sum(row)\n    return total\n",
        "def work(n):\n    total = 0\n    for i in range(n):\n        total += 3 * i + 3\n"
        "    return total\n",
        20_000,
    ),
    "hash": (
        "def work(n):\n    return len({(i * 7919) % 10007 for i in range(n)})\n",
        "def work(n):\n    data = sorted((i * 7919) % 10007 for i in range(n))\n    count = 0\n"
        "    last = -1\n    for x in data:\n        if x != last:\n            count += 1\n"
        "            last = x\n    return count\n",
        20_000,
    ),
    "recursion": (
        "def _tri(k):\n    return 0 if k == 0 else k + _tri(k - 1)\n\n\n"
        "def work(n):\n    return sum(_tri(100) for _ in range(n // 100))\n",
        "def work(n):\n    total = 0\n    for _ in range(n // 100):\n        s = 0\n"
        "        for k in range(1, 101):\n            s += k\n        total += s\n"
        "    return total\n",
        20_000,
    ),
    "threads": (
        "def _part(lo, hi, out, k):\n    s = 0\n    for i in range(lo, hi):\n"
        "        s = (s + i * 31) % 1000003\n    out[k] = s\n\n\n"
        "def work(n):\n    out = [0, 0]\n    _part(0, n // 2, out, 0)\n"
        "    _part(n // 2, n, out, 1)\n"
        "    return (out[0] + out[1]) % 1000003\n",
        "import threading\n\n\n"
        "def _part(lo, hi, out, k):\n    s = 0\n    for i in range(lo, hi):\n"
        "        s = (s + i * 31) % 1000003\n    out[k] = s\n\n\n"
        "def work(n):\n    out = [0, 0]\n    pool = [\n"
        "        threading.Thread(target=_part, args=(0, n // 2, out, 0)),\n"
        "        threading.Thread(target=_part, args=(n // 2, n, out, 1)),\n    ]\n"
        "    for t in pool:\n        t.start()\n    for t in pool:\n        t.join()\n"
        "    return (out[0] + out[1]) % 1000003\n",
        40_000,
    ),
}

# -- C++ ------------------------------------------------------------------------------------
CPP_HEAD = "#include <algorithm>\n#include <thread>\n#include <unordered_set>\n#include <vector>\n"
CPP_TAIL = "volatile long N = ITERATIONS;  // volatile: the compiler may not fold the workload\n"
CPP_LOOP = """long work(long n) {
    long s = 0;
    for (long i = 0; i < n; i++) s = (s * 31 + i) % 1000003;
    return s;
}
"""
CPP_PART = """static long part(long lo, long hi) {
    long s = 0;
    for (long i = lo; i < hi; i++) s = (s + i * 31) % 1000003;
    return s;
}
"""
CPP = {
    "alloc": (
        "long work(long n) {\n    long t = 0;\n    for (long i = 0; i < n; i++) {\n"
        "        std::vector<long> row{i, i + 1, i + 2};\n        for (long x : row) t += x;\n"
        "    }\n    return t;\n}\n",
        "long work(long n) {\n    long t = 0;\n    for (long i = 0; i < n; i++) t += 3 * i + 3;\n"
        "    return t;\n}\n",
        100_000,
    ),
    "hash": (
        "long work(long n) {\n    std::unordered_set<long> seen;\n"
        "    for (long i = 0; i < n; i++) seen.insert((i * 7919) % 10007);\n"
        "    return (long)seen.size();\n}\n",
        "long work(long n) {\n    std::vector<long> v;\n    v.reserve(n);\n"
        "    for (long i = 0; i < n; i++) v.push_back((i * 7919) % 10007);\n"
        "    std::sort(v.begin(), v.end());\n"
        "    return (long)(std::unique(v.begin(), v.end()) - v.begin());\n}\n",
        20_000,
    ),
    "recursion": (
        "__attribute__((noinline)) long tri(long k) { return k == 0 ? 0 : k + tri(k - 1); }\n"
        "long work(long n) {\n    long t = 0;\n"
        "    for (long j = 0; j < n / 100; j++) t += tri(100 + (j & 1));\n"
        "    return t;\n}\n",
        "long work(long n) {\n    long t = 0;\n    for (long j = 0; j < n / 100; j++) {\n"
        "        long s = 0;\n        for (long k = 1; k <= 100 + (j & 1); k++) s += k;\n"
        "        t += s;\n    }\n    return t;\n}\n",
        400_000,
    ),
    "threads": (
        CPP_PART + "long work(long n) { return (part(0, n / 2) + part(n / 2, n)) % 1000003; }\n",
        CPP_PART + "long work(long n) {\n    long a = 0, b = 0;\n"
        "    std::thread t1([&] { a = part(0, n / 2); });\n"
        "    std::thread t2([&] { b = part(n / 2, n); });\n    t1.join();\n    t2.join();\n"
        "    return (a + b) % 1000003;\n}\n",
        300_000,
    ),
}

# -- Rust -----------------------------------------------------------------------------------
RUST_TAIL = "static N: u64 = ITERATIONS;\n"
RUST_LOOP = """fn work(n: u64) -> u64 {
    let mut s: u64 = 0;
    for i in 0..n {
        s = (s * 31 + i) % 1000003;
    }
    s
}
"""
RUST_PART = """fn part(lo: u64, hi: u64) -> u64 {
    let mut s = 0u64;
    for i in lo..hi {
        s = (s + i * 31) % 1000003;
    }
    s
}
"""
RUST = {
    "alloc": (
        "fn work(n: u64) -> u64 {\n    let mut t = 0u64;\n    for i in 0..n {\n"
        "        let row = std::hint::black_box(vec![i, i + 1, i + 2]);\n"
        "        t += row.iter().sum::<u64>();\n    }\n    t\n}\n",
        "fn work(n: u64) -> u64 {\n    let mut t = 0u64;\n    for i in 0..n {\n"
        "        t += std::hint::black_box(3 * i + 3);\n    }\n    t\n}\n",
        100_000,
    ),
    "hash": (
        "fn work(n: u64) -> u64 {\n    let mut seen = std::collections::HashSet::new();\n"
        "    for i in 0..n {\n        seen.insert((i * 7919) % 10007);\n    }\n"
        "    seen.len() as u64\n}\n",
        "fn work(n: u64) -> u64 {\n"
        "    let mut v: Vec<u64> = (0..n).map(|i| (i * 7919) % 10007).collect();\n"
        "    v.sort_unstable();\n    v.dedup();\n    v.len() as u64\n}\n",
        20_000,
    ),
    "recursion": (
        "#[inline(never)]\nfn tri(k: u64) -> u64 {\n"
        "    if k == 0 { 0 } else { k + tri(std::hint::black_box(k - 1)) }\n}\n"
        "fn work(n: u64) -> u64 {\n    (0..n / 100).map(|j| tri(100 + (j & 1))).sum()\n}\n",
        "fn work(n: u64) -> u64 {\n    (0..n / 100)\n"
        "        .map(|j| (1..=std::hint::black_box(100 + (j & 1))).sum::<u64>())\n"
        "        .sum()\n}\n",
        400_000,
    ),
    "threads": (
        RUST_PART
        + "fn work(n: u64) -> u64 {\n    (part(0, n / 2) + part(n / 2, n)) % 1000003\n}\n",
        RUST_PART + "fn work(n: u64) -> u64 {\n    let (a, b) = std::thread::scope(|s| {\n"
        "        let a = s.spawn(|| part(0, n / 2));\n        let b = s.spawn(|| part(n / 2, n));\n"
        "        (a.join().unwrap(), b.join().unwrap())\n    });\n    (a + b) % 1000003\n}\n",
        300_000,
    ),
}

# -- Go -------------------------------------------------------------------------------------
GO_TAIL = (
    "var N int64 = ITERATIONS // a variable: the compiler may not fold the workload away\n"
    "var Sink int64\n"
)
GO_LOOP = """func work(n int64) int64 {
    var s int64
    for i := int64(0); i < n; i++ {
        s = (s*31 + i) % 1000003
    }
    return s
}
"""
GO_PART = """func part(lo, hi int64) int64 {
    var s int64
    for i := lo; i < hi; i++ {
        s = (s + i*31) % 1000003
    }
    return s
}
"""
GO = {
    "alloc": (
        "var keep []*[3]int64\n\nfunc work(n int64) int64 {\n    var t int64\n"
        "    keep = keep[:0]\n    for i := int64(0); i < n; i++ {\n"
        "        row := &[3]int64{i, i + 1, i + 2} // escapes: garbage for the collector\n"
        "        keep = append(keep, row)\n        t += row[0] + row[1] + row[2]\n    }\n"
        "    return t\n}\n",
        "func work(n int64) int64 {\n    var t int64\n    for i := int64(0); i < n; i++ {\n"
        "        t += 3*i + 3\n    }\n    return t\n}\n",
        100_000,
    ),
    "hash": (
        "func work(n int64) int64 {\n    seen := map[int64]struct{}{}\n"
        "    for i := int64(0); i < n; i++ {\n        seen[(i*7919)%10007] = struct{}{}\n    }\n"
        "    return int64(len(seen))\n}\n",
        "func work(n int64) int64 {\n    v := make([]int64, n)\n"
        "    for i := int64(0); i < n; i++ {\n        v[i] = (i * 7919) % 10007\n    }\n"
        "    sort.Slice(v, func(a, b int) bool { return v[a] < v[b] })\n    var count int64\n"
        "    for i := range v {\n        if i == 0 || v[i] != v[i-1] {\n            count++\n"
        "        }\n    }\n    return count\n}\n",
        20_000,
    ),
    "recursion": (
        "//go:noinline\nfunc tri(k int64) int64 {\n    if k == 0 {\n        return 0\n    }\n"
        "    return k + tri(k-1)\n}\n\nfunc work(n int64) int64 {\n    var t int64\n"
        "    for j := int64(0); j < n/100; j++ {\n        t += tri(100 + j&1)\n    }\n"
        "    return t\n}\n",
        "func work(n int64) int64 {\n    var t int64\n    for j := int64(0); j < n/100; j++ {\n"
        "        var s int64\n        for k := int64(1); k <= 100+j&1; k++ {\n            s += k\n"
        "        }\n        t += s\n    }\n    return t\n}\n",
        400_000,
    ),
    "threads": (
        GO_PART
        + "\nfunc work(n int64) int64 {\n    return (part(0, n/2) + part(n/2, n)) % 1000003\n}\n",
        GO_PART + "\nfunc work(n int64) int64 {\n    var a, b int64\n    var wg sync.WaitGroup\n"
        "    wg.Add(2)\n    go func() { defer wg.Done(); a = part(0, n/2) }()\n"
        "    go func() { defer wg.Done(); b = part(n/2, n) }()\n    wg.Wait()\n"
        "    return (a + b) % 1000003\n}\n",
        300_000,
    ),
}
GO_IMPORTS = ("sort", "sync")  # imported by the programs that use them (Go refuses unused ones)

# -- Java -----------------------------------------------------------------------------------
JAVA_TAIL = """class Workload {
    static volatile long N = ITERATIONS;
    static volatile long sink;
}
"""
JAVA_LOOP = """    public long work(long n) {
        long s = 0;
        for (long i = 0; i < n; i++) s = (s * 31 + i) % 1000003;
        return s;
    }
"""
JAVA_PART = """    static long part(long lo, long hi) {
        long s = 0;
        for (long i = lo; i < hi; i++) s = (s + i * 31) % 1000003;
        return s;
    }
"""
JAVA = {
    "alloc": (
        "    public long work(long n) {\n        long t = 0;\n"
        "        for (long i = 0; i < n; i++) {\n"
        "            java.util.List<Long> row = java.util.List.of(i, i + 1, i + 2);  // boxed\n"
        "            for (Long x : row) t += x;\n        }\n        return t;\n    }\n",
        "    public long work(long n) {\n        long t = 0;\n"
        "        for (long i = 0; i < n; i++) t += 3 * i + 3;\n        return t;\n    }\n",
        100_000,
    ),
    "hash": (
        "    public long work(long n) {\n"
        "        java.util.HashSet<Long> seen = new java.util.HashSet<>();\n"
        "        for (long i = 0; i < n; i++) seen.add((i * 7919) % 10007);\n"
        "        return seen.size();\n    }\n",
        "    public long work(long n) {\n        long[] v = new long[(int) n];\n"
        "        for (int i = 0; i < n; i++) v[i] = (i * 7919L) % 10007;\n"
        "        java.util.Arrays.sort(v);\n        long count = 0;\n"
        "        for (int i = 0; i < n; i++) if (i == 0 || v[i] != v[i - 1]) count++;\n"
        "        return count;\n    }\n",
        20_000,
    ),
    "recursion": (
        "    static long tri(long k) { return k == 0 ? 0 : k + tri(k - 1); }\n"
        "    public long work(long n) {\n        long t = 0;\n"
        "        for (long j = 0; j < n / 100; j++) t += tri(100 + (j & 1));\n"
        "        return t;\n    }\n",
        "    public long work(long n) {\n        long t = 0;\n"
        "        for (long j = 0; j < n / 100; j++) {\n            long s = 0;\n"
        "            for (long k = 1; k <= 100 + (j & 1); k++) s += k;\n            t += s;\n"
        "        }\n        return t;\n    }\n",
        400_000,
    ),
    "threads": (
        JAVA_PART + "    public long work(long n) {\n"
        "        return (part(0, n / 2) + part(n / 2, n)) % 1000003;\n    }\n",
        JAVA_PART + "    public long work(long n) {\n        long[] out = new long[2];\n"
        "        Thread a = new Thread(() -> out[0] = part(0, n / 2));\n"
        "        Thread b = new Thread(() -> out[1] = part(n / 2, n));\n        a.start();\n"
        "        b.start();\n        try {\n            a.join();\n            b.join();\n"
        "        } catch (InterruptedException e) {\n"
        "            throw new IllegalStateException(e);\n"
        "        }\n        return (out[0] + out[1]) % 1000003;\n    }\n",
        300_000,
    ),
}

LOOP_N = {
    Language.PYTHON: 40_000,
    Language.CPP: 100_000,
    Language.RUST: 100_000,
    Language.GO: 100_000,
    Language.JAVA: 100_000,
}
TESTS = {
    Language.CPP: "int main() {\n    volatile long r = work(N);\n    (void)r;\n}\n",
    Language.RUST: "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n"
    "    fn test_work() {\n        std::hint::black_box(work(std::hint::black_box(N)));\n    }\n"
    "}\n",
    Language.GO: "func TestWork(t *testing.T) {\n    Sink = work(N)\n}\n",
    Language.JAVA: "public class Main {\n    public static void main(String[] args) {\n"
    "        Workload.sink = new Solution().work(Workload.N);\n    }\n}\n",
    Language.PYTHON: "def check(work):\n    work(N)\n",
}
SIGNATURES = {
    Language.CPP: "long work(long n)",
    Language.RUST: "fn work(n: u64) -> u64",
    Language.GO: "func work(n int64) int64",
    Language.JAVA: "public long work(long n)",
    Language.PYTHON: "def work(n):",
}


def program(language: Language, key: str, code: str, n: int) -> str:
    """A whole module: ``code`` (the function, with its helpers) and the workload N."""
    if language is Language.PYTHON:
        return f"{code}\nN = {n}\n"
    if language is Language.CPP:
        return CPP_HEAD + code + CPP_TAIL.replace("ITERATIONS", str(n))
    if language is Language.RUST:
        return code + RUST_TAIL.replace("ITERATIONS", str(n))
    if language is Language.GO:
        used = [m for m in GO_IMPORTS if f"{m}." in code]
        imports = "".join(f'\t"{m}"\n' for m in (*used, "testing"))
        return f"package main\n\nimport (\n{imports})\n\n{code}\n" + GO_TAIL.replace(
            "ITERATIONS", str(n)
        )
    return "class Solution {\n" + code + "}\n" + JAVA_TAIL.replace("ITERATIONS", str(n))


_LOOPS = {
    Language.PYTHON: PY_LOOP,
    Language.CPP: CPP_LOOP,
    Language.RUST: RUST_LOOP,
    Language.GO: GO_LOOP,
    Language.JAVA: JAVA_LOOP,
}
_PAIRS = {
    Language.PYTHON: PY,
    Language.CPP: CPP,
    Language.RUST: RUST,
    Language.GO: GO,
    Language.JAVA: JAVA,
}


def scenarios(language: Language) -> list[Scenario]:
    loop, n = _LOOPS[language], LOOP_N[language]
    found = [
        Scenario("aa", SCENARIO_NAMES["aa"], loop, loop, n, n, 0.0),
        Scenario("loop10", SCENARIO_NAMES["loop10"], loop, loop, n, round(n * 0.9), 10.0),
        Scenario("loop5", SCENARIO_NAMES["loop5"], loop, loop, n, round(n * 0.95), 5.0),
    ]
    for key, (base, cand, size) in _PAIRS[language].items():
        found.append(Scenario(key, SCENARIO_NAMES[key], base, cand, size))
    return found
