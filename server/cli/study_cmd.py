"""``perforch study``: profile models on a benchmark into Memory (the paper's three studies).

Resumable: what Memory already holds for a unit is not redone. Shows a progress bar with an
ETA, one line per finished unit, and a table of success rates at the end.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from perforch_core import benchmarks
from perforch_core.errors import ConfigError
from perforch_core.memory.store import Memory
from perforch_core.models import Language, Metric, Stage
from perforch_core.ports import Observation
from perforch_core.study import SOURCE, Study, UnitResult, units
from perforch_core.tagging import Tagger

from ..app import App, AppConfig
from . import render


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--benchmark", default="humanevalpack", choices=["humanevalpack"])
    p.add_argument("--languages", default="python", help="comma-separated, e.g. python,cpp")
    p.add_argument("--models", default="", help="comma-separated (default: the local pool)")
    p.add_argument("--stages", default="generate,fix,refine")
    p.add_argument("--metrics", default="exec_time", help="metrics for the refine study")
    p.add_argument("--problems", default="", help="problem numbers, e.g. 0-19,25 (default all)")
    p.add_argument("--sample", type=int, default=0, help="a seeded random sample of N problems")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=1, help="units in flight at once")
    p.add_argument("--threshold", type=float, default=5.0, help="refine: minimum gain (%%)")
    p.add_argument("--tag-models", default="", help="models that vote on problem categories")
    p.add_argument(
        "--export", type=Path, metavar="CSV", help="write Memory's study observations and stop"
    )
    p.add_argument(
        "--import",
        dest="import_",
        type=Path,
        metavar="CSV",
        help="add study observations exported elsewhere (skipping those already held) and stop",
    )


def numbers(spec: str) -> set[int]:
    """``--problems 0-19,25`` as the set of problem numbers."""
    out: set[int] = set()
    for part in _csv(spec):
        lo, _, hi = part.partition("-")
        try:
            out.update(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise ConfigError(f"--problems {spec!r}: use numbers and ranges like 0-19,25") from None
    return out


def select(args: argparse.Namespace) -> list[benchmarks.Record]:
    """The problems of each language: the numbers asked for (or a seeded sample of the numbers
    every requested language has), known-broken problems excluded."""
    languages = [Language(v) for v in _csv(args.languages)]
    per_language = {lang: {r.number: r for r in benchmarks.records(lang)} for lang in languages}
    usable = set.intersection(*(set(recs) for recs in per_language.values()))
    chosen = sorted(usable & numbers(args.problems)) if args.problems else sorted(usable)
    if args.sample:
        chosen = sorted(random.Random(args.seed).sample(chosen, min(args.sample, len(chosen))))
    return [per_language[lang][n] for n in chosen for lang in languages]


FIELDS = ("model", "stage", "language", "categories", "metric", "problem_id", "success",
          "improvement_pct")  # fmt: skip


async def transfer(args: argparse.Namespace, memory_path: Path) -> int:
    """--export / --import: study observations as CSV, so that a study survives its machine."""
    async with Memory(memory_path) as memory:
        if args.export:
            rows = await memory.observations(SOURCE)
            with args.export.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=FIELDS)
                writer.writeheader()
                for o in rows:
                    data = o.model_dump(mode="json")
                    data["categories"] = ",".join(data["categories"])
                    writer.writerow({k: data[k] for k in FIELDS})
            print(f"wrote {len(rows)} study observations to {args.export}")
            return 0
        try:
            with args.import_.open(newline="") as fh:
                incoming = [_observation(row) for row in csv.DictReader(fh)]
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"cannot import {args.import_}: {exc}") from exc
        held = await memory.observed_keys(SOURCE)
        new = [
            o
            for o in incoming
            if (
                o.model,
                o.stage.value,
                o.language.value,
                o.metric.value if o.metric else "",
                o.problem_id,
            )
            not in held
        ]
        await memory.record(new)
        print(f"imported {len(new)} study observations ({len(incoming) - len(new)} already held)")
        return 0


def _observation(row: dict[str, str]) -> Observation:
    """One exported CSV row back as an observation (pydantic validates and converts)."""
    return Observation.model_validate(
        {
            **row,
            "categories": [c for c in row["categories"].split(",") if c],
            "metric": row["metric"] or None,
            "success": row["success"] == "True",
            "improvement_pct": row["improvement_pct"] or None,
            "source": SOURCE,
        }
    )


async def run(args: argparse.Namespace, memory_path: Path) -> int:
    if args.export or args.import_:
        return await transfer(args, memory_path)
    console = Console()
    stages = [Stage(s) for s in _csv(args.stages)]
    metrics = [Metric(m) for m in _csv(args.metrics)]
    records = select(args)
    models = _csv(args.models)
    config = AppConfig(memory_path=memory_path, models=models, tag_models=_csv(args.tag_models))
    async with await App.open(config) as app:
        tagger = Tagger(app.gateway, config.tag_models)
        study = Study(app.gateway, app.profiler, app.memory, tagger, threshold_pct=args.threshold)
        planned = units(records, app.pool, stages, metrics)
        todo = await study.pending(planned)
        problems = len({r.number for r in records})
        console.print(
            f"study: {problems} problems in {args.languages} × {len(app.pool)} models × stages "
            f"{', '.join(s.value for s in stages)}: {len(planned)} units, {len(todo)} to do "
            f"({len(planned) - len(todo)} already in Memory {memory_path})"
        )
        results: list[UnitResult] = []
        with render.progress_bar(console) as progress:
            bar = progress.add_task("study", total=len(todo))

            async def show(result: UnitResult) -> None:
                u = result.unit
                mark = {True: "✓", False: "✗", None: "·"}[result.success]
                metric = f" {u.metric.value}" if u.metric else ""
                progress.console.print(
                    f"  {mark} {u.record.task_id} {u.stage.value}{metric} {u.model}: "
                    f"{result.detail} ({result.seconds:.1f}s)"
                )
                results.append(result)
                progress.advance(bar)

            await study.run(todo, show, concurrency=args.concurrency)
    console.print(summary_table(results))
    skipped = sum(r.success is None for r in results)
    if skipped:
        console.print(f"{skipped} units not measured (see '·' lines); they run again next time")
    return 0


def summary_table(results: list[UnitResult]) -> Table:
    table = Table(title="This run: successes per model and stage")
    for col in ("model", "stage", "language", "metric", "units", "succeeded", "rate"):
        table.add_column(col)
    groups: dict[tuple[str, str, str, str], list[bool]] = defaultdict(list)
    for r in results:
        if r.success is None:
            continue
        u = r.unit
        key = (u.model, u.stage.value, u.record.language.value, u.metric.value if u.metric else "")
        groups[key].append(bool(r.success))
    for (model, stage, language, metric), outcomes in sorted(groups.items()):
        n, ok = len(outcomes), sum(outcomes)
        table.add_row(model, stage, language, metric or "—", str(n), str(ok), f"{ok / n:.0%}")
    return table
