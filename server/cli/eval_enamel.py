"""``perforch eval --benchmark enamel``: refinement judged on someone else's inputs.

On a seeded sample of ENAMEL's problems (HumanEval's Python problems, ``enamel.py``), PerfOrch
optimizes the canonical HumanEval solution for exec time as a job does (Memory ranks the pool
with study observations of the other folds only; the job measures on the workload it generates
and checks candidates against the original on it). Whatever the job accepts is then re-measured
by an **independent judge**: ENAMEL's own expert input generator at its largest level whose one
call of the canonical solution costs at most ``--max-ms`` (one of the level's test cases per
seed, as ENAMEL draws them), through the same profiler. The judge
first checks that the change returns what the original does on those inputs, then compares the
two side by side. A problem counts as *improved* only when the judge's 95 % interval clears
0 and its estimate reaches the threshold, so a gain that exists only on PerfOrch's own
workload is not counted.

``--variants`` runs the same sample with the policy's switches changed, one at a time (an
ablation): ``default`` (one repair round, one second chance, no profile feedback),
``no_repair``, ``no_second_chance``, and ``profile_feedback`` (switched *on*: it is off by
default). Resumable through a journal; writes ``NAME.md``, ``NAME.json`` and a PNG of claimed
against judged gains.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from perforch_core import benchmarks, workloads
from perforch_core.errors import PerfOrchError
from perforch_core.evaluation import Config, Evaluation, JudgedRefinement, fold_of
from perforch_core.models import Metric, Task, Workload
from perforch_core.result import JobResult
from profiler.client import ProfilerClient

from ..app import App, AppConfig
from . import enamel, journal, render, study_cmd

VARIANTS: dict[str, Mapping[str, object]] = {
    "default": {},
    "no_repair": {"repair_rounds": 0},
    "no_second_chance": {"second_chance": False},
    "profile_feedback": {"profile_feedback": True},
}
SHARE_GOAL_PCT = 40.0
MEDIAN_GOAL_PCT = 15.0
JUDGE_SEEDS = [1, 2, 3]


def parse_variants(text: str) -> list[str]:
    names = study_cmd._csv(text) or ["default"]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise PerfOrchError(
            f"--variants: unknown {', '.join(unknown)}", hint=f"choose from {', '.join(VARIANTS)}"
        )
    return names


def retry_counts(result: JobResult) -> tuple[int, int, str]:
    """(repair calls, second-chance calls, the round that made the accepted change)."""
    repairs = sum(1 for a in result.attempts if a.retry == "repair")
    seconds = sum(1 for a in result.attempts if a.retry == "second_chance")
    accepted = ""
    if result.changed:
        for a in result.attempts:
            if a.code is not None and a.code.strip() == result.final_code.strip():
                accepted = a.retry
    return repairs, seconds, accepted


def unjudged(why: str) -> dict[str, Any]:
    """The judge's fields of a change it did not (or could not) measure."""
    return {
        "judged": False,
        "judged_pct": None,
        "judged_low": None,
        "judged_high": None,
        "same_results": None,
        "judge": why,
    }


class Judge:
    """ENAMEL's inputs at the largest affordable level, found once per problem."""

    def __init__(self, profiler: ProfilerClient, max_ns: float) -> None:
        self.profiler = profiler
        self.max_ns = max_ns
        self._workloads: dict[str, tuple[Workload | None, str]] = {}

    async def workload(self, task: Task, row: dict[str, Any]) -> tuple[Workload | None, str]:
        if task.id not in self._workloads:
            canonical = task.current_code or ""
            self._workloads[task.id] = await enamel.reference_workload(
                self.profiler, task, canonical, row, self.max_ns
            )
        return self._workloads[task.id]

    async def judge(
        self, task: Task, row: dict[str, Any], result: JobResult, threshold_pct: float
    ) -> dict[str, Any]:
        """The judge's fields of a :class:`JudgedRefinement` for a job's final code."""
        out = unjudged("")
        if not result.changed:
            return out  # the job kept the original: nothing to judge
        w, why = await self.workload(task, row)
        if w is None:
            out["judge"] = f"no judge workload: {why}"
            return out
        out["judge"] = w.origin
        canonical = task.current_code or ""
        diff = await self.profiler.differential(
            task, canonical, result.final_code, w.generator, [w.size], JUDGE_SEEDS, timeout_s=300
        )
        out["same_results"] = diff.ok if diff.error is None else None
        if diff.mismatch is not None:
            out["judge"] += "; " + workloads.describe_mismatch(diff.mismatch)[:300]
            return out
        if diff.error is not None:
            out["judge"] += f"; the check could not run: {diff.error[:200]}"
        with_w = task.model_copy(update={"workload": w, "metric": Metric.EXEC_TIME})
        v = await self.profiler.compare(
            with_w, canonical, result.final_code, Metric.EXEC_TIME, threshold_pct
        )
        out.update(
            # Counted only when the change was also shown to return the same results.
            judged=v.decision == "improved" and out["same_results"] is True,
            judged_pct=round(v.improvement_pct, 2),
            judged_low=round(v.interval_pct.low, 2),
            judged_high=round(v.interval_pct.high, 2),
        )
        return out


