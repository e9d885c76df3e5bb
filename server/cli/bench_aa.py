"""``perforch bench aa``: false improvements on real-shaped programs, measured.

The fidelity benchmark's A/A compares one synthetic loop with itself. A user's function is more
often a small one under small tests (HumanEval-X's: a test-suite run of 0.1–10 µs), where a
driver, the code's alignment or a JIT can favour one side of the pair by a few per cent. Here,
per language, HumanEval-X canonical solutions are compared with themselves through the real
daemon, alternately with mirrored processes (what jobs use) and without (to show the lean they
remove), side by side in one run. Per language and problem the report gives: comparisons
called *improved* (a false improvement: goal 0), lower bounds above 0 (a one-sided 97.5 %
bound: about 2.5 % expected), the mean estimate and the pooled per-process lean with its
interval.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from perforch_core import benchmarks
from perforch_core.models import Language, Metric
from profiler import stats
from profiler.client import ProfilerClient

from . import render
from .bench_fidelity import idle_s

PROBLEMS = (0, 2, 12, 29, 53)  # the sample the profiler's language tests use


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--language",
        action="append",
        choices=[lang.value for lang in Language],
        help="repeatable; default: all five",
    )
    p.add_argument(
        "--problem", action="append", type=int, help="HumanEval numbers; default: 0 2 12 29 53"
    )
    p.add_argument("--runs", type=int, default=8, help="comparisons per problem and setting")
    p.add_argument("--threshold", type=float, default=5.0, help="minimum effect (%%)")
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"))


async def run(args: argparse.Namespace) -> int:
    console = Console()
    languages = [Language(v) for v in args.language or [lang.value for lang in Language]]
    problems = tuple(args.problem or PROBLEMS)
    rows: list[dict[str, Any]] = []
    load = os.getloadavg()[0]
    started = time.monotonic()
    async with ProfilerClient() as client:
        with render.progress_bar(console) as progress:
            for language in languages:
                records = [r for r in benchmarks.records(language) if r.number in problems]
                bar = progress.add_task(language.value, total=len(records) * args.runs * 2)
                for record in records:
                    task = benchmarks.task(record)
                    code = task.current_code or ""
                    for i in range(args.runs * 2):
                        mirror = i % 2 == 0  # alternate, so both settings see the same moments
                        t0 = time.monotonic()
                        v = await client.compare(
                            task, code, code, Metric.EXEC_TIME, args.threshold, mirror=mirror
                        )
                        rows.append(
                            {
                                "language": language.value,
                                "problem": record.task_id,
                                "mirror": mirror,
                                "decision": v.decision,
                                "improvement": v.improvement_pct,
                                "low": v.interval_pct.low,
                                "high": v.interval_pct.high,
                                "ratios": list(v.process_ratios),
                                "run_ns": v.before.summary,
                                "cost_s": time.monotonic() - t0 - idle_s(v.processes),
                            }
                        )
                        progress.advance(bar)
    meta = {
        "measured": dt.datetime.now().isoformat(timespec="minutes"),
        "load": load,
        "total_s": time.monotonic() - started,
        "threshold": args.threshold,
        "runs": args.runs,
    }
    text = report(meta, rows)
    args.out.mkdir(parents=True, exist_ok=True)
    md = args.out / "aa-humaneval.md"
    md.write_text(text)
    (args.out / "aa-humaneval.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    console.print(text, markup=False, highlight=False)
    console.print(f"wrote {md}")
    return 0


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Decisions, lower bounds above 0, the mean estimate and the pooled per-process lean
    (the mean log-ratio of every process, with a t interval over them) of some comparisons."""
    logs = [math.log(r) for row in rows for r in row["ratios"]]
    low, high = stats.t_interval([math.exp(x) for x in logs], 0.95, floor=0.0)
    return {
        "n": len(rows),
        "improved": sum(r["decision"] == "improved" for r in rows),
        "above_zero": sum(r["low"] > 0 for r in rows),
        "mean": statistics.mean(r["improvement"] for r in rows),
        "lean": stats.improvement_pct(math.exp(statistics.mean(logs))),
        "lean_low": stats.improvement_pct(low),
        "lean_high": stats.improvement_pct(high),
        "processes": len(logs),
        "cost": statistics.median(r["cost_s"] for r in rows),
        "run_ns": statistics.median(r["run_ns"] for r in rows),
    }


def _line(label: str, problem: str, f: dict[str, Any]) -> str:
    return (
        f"| {label} | {problem} | {f['run_ns'] / 1000:.2f} µs | {f['n']} | {f['improved']} | "
        f"{f['above_zero']} | {f['mean']:+.2f} % | {f['lean']:+.2f} % "
        f"({f['lean_low']:+.2f} … {f['lean_high']:+.2f}) | {f['cost']:.2f} s |"
    )


def report(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    out = [
        "# A/A on HumanEval-X programs: false improvements, with and without mirrored processes",
        "",
        f"Measured {meta['measured']} on this machine (load average at start {meta['load']:.2f});"
        f" {meta['runs']} comparisons per problem and setting, alternating, threshold "
        f"{meta['threshold']:g} %, in {meta['total_s'] / 60:.1f} min. Command: "
        "`perforch bench aa` (see `server/cli/bench_aa.py`).",
        "",
        "Each comparison: a canonical solution against itself, exec time, the plan jobs use. "
        "*Mirrored*: even-numbered processes measure the pair the other way round "
        "(`docs/measurement.md`, Mirrored processes), as jobs do; *plain*: every process the same"
        " way. *Lean*: the mean of all the processes' log-ratios, with a 95 % t interval: a lean "
        "the plain setting shows and the mirrored one does not is what mirroring removed. Goals: "
        "no *improved*; lower bounds above 0 in about 2.5 % of comparisons.",
        "",
        "| setting | problem | test run | comparisons | improved | lower bound > 0 | "
        "mean estimate | lean (95 %) | median cost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    languages = list(dict.fromkeys(r["language"] for r in rows))
    for language in languages:
        mine = [r for r in rows if r["language"] == language]
        for mirror, label in ((True, "mirrored"), (False, "plain")):
            setting = [r for r in mine if r["mirror"] is mirror]
            for problem in dict.fromkeys(r["problem"] for r in setting):
                out.append(
                    _line(label, problem, figures([r for r in setting if r["problem"] == problem]))
                )
            out.append(_line(f"**{label}**", f"**{language}, all**", figures(setting)))
    totals = {m: figures([r for r in rows if r["mirror"] is m]) for m in (True, False)}
    out += [
        "",
        f"Over all: mirrored {totals[True]['improved']} improved and "
        f"{totals[True]['above_zero']} lower bounds above 0 in {totals[True]['n']} comparisons; "
        f"plain {totals[False]['improved']} and {totals[False]['above_zero']} in "
        f"{totals[False]['n']}.",
        "",
    ]
    return "\n".join(out)
