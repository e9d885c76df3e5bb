"""``perforch eval``: the paper's tables for our own pool (Table 8 pass@1 per configuration,
Table 9 refinement per metric, Tables 16–18 gains and LLM calls per policy): runs the units,
resumably, and hands the outcomes to ``eval_report``.

Memory: the study observations in ``--memory`` (``perforch study``), k-fold by problem number so
that no problem is scored with evidence about itself (``perforch_core.evaluation``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import os
import platform
import time
from pathlib import Path
from typing import Any, cast

from rich.console import Console

from perforch_core import benchmarks
from perforch_core.evaluation import Config, Evaluation, GenerationOutcome, RefineOutcome, fold_of
from perforch_core.llm.settings import ModelSettings
from perforch_core.models import Metric
from perforch_core.policy import PolicyKind

from ..app import App, AppConfig
from . import enamel, eval_enamel, eval_report, journal, render, study_cmd


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--benchmark",
        default="humanevalpack",
        choices=["humanevalpack", "enamel"],
        help="humanevalpack: the paper's tables; enamel: refinement of Python's canonical "
        "solutions judged on ENAMEL's own inputs (eval_enamel)",
    )
    p.add_argument("--languages", default="python")
    p.add_argument(
        "--config",
        action="append",
        default=[],
        help="single:MODEL, workflow:MODEL or perforch (repeatable; default: single and "
        "workflow for each pool model, and perforch)",
    )
    p.add_argument(
        "--policies",
        default="sequential",
        help="policies for the perforch configuration, e.g. sequential,top1,best_of_n",
    )
    p.add_argument("--models", default="", help="the pool (default: the local models)")
    p.add_argument("--metrics", default="exec_time", help="metrics for refinement ('' for none)")
    p.add_argument("--problems", default="")
    p.add_argument("--sample", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--threshold", type=float, default=5.0)
    p.add_argument("--out", type=Path, default=Path("docs/results"))
    p.add_argument("--name", default="eval", help="report file name (without extension)")
    p.add_argument(
        "--variants",
        default="default",
        help="enamel: policy variants, e.g. default,no_repair,no_second_chance,profile_feedback",
    )
    p.add_argument(
        "--max-ms",
        type=float,
        default=enamel.MAX_MS,
        help="enamel: the judge's level costs at most this per call of the original (ms)",
    )


def _configs(args: argparse.Namespace, pool: list[str]) -> list[Config]:
    policies = cast(list[PolicyKind], study_cmd._csv(args.policies))
    if args.config:
        out: list[Config] = []
        for text in args.config:
            if text == "perforch":
                out.extend(Config.parse(text, policy) for policy in policies)
            else:
                out.append(Config.parse(text))
        return out
    singles = [Config("single", m) for m in pool] + [Config("workflow", m) for m in pool]
    return singles + [Config("perforch", None, policy) for policy in policies]


async def run(args: argparse.Namespace, memory_path: Path) -> int:
    if args.benchmark == "enamel":
        return await eval_enamel.run(args, memory_path)
    console = Console()
    records = study_cmd.select(args)
    metrics = [Metric(m) for m in study_cmd._csv(args.metrics)]
    folds = fold_of([r.number for r in records], args.folds, args.seed)
    started = time.monotonic()
    generation: list[GenerationOutcome] = []
    refinement: list[RefineOutcome] = []
    # Finished units survive an interruption: the same command resumes from the journal.
    done = journal.Journal(
        args.out / f"{args.name}.journal.jsonl", "perforch eval " + " ".join(_argv(args))
    )
    resumed = len(done.outcomes)  # units finished by an earlier, interrupted run
    config = AppConfig(memory_path=memory_path, models=study_cmd._csv(args.models))
    async with await App.open(config) as app:
        configs = _configs(args, app.pool)
        ev = Evaluation(
            app.gateway,
            app.profiler,
            app.memory,
            app.pool,
            folds=folds,
            threshold_pct=args.threshold,
        )
        refine_configs = [c for c in configs if c.kind != "single"]
        total = len(records) * (len(configs) + len(refine_configs) * len(metrics))
        with render.progress_bar(console) as progress:
            bar = progress.add_task("eval", total=total)
            for record in records:
                for c in configs:
                    g = done.get(("generation", c.label, record.task_id))
                    if not isinstance(g, GenerationOutcome):
                        g = await ev.generation(c, record)
                        done.add(g)
                        progress.console.print(
                            f"  {'✓' if g.passed else '✗'} {g.problem} {g.config}: {g.detail[:90]}"
                        )
                    generation.append(g)
                    progress.advance(bar)
                for c in refine_configs:
                    for metric in metrics:
                        r = done.get(("refinement", c.label, record.task_id, metric.value))
                        if not isinstance(r, RefineOutcome):
                            r = await ev.refinement(c, record, metric)
                            done.add(r)
                            gain = f"{r.improvement_pct:+.1f} %" if r.improved else "no gain"
                            progress.console.print(
                                f"  {'▲' if r.improved else '·'} {r.problem} {r.config} "
                                f"{metric.value}: {gain}"
                            )
                        refinement.append(r)
                        progress.advance(bar)
    meta = _metadata(args, configs, records, folds, time.monotonic() - started, app.pool)
    meta["decoding"] = {m: _decoding(app.gateway.settings_for(m)) for m in app.pool}
    units = sum(g.seconds for g in generation) + sum(r.seconds for r in refinement)
    meta["seconds_of_units"] = round(units, 1)
    meta["resumed_units"] = resumed
    paths = eval_report.write(args.out, args.name, meta, generation, refinement)
    console.print(paths["md"].read_text())
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _metadata(
    args: argparse.Namespace,
    configs: list[Config],
    records: list[benchmarks.Record],
    folds: dict[int, int],
    seconds: float,
    pool: list[str],
) -> dict[str, Any]:
    versions = {}
    for name in ("perforch", "litellm", "llama_cpp_python"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "missing"
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "command": "perforch eval " + " ".join(_argv(args)),
        "pool": pool,
        "configs": [c.label for c in configs],
        "languages": study_cmd._csv(args.languages),
        "problems": sorted({r.task_id for r in records}),
        "excluded": {k: v for k, v in benchmarks.EXCLUDED.items()},
        "folds": f"{args.folds}-fold by problem number (seed {args.seed}): each problem ranked "
        "with study observations of the other folds only; no paper priors",
        "fold_of_problem": {str(k): v for k, v in sorted(folds.items())},
        "threshold_pct": args.threshold,
        "versions": versions,
        "seconds": round(seconds, 1),
    }


def _decoding(settings: ModelSettings) -> str:
    """How a model's replies were produced, for the report."""
    text = f"temperature {settings.temperature:g}, at most {settings.max_tokens} tokens"
    if settings.is_local:
        text += ", the project's llama.cpp server (every prompt evaluated afresh)"
    return text


def _argv(args: argparse.Namespace) -> list[str]:
    out = [f"--languages {args.languages}"]
    out += [f"--config {c}" for c in args.config]
    if args.models:
        out.append(f"--models {args.models}")
    out.append(f"--policies {args.policies} --metrics '{args.metrics}' --folds {args.folds}")
    if args.problems:
        out.append(f"--problems {args.problems}")
    if args.sample:
        out.append(f"--sample {args.sample} --seed {args.seed}")
    return out
