"""``perforch bench workloads``: are PerfOrch's generated workloads ones on which speed
differences show? On a seeded sample of ENAMEL's problems (``../shared/benchmarks/enamel/``:
HumanEval's Python problems with expert solutions and expert input generators at scaled sizes),
the canonical HumanEval solution is compared with ENAMEL's expert solution twice, through the
real profiler:

- **reference**: on ENAMEL's own generator at its largest input level (the largest level whose
  one call of the canonical solution costs at most ``--max-ms``; each seed draws one of the
  level's test cases, as ENAMEL does, and seeds the generator's ``random``);
- **generated**: on the workload PerfOrch builds for the canonical solution as a job does
  (``workloads.prepare``: the model writes ``generate_input(size, rng)``, the profiler checks it
  and scales it to ``TARGET_NS`` a call).

A problem *agrees* when both comparisons differ significantly (the 95 % interval excludes 0)
in the same direction. The rate that matters is agreement among the problems whose reference
differs significantly (goal ≥ 80 %). Every measured call gets its own copy of the inputs on
both sides (some expert solutions sort their argument in place), so both differences are
diluted alike. Writes ``workloads.md`` and ``workloads.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from perforch_core import benchmarks, workloads
from perforch_core.errors import PerfOrchError
from perforch_core.languages.python import source as py_source
from perforch_core.models import Metric, Task, Verdict, Workload

from ..app import App, AppConfig
from . import enamel, render

THRESHOLD_PCT = 5.0
REPLY_KEPT = 3000  # characters of each model reply kept in the JSON when no workload came of it


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--problems", type=int, default=30, help="problems sampled (default 30)")
    p.add_argument("--seed", type=int, default=1, help="the sample's seed")
    p.add_argument("--model", help="the model writing generators (default: the pool's first)")
    p.add_argument(
        "--max-ms", type=float, default=enamel.MAX_MS, help="reference call cost cap (ms)"
    )
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"))


def significant(v: Verdict | None) -> int:
    """+1: the expert is significantly faster, −1: slower, 0: no significant difference."""
    if v is None:
        return 0
    if v.interval_pct.low > 0:
        return 1
    if v.interval_pct.high < 0:
        return -1
    return 0


async def _compare(app: App, task: Task, a: str, b: str, w: Workload) -> Verdict:
    with_w = task.model_copy(update={"workload": w})
    return await app.profiler.compare(with_w, a, b, Metric.EXEC_TIME, THRESHOLD_PCT)


def _pct(v: Verdict | None) -> str:
    if v is None:
        return "—"
    return f"{v.improvement_pct:+.1f} % ({v.interval_pct.low:+.1f}…{v.interval_pct.high:+.1f})"


async def _one(
    app: App, model: str, task_id: str, row: dict[str, Any], max_ns: float
) -> dict[str, Any]:
    number = task_id.split("/")[1]
    task = benchmarks.python_task(benchmarks.record(f"Python/{number}"))
    canonical = task.current_code or ""
    expert = py_source.find_function(row["expert"], row["entry_point"], task_id).code
    out: dict[str, Any] = {"task": task_id, "function": row["entry_point"]}
    started = time.monotonic()
    try:
        ref, why = await enamel.reference_workload(app.profiler, task, canonical, row, max_ns)
        out["reference_workload"] = ref.origin if ref else None
        ref_v = await _compare(app, task, canonical, expert, ref) if ref else None
        out["reference"] = significant(ref_v)
        out["reference_change"] = _pct(ref_v)
        if ref is None:
            out["why"] = f"no reference: {why}"
        gen, detail, replies = await workloads.prepare(
            app.gateway, app.profiler, None, task, canonical, model
        )
        if gen is not None and gen.checks_only:  # not a workload to measure on
            gen = None
        out["llm_calls"] = len(replies)
        out["generated_workload"] = f"size {gen.size} × {len(gen.seeds)} seeds" if gen else None
        # What was measured on, or what the model wrote when nothing was: for a re-check.
        out["generator"] = gen.generator if gen else None
        if gen is None:
            out["replies"] = [r.text[:REPLY_KEPT] for r in replies]
        gen_v = None
        if gen is not None:
            gen_v = await _compare(
                app, task, canonical, expert, gen.model_copy(update={"mutates": True})
            )
        else:
            out["why"] = (out.get("why", "") + f"; no workload: {detail}").lstrip("; ")
        out["generated"] = significant(gen_v)
        out["generated_change"] = _pct(gen_v)
    except PerfOrchError as exc:
        out["why"] = f"{type(exc).__name__}: {exc}"
        out.setdefault("reference", 0)
        out.setdefault("generated", 0)
    out["agrees"] = out["reference"] != 0 and out["reference"] == out["generated"]
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


async def run(args: argparse.Namespace) -> int:
    console = Console()
    rows = enamel.rows()
    sample = enamel.sample(list(rows), args.problems, args.seed)
    memory = args.memory or Path(tempfile.mkdtemp(prefix="perforch-bench-")) / "memory.sqlite"
    models = [args.model] if args.model else []
    results: list[dict[str, Any]] = []
    started = dt.datetime.now()
    async with await App.open(AppConfig(memory_path=memory, models=models)) as app:
        model = args.model or app.pool[0]
        with render.progress_bar(console) as bar:
            progress = bar.add_task("ENAMEL problems", total=len(sample))
            for task_id in sample:
                bar.update(progress, description=task_id)
                results.append(await _one(app, model, task_id, rows[task_id], args.max_ms * 1e6))
                bar.advance(progress)
    meta = {
        "date": started.isoformat(timespec="minutes"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}",
        "model": model,
        "problems": len(sample),
        "seed": args.seed,
        "command": f"perforch bench workloads --problems {args.problems} --seed {args.seed}",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "workloads.json").write_text(
        json.dumps({"meta": meta, "rows": results}, indent=2) + "\n"
    )
    text = report(meta, results)
    (args.out / "workloads.md").write_text(text)
    console.print(text, markup=False, highlight=False)
    return 0


def report(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    arrow = {1: "expert faster", -1: "expert slower", 0: "no significant difference"}
    decided = [r for r in rows if r["reference"] != 0]
    agree = [r for r in decided if r["agrees"]]
    made = [r for r in rows if r.get("generated_workload")]
    rate = f"{100 * len(agree) / len(decided):.0f} %" if decided else "—"
    out = [
        "# Generated workloads on ENAMEL",
        "",
        __doc__.split("\n\n", 1)[1].replace("``", "`").strip() if __doc__ else "",
        "",
        f"Run {meta['date']} on {meta['machine']}; generators by {meta['model']}; "
        f"{meta['problems']} problems (seed {meta['seed']}). "
        f"Command: `.venv/bin/{meta['command']}`.",
        "",
        f"**Agreement: {len(agree)} of {len(decided)} problems whose reference differs "
        f"significantly ({rate}; goal ≥ 80 %).** A workload was generated and accepted for "
        f"{len(made)} of {len(rows)} problems.",
        "",
        "| problem | function | reference (ENAMEL's inputs) | generated (PerfOrch's) | agrees | "
        "note | time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = f"{arrow[r['reference']]}: {r.get('reference_change', '—')}"
        gen = f"{arrow[r['generated']]}: {r.get('generated_change', '—')}"
        if r.get("generated_workload"):
            gen += f", {r['generated_workload']}"
        note = (r.get("why") or "").replace("|", "\\|").replace("\n", " ")[:160]
        out.append(
            f"| {r['task']} | `{r['function']}` | {ref} | {gen} | "
            f"{'yes' if r['agrees'] else 'no'} | {note} | {r['seconds']:.0f} s |"
        )
    return "\n".join(out) + "\n"
