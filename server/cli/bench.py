"""``perforch bench fidelity``: how trustworthy the profiler's verdicts are on this machine.

Runs, through the real profiler daemon, three kinds of comparison many times each:

- A/A: a function compared with itself (every "improved" is a false positive);
- a known 10 % change and a known 5 % change: the candidate does exactly 10 % / 5 % less of the
  same work than the baseline (improvement = (before − after) / before; read the other way, the
  baseline is 11.1 % / 5.3 % slower);

and writes a Markdown report plus the raw JSON: detections, false positives, the measured
improvements, processes used and the cost (wall time) per comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from perforch_core import benchmarks, languages
from perforch_core.errors import ConfigError
from perforch_core.models import Language, Metric, Task, TestSpec
from profiler.client import ProfilerClient

from . import bench_lsp, bench_projects, render

WORK = 40_000  # loop iterations of the baseline: ~1-2 ms per call, call overhead < 0.1 %

# Every iteration costs the same (all values stay below 2**30, CPython's one-digit ints), so
# "x % fewer iterations" is exactly "x % less work".
FUNCTION = """def work(n):
    s = 0
    for i in range(n):
        s = (s * 31 + i) % 1000003
    return s
"""

CHECK = """def check(work):
    assert work(3) == 33
    work(N)
"""


CPP_FUNCTION = """#include <assert.h>
long work(long n) {
    long s = 0;
    for (long i = 0; i < n; i++) s = (s * 31 + i) % 1000003;
    return s;
}
volatile long N = ITERATIONS;  // volatile: the compiler may not fold the workload away
"""

CPP_TEST = """int main() {
    assert(work(3) == 33);
    volatile long r = work(N);
    (void)r;
}
"""

RUST_FUNCTION = """fn work(n: u64) -> u64 {
    let mut s: u64 = 0;
    for i in 0..n {
        s = (s * 31 + i) % 1000003;
    }
    s
}
static N: u64 = ITERATIONS;
"""

RUST_TEST = """#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn test_work() {
        assert_eq!(work(3), 33);
        std::hint::black_box(work(std::hint::black_box(N)));
    }
}
"""

GO_FUNCTION = """package main

import "testing"

func work(n int64) int64 {
    var s int64
    for i := int64(0); i < n; i++ {
        s = (s*31 + i) % 1000003
    }
    return s
}

