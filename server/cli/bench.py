"""``perforch bench``: the benchmarks that write reports (``aa``, ``adversarial``, ``fidelity``,
``lsp``, ``projects``, ``workloads``) and ``export`` (a HumanEvalPack problem as a file and
its tests)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from perforch_core import benchmarks
from perforch_core.errors import ConfigError

from . import (
    bench_aa,
    bench_adversarial,
    bench_fidelity,
    bench_lsp,
    bench_projects,
    bench_workloads,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="bench_cmd", required=True)
    bench_aa.add_arguments(
        sub.add_parser("aa", help="HumanEval-X programs against themselves: false improvements")
    )
    bench_adversarial.add_arguments(
        sub.add_parser("adversarial", help="hostile candidates against the sandbox, root and user")
    )
    bench_fidelity.add_arguments(
        sub.add_parser("fidelity", help="whether the profiler's intervals and verdicts hold")
    )
    bench_lsp.add_arguments(
        sub.add_parser("lsp", help="language server latency: code actions, first job event")
    )
    bench_projects.add_arguments(
        sub.add_parser("projects", help="optimize, fix and generate on every fixture project")
    )
    bench_workloads.add_arguments(
        sub.add_parser("workloads", help="generated workloads against ENAMEL's expert inputs")
    )
    exp = sub.add_parser("export", help="write a HumanEvalPack problem as a file + its tests")
    exp.add_argument("task_id", help="e.g. Python/3")
    exp.add_argument("--buggy", action="store_true", help="use the buggy solution")
    exp.add_argument("--out", type=Path, default=Path("."))


async def run(args: argparse.Namespace) -> int:
    if args.bench_cmd == "aa":
        return await bench_aa.run(args)
    if args.bench_cmd == "adversarial":
        return await bench_adversarial.run(args)
    if args.bench_cmd == "lsp":
        return await bench_lsp.run(args)
    if args.bench_cmd == "export":
        return export(args)
    if args.bench_cmd == "projects":
        return await bench_projects.run(args)
    if args.bench_cmd == "workloads":
        return await bench_workloads.run(args)
    return await bench_fidelity.run(args)


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