async def _unit(
    ev: Evaluation,
    judge: Judge,
    config: Config,
    variant: str,
    record: benchmarks.Record,
    row: dict[str, Any],
    threshold_pct: float,
) -> JudgedRefinement:
    started = time.monotonic()
    task = benchmarks.task(record)
    result = await ev.refine_job(config, record, Metric.EXEC_TIME, VARIANTS[variant])
    v = result.verdict
    claimed = v is not None and v.improved and result.changed
    try:
        judged = await judge.judge(task, row, result, threshold_pct)
    except PerfOrchError as exc:
        judged = unjudged(f"the judge could not measure: {exc}"[:300])
    repairs, seconds, accepted = retry_counts(result)
    return JudgedRefinement(
        variant=variant,
        language=record.language,
        problem=record.task_id,
        metric=Metric.EXEC_TIME,
        claimed=claimed,
        claimed_pct=round(v.improvement_pct, 2) if (claimed and v is not None) else None,
        llm_calls=result.llm_calls,
        repair_calls=repairs,
        second_chance_calls=seconds,
        accepted_retry=accepted,
        seconds=round(time.monotonic() - started, 1),
        model=result.accepted_model,
        detail=result.message[:300],
        **judged,
    )


async def run(args: argparse.Namespace, memory_path: Path) -> int:
    console = Console()
    variants = parse_variants(args.variants)
    rows = enamel.rows()
    if args.problems:  # these problems (numbers), else a seeded sample
        wanted = study_cmd.numbers(args.problems)
        ids = [t for t in rows if int(t.split("/")[1]) in wanted]
    else:
        ids = enamel.sample(list(rows), args.sample or 30, args.seed)
    records = [benchmarks.record(f"Python/{t.split('/')[1]}") for t in ids]
    folds = fold_of([r.number for r in records], args.folds, args.seed)
    name = args.name if args.name != "eval" else "enamel-refinement"
    chosen = f"--problems {args.problems}" if args.problems else f"--sample {len(ids)}"
    command = (
        f"perforch eval --benchmark enamel {chosen} --seed {args.seed} "
        f"--variants {','.join(variants)} --max-ms {args.max_ms:g}"
        + (f" --models {args.models}" if args.models else "")
    )
    done = journal.Journal(args.out / f"{name}.journal.jsonl", command)
    resumed = len(done.outcomes)
    outcomes: list[JudgedRefinement] = []
    started = time.monotonic()
    policy = study_cmd._csv(args.policies)[0] if args.policies else "sequential"
    config = Config.parse("perforch", policy)  # type: ignore[arg-type]
    async with await App.open(
        AppConfig(memory_path=memory_path, models=study_cmd._csv(args.models))
    ) as app:
        ev = Evaluation(
            app.gateway, app.profiler, app.memory, app.pool, folds=folds,
            threshold_pct=args.threshold,
        )  # fmt: skip
        judge = Judge(app.profiler, args.max_ms * 1e6)
        with render.progress_bar(console) as progress:
            bar = progress.add_task("ENAMEL refinement", total=len(records) * len(variants))
            for record, task_id in zip(records, ids, strict=True):
                for variant in variants:
                    o = done.get(("judged", variant, record.task_id, Metric.EXEC_TIME.value))
                    if not isinstance(o, JudgedRefinement):
                        progress.update(bar, description=f"{record.task_id} {variant}")
                        o = await _unit(
                            ev, judge, config, variant, record, rows[task_id], args.threshold
                        )
                        done.add(o)
                        progress.console.print("  " + line(o), markup=False, highlight=False)
                    outcomes.append(o)
                    progress.advance(bar)
        pool = app.pool
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "command": command,
        "pool": pool,
        "policy": config.label,
        "problems": [r.task_id for r in records],
        "variants": variants,
        "max_ms": args.max_ms,
        "threshold_pct": args.threshold,
        "folds": f"{args.folds}-fold by problem number (seed {args.seed}): each problem ranked "
        "with study observations of the other folds only",
        "seconds": round(time.monotonic() - started, 1),
        "seconds_of_units": round(sum(o.seconds for o in outcomes), 1),
        "resumed_units": resumed,
    }
    paths = write(args.out, name, meta, outcomes)
    console.print(paths["md"].read_text(), markup=False, highlight=False)
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def line(o: JudgedRefinement) -> str:
    """One finished unit, as the run prints it."""
    claim = f"claimed {o.claimed_pct:+.1f} %" if o.claimed_pct is not None else "no claim"
    if o.judged_pct is not None:
        verdict = f"judge {o.judged_pct:+.1f} % ({'improved' if o.judged else 'not improved'})"
    else:
        verdict = o.judge or "not judged"
    return f"{'▲' if o.judged else '·'} {o.problem} {o.variant}: {claim}; {verdict}"