var N int64 = ITERATIONS // a variable: the compiler may not fold the workload away
var Sink int64
"""

GO_TEST = """func TestWork(t *testing.T) {
    if work(3) != 33 {
        t.Fatal("work(3) != 33")
    }
    Sink = work(N)
}
"""

JAVA_FUNCTION = """class Solution {
    public long work(long n) {
        long s = 0;
        for (long i = 0; i < n; i++) s = (s * 31 + i) % 1000003;
        return s;
    }
}
class Workload {
    static volatile long N = ITERATIONS;
    static volatile long sink;
}
"""

JAVA_TEST = """public class Main {
    public static void main(String[] args) {
        Solution s = new Solution();
        if (s.work(3) != 33) throw new AssertionError();
        Workload.sink = s.work(Workload.N);
    }
}
"""

# Iterations per call: ~1-4 ms in Python, ~0.1-0.3 ms in C++ (batches are calibrated anyway).
WORK_ITERATIONS = {
    Language.PYTHON: WORK,
    Language.CPP: 100_000,
    Language.RUST: 100_000,
    Language.GO: 100_000,
    Language.JAVA: 100_000,
}
PAIRS_TEXT = {
    Language.PYTHON: "20 A/B pairs of ≥ 2 ms batches per process, random order",
    Language.JAVA: "≥ 0.5 s JIT warm-up, then 20 A/B pairs of ≥ 2 ms batches, random order",
    Language.CPP: "10 A/B pairs of ~1 ms batches per process, random order",
    Language.RUST: "10 A/B pairs of ~1 ms batches per process, random order",
    Language.GO: "10 A/B pairs of ~1 ms batches per process, random order",
}
NATIVE = {
    Language.CPP: (CPP_FUNCTION, CPP_TEST, "long work(long n)"),
    Language.RUST: (RUST_FUNCTION, RUST_TEST, "fn work(n: u64) -> u64"),
    Language.GO: (GO_FUNCTION, GO_TEST, "func work(n int64) int64"),
    Language.JAVA: (JAVA_FUNCTION, JAVA_TEST, "public long work(long n)"),
}


def _task(language: Language) -> Task:
    if language in NATIVE:
        _, test, signature = NATIVE[language]
        tests = TestSpec(kind="program", source=test, origin="fidelity benchmark")
        return Task(
            id="bench::work",
            language=language,
            entry_point="work",
            signature=signature,
            tests=tests,
        )
    return Task(
        id="bench::work",
        language=Language.PYTHON,
        entry_point="work",
        module="bench_work",
        signature="def work(n):",
        tests=TestSpec(kind="check", source=CHECK, origin="fidelity benchmark"),
    )


def _program(language: Language, iterations: int) -> str:
    """The same function with a workload of ``iterations`` (the tests call work(N))."""
    if language in NATIVE:
        return NATIVE[language][0].replace("ITERATIONS", str(iterations))
    return f"{FUNCTION}\nN = {iterations}\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="bench_cmd", required=True)
    fid = sub.add_parser("fidelity", help="the profiler's A/A and known-change detection rates")
    fid.add_argument("--language", choices=[lang.value for lang in Language], default="python")
    fid.add_argument("--runs", type=int, default=50, help="comparisons per scenario")
    fid.add_argument(
        "--threshold",
        type=float,
        action="append",
        help="minimum effect(s) to evaluate (%%); default 5 and 3",
    )
    fid.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    bench_lsp.add_arguments(
        sub.add_parser("lsp", help="language server latency: code actions, first job event")
    )
    bench_projects.add_arguments(
        sub.add_parser("projects", help="optimize, fix and generate on every fixture project")
    )
    exp = sub.add_parser("export", help="write a HumanEvalPack problem as a file + its tests")
    exp.add_argument("task_id", help="e.g. Python/3")
    exp.add_argument("--buggy", action="store_true", help="use the buggy solution")
    exp.add_argument("--out", type=Path, default=Path("."))


async def run(args: argparse.Namespace) -> int:
    if args.bench_cmd == "lsp":
        return await bench_lsp.run(args)
    if args.bench_cmd == "export":
        return export(args)
    if args.bench_cmd == "projects":
        return await bench_projects.run(args)
    return await fidelity(args)


def export(args: argparse.Namespace) -> int:
    """Write ``<entry_point>.py`` and ``test_<entry_point>.py`` for a HumanEvalPack problem."""
    rec = benchmarks.record(args.task_id)
    if not rec.task_id.startswith("Python/"):
        raise ConfigError("only Python problems can be exported so far")
    prefix, code = benchmarks.python_module(
        rec, rec.buggy_solution if args.buggy else rec.canonical_solution
    )
    args.out.mkdir(parents=True, exist_ok=True)
    module = args.out / f"{rec.entry_point}.py"
    tests = args.out / f"test_{rec.entry_point}.py"
    kind = "buggy" if args.buggy else "canonical"
    module.write_text(
        f"# HumanEvalPack {rec.task_id} ({kind} solution), MIT licence\n{prefix}{code}"
    )
    # Our harness calls check() itself; drop the record's own trailing call.
    tests.write_text(re.sub(r"\n\s*check\(\w+\)\s*$", "\n", rec.test))
    print(
        f"wrote {module} and {tests}\ntry: perforch fix {module}::{rec.entry_point} --tests {tests}"
    )
    return 0


async def fidelity(args: argparse.Namespace) -> int:
    console = Console()
    thresholds = args.threshold or [5.0, 3.0]
    language = Language(args.language)
    # The baseline program does WORK iterations per test run; the candidate program does
    # fewer. Both define the same function; only the workload size differs, so the change is
    # known exactly. The workload lives in the tests, so each side gets its own program text.
    scenarios = [
        ("A/A (no change)", 0.0),
        ("known 10 % improvement", 10.0),
        ("known 5 % improvement", 5.0),
    ]
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    started = time.monotonic()
    async with ProfilerClient() as client:
        with render.progress_bar(console) as progress:
            for threshold in thresholds:
                for name, pct in scenarios:
                    bar = progress.add_task(f"{name} @ {threshold:g} %", total=args.runs)
                    for i in range(args.runs):
                        result = await _one(client, language, pct, threshold)
                        result.update(scenario=name, known_pct=pct, threshold=threshold, run=i)
                        rows.append(result)
                        progress.advance(bar)
    total_s = time.monotonic() - started
    report = _report(language, rows, thresholds, scenarios, args.runs, total_s, load_before)
    args.out.mkdir(parents=True, exist_ok=True)
    md = args.out / f"profiler-fidelity-{args.language}.md"
    md.write_text(report)
    (args.out / f"profiler-fidelity-{args.language}.json").write_text(json.dumps(rows, indent=1))
    console.print(report)
    console.print(f"wrote {md}")
    return 0


async def _one(
    client: ProfilerClient, language: Language, known_pct: float, threshold: float
) -> dict[str, Any]:
    """One comparison: baseline W iterations vs candidate W·(1 − known) iterations."""
    work = WORK_ITERATIONS[language]
    base_task = _task(language)
    # Same function text; the candidate's program carries its own (smaller) workload.
    base_program = _program(language, work)
    cand_program = _program(language, round(work * (1 - known_pct / 100)))
    t0 = time.monotonic()
    verdict = await client.compare_programs(
        base_task, base_program, cand_program, Metric.EXEC_TIME, threshold
    )
    cost = time.monotonic() - t0
    ratios = [b / a for a, b in zip(verdict.after.values, verdict.before.values, strict=True)]
    return {
        "decision": verdict.decision,
        "improvement": verdict.improvement_pct,
        "low": verdict.interval_pct.low,
        "high": verdict.interval_pct.high,
        "processes": verdict.processes,
        "cost_s": cost,
        "ratios": ratios,
        "method": verdict.method,
    }


def _report(
    language: Language,
    rows: list[dict[str, Any]],
    thresholds: list[float],
    scenarios: list[tuple[str, float]],
    runs: int,
    total_s: float,
    load: tuple[float, float, float],
) -> str:
    lines = [
        f"# Profiler fidelity: {languages.support(language).label}",
        "",
        f"Measured {dt.date.today().isoformat()} on {platform.node()} "
        f"({os.cpu_count()} CPUs, load average at start {load[0]:.2f}); "
        f"{len(rows)} comparisons in {total_s / 60:.1f} min.",
        f"Command: `.venv/bin/perforch bench fidelity --language {language.value} --runs "
        f"{runs}` (writes this file and the raw JSON beside it).",
        "",
        "Each comparison goes through the real profiler daemon "
        f"({rows[0]['method'] if rows else 'no rows'}; "
        f"{PAIRS_TEXT[language]}), "
        "3 fresh processes growing to 5 and 8 while inconclusive, one-sided 95 % bootstrap over "
        "the per-process ratios. *Improved* = lower bound > 0 and estimate ≥ threshold.",
        "The known changes: the candidate runs exactly 10 % / 5 % fewer iterations of the same "
        "loop (a true improvement of 10 % / 5 %; the baseline is 11.1 % / 5.3 % slower).",
        "",
        "| threshold | scenario | reported improved | goal | median estimate | "
        "median 95 % interval | processes (mean) | cost per comparison (median, max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    goals = {0.0: "0", 10.0: f"{runs} of {runs}", 5.0: f"≥ {int(runs * 0.9)} of {runs}"}
    for threshold in thresholds:
        for name, pct in scenarios:
            sel = [r for r in rows if r["threshold"] == threshold and r["scenario"] == name]
            if not sel:
                continue
            improved = sum(r["decision"] == "improved" for r in sel)
            est = statistics.median(r["improvement"] for r in sel)
            low = statistics.median(r["low"] for r in sel)
            high = statistics.median(r["high"] for r in sel)
            procs = statistics.fmean(r["processes"] for r in sel)
            costs = [r["cost_s"] for r in sel]
            lines.append(
                f"| {threshold:g} % | {name} | {improved} of {len(sel)} | {goals[pct]} | "
                f"{est:+.2f} % | {low:+.2f} … {high:+.2f} % | {procs:.1f} | "
                f"{statistics.median(costs):.2f} s, {max(costs):.2f} s |"
            )
    aa = [r for r in rows if r["known_pct"] == 0.0]
    spread = [x for r in aa for x in r["ratios"]]
    if spread:
        sd = statistics.pstdev(spread) * 100
        lines += [
            "",
            "## Noise diagnostics",
            "",
            f"- A/A per-process ratios: {len(spread)} values, standard deviation {sd:.2f} %, "
            f"range {min(spread):.3f} … {max(spread):.3f}.",
            "- Cost includes starting the processes and calibration"
            + (
                "; there is no compile step for Python."
                if language is Language.PYTHON
                else "; the first comparison of each pair also compiles the measuring binary "
                "(cached afterwards): the maximum shows it."
            ),
        ]
    lines.append("")
    return "\n".join(lines)