def summary(outcomes: Sequence[JudgedRefinement]) -> dict[str, Any]:
    """One variant's numbers: shares, gains (the judge's), claims confirmed, calls."""
    n = len(outcomes)
    judged = [o for o in outcomes if o.judged]
    claimed = [o for o in outcomes if o.claimed]
    gains = sorted(o.judged_pct for o in judged if o.judged_pct is not None)
    return {
        "problems": n,
        "claimed": len(claimed),
        "improved": len(judged),
        "share_pct": 100 * len(judged) / n if n else 0.0,
        "median_gain_pct": statistics.median(gains) if gains else None,
        "gain_range": (gains[0], gains[-1]) if gains else None,
        "claims_confirmed": sum(1 for o in claimed if o.judged),
        "claims_wrong_results": sum(1 for o in claimed if o.same_results is False),
        "llm_calls_mean": statistics.fmean(o.llm_calls for o in outcomes) if n else 0.0,
        "repair_calls": sum(o.repair_calls for o in outcomes),
        "second_chance_calls": sum(o.second_chance_calls for o in outcomes),
        "from_repair": sum(1 for o in judged if o.accepted_retry == "repair"),
        "from_second_chance": sum(1 for o in judged if o.accepted_retry == "second_chance"),
    }


def write(
    out: Path, name: str, meta: dict[str, Any], outcomes: Sequence[JudgedRefinement]
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / f"{name}.md", "json": out / f"{name}.json"}
    by_variant = {v: [o for o in outcomes if o.variant == v] for v in meta["variants"]}
    summaries = {v: summary(os_) for v, os_ in by_variant.items()}
    paths["json"].write_text(
        json.dumps(
            {"meta": meta, "summary": summaries, "units": [journal.row(o) for o in outcomes]},
            indent=1,
        )
        + "\n"
    )
    plot = _plot(out / f"{name}.png", outcomes)
    if plot is not None:
        paths["png"] = plot
    paths["md"].write_text(markdown(meta, by_variant, summaries, plot))
    return paths


def _range(s: dict[str, Any]) -> str:
    return f"{s['gain_range'][0]:.1f} … {s['gain_range'][1]:.1f} %" if s["gain_range"] else "—"


def markdown(
    meta: dict[str, Any],
    by_variant: Mapping[str, Sequence[JudgedRefinement]],
    summaries: Mapping[str, dict[str, Any]],
    plot: Path | None,
) -> str:
    doc = (__doc__ or "").split("\n\n", 1)[1].replace("``", "`").strip()
    lines = [
        "# Refinement on ENAMEL, judged on ENAMEL's own inputs",
        "",
        doc,
        "",
        f"- date: {meta['date']}; machine: {meta['machine']}; took {meta['seconds'] / 60:.1f} min "
        f"({meta['seconds_of_units'] / 60:.1f} min of units, {meta['resumed_units']} from an "
        "earlier, interrupted run)",
        f"- command: `.venv/bin/{meta['command']}`",
        f"- pool: {', '.join(meta['pool'])}; policy: {meta['policy']}; threshold "
        f"{meta['threshold_pct']:g} %",
        f"- Memory: {meta['folds']}",
        "",
        "## Per variant",
        "",
        "| variant | improved (judge) | median gain | range | PerfOrch claimed | claims the "
        "judge confirmed | claims with other results | LLM calls (mean) | repair calls | "
        "second-chance calls | improvements from a repair / second chance |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v, s in summaries.items():
        median = f"{s['median_gain_pct']:.1f} %" if s["median_gain_pct"] is not None else "—"
        lines.append(
            f"| {v} | {s['improved']}/{s['problems']} ({s['share_pct']:.0f} %) | {median} | "
            f"{_range(s)} | {s['claimed']} | {s['claims_confirmed']} of {s['claimed']} | "
            f"{s['claims_wrong_results']} | {s['llm_calls_mean']:.2f} | {s['repair_calls']} | "
            f"{s['second_chance_calls']} | {s['from_repair']} / {s['from_second_chance']} |"
        )
    lines += ["", "## Goals, as measured", "", "| goal | measured | met |", "|---|---|---|"]
    if "default" in summaries:
        s = summaries["default"]
        met = s["share_pct"] >= SHARE_GOAL_PCT
        lines.append(
            f"| share improved ≥ {SHARE_GOAL_PCT:.0f} % (default) | {s['share_pct']:.0f} % "
            f"({s['improved']}/{s['problems']}) | {'yes' if met else 'no'} |"
        )
        med = s["median_gain_pct"]
        met = med is not None and med >= MEDIAN_GOAL_PCT
        lines.append(
            f"| median gain ≥ {MEDIAN_GOAL_PCT:.0f} % (default) | "
            f"{f'{med:.1f} %' if med is not None else '— (nothing improved)'} | "
            f"{'yes' if met else 'no'} |"
        )
    if plot is not None:
        lines += ["", f"![claimed against judged gains]({plot.name})"]
    lines += [
        "",
        "## Per problem",
        "",
        "| problem | variant | PerfOrch | judge | same results | model | round | calls | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v, os_ in by_variant.items():
        for o in os_:
            claim = f"{o.claimed_pct:+.1f} %" if o.claimed_pct is not None else "no gain"
            judged = (
                f"{o.judged_pct:+.1f} % ({o.judged_low:+.1f}…{o.judged_high:+.1f})"
                if o.judged_pct is not None
                else "—"
            )
            same = {True: "yes", False: "**no**", None: "—"}[o.same_results]
            note = (o.judge or o.detail).replace("|", "\\|")
            lines.append(
                f"| {o.problem} | {v} | {claim} | {judged}{' ▲' if o.judged else ''} | {same} | "
                f"{o.model or '—'} | {o.accepted_retry or '—'} | {o.llm_calls} | "
                f"{note.replace(chr(10), ' ')[:160]} |"
            )
    return "\n".join(lines) + "\n"


def _plot(path: Path, outcomes: Sequence[JudgedRefinement]) -> Path | None:
    """PerfOrch's claimed gain against the judge's, per accepted change."""
    points = [
        (o.variant, o.claimed_pct, o.judged_pct)
        for o in outcomes
        if o.claimed_pct is not None and o.judged_pct is not None
    ]
    if not points:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    for variant in sorted({v for v, _, _ in points}):
        mine = [(c, j) for v, c, j in points if v == variant]
        ax.scatter([c for c, _ in mine], [j for _, j in mine], label=variant, alpha=0.7)
    lo = min(0.0, *(min(c, j) for _, c, j in points))
    ax.plot([lo, 100], [lo, 100], color="grey", linewidth=0.8, label="judge = claim")
    ax.set_xlabel("gain PerfOrch claimed on its workload (%)")
    ax.set_ylabel("gain on ENAMEL's inputs (%)")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
