"""``perforch generate|fix|optimize FILE::FUNCTION``: run one job with live output."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import cast

from rich.console import Console

from perforch_core import source as source_files
from perforch_core.errors import ConfigError, SourceError
from perforch_core.models import Action, Metric, Task
from perforch_core.policy import DEFAULT_BUDGET, DEFAULT_POLICY, Budget, Policy, PolicyKind
from perforch_core.result import JobResult
from perforch_core.source import extras

from .. import workload_files
from ..app import App, AppConfig
from . import render, scaling_plot


def parse_target(target: str) -> tuple[Path, str]:
    path, sep, function = target.rpartition("::")
    if not sep or not path or not function:
        raise ConfigError(f"target {target!r} must look like path/to/file.py::function")
    if source_files.language_of(path) is None:
        raise ConfigError(
            f"{path}: unknown language", hint="PerfOrch reads .py, .cpp/.cc/.h, .java, .go, .rs"
        )
    return Path(path), function


def add_arguments(p: argparse.ArgumentParser, action: Action) -> None:
    p.add_argument("target", help="path/to/file.{py,cpp,java,go,rs}::function")
    if action is Action.OPTIMIZE:
        p.add_argument("--metric", choices=[m.value for m in Metric], default="exec_time")
        p.add_argument(
            "--threshold",
            type=float,
            default=DEFAULT_POLICY.threshold_pct,
            help=f"minimum improvement (%%) to accept, default {DEFAULT_POLICY.threshold_pct:g}",
        )
        p.add_argument(
            "--tests-only",
            action="store_true",
            help="measure on the tests and check candidates by them alone: no generated "
            "workload (Python has one by default: a model writes an input generator)",
        )
        p.add_argument(
            "--repair-rounds",
            type=int,
            default=DEFAULT_POLICY.repair_rounds,
            help="times a refine candidate that fails gets the failure back before it is "
            f"rolled back, default {DEFAULT_POLICY.repair_rounds}",
        )
        p.add_argument(
            "--no-second-chance",
            action="store_true",
            help="do not ask a model again when it returned the code unchanged",
        )
        p.add_argument(
            "--profile-feedback",
            action="store_true",
            help="tell the refine prompt where the time goes (hot lines, growth); off by default",
        )
        p.add_argument(
            "--no-explain",
            action="store_true",
            help="do not ask the accepting model to explain its change (one LLM call)",
        )
        p.add_argument(
            "--save-workload",
            type=Path,
            metavar="FILE",
            help="write the generated workload (generator and inputs at the measured size) as a "
            "file you keep: a pytest file (Python), a Go benchmark (a FILE ending _test.go beside "
            "the function, its inputs in testdata/), or, for the other languages, the input "
            "generator (a .py FILE); never over an existing file",
        )
    p.add_argument("--models", help="comma-separated model names to use (default: the pool)")
    p.add_argument(
        "--policy",
        choices=["sequential", "top1", "best_of_n", "pinned"],
        default=None,
        help="default: sequential, or pinned when --models is given",
    )
    p.add_argument(
        "--n",
        type=int,
        default=DEFAULT_POLICY.n,
        help="models per stage for sequential/best_of_n",
    )
    p.add_argument(
        "--tests",
        type=Path,
        help="a file with the tests (doctest text, test_* "
        "functions importing the function, or a HumanEval check())",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    talk = p.add_mutually_exclusive_group()
    talk.add_argument(
        "-q", "--quiet", action="store_true", help="print only the outcome and the diff"
    )
    talk.add_argument(
        "--verbose",
        dest="detail_verbose",
        action="store_true",
        help="print every measuring process's values too",
    )
    p.add_argument("--apply", action="store_true", help="write the result into the file")
    p.add_argument(
        "--tag-models",
        help="comma-separated models that tag the problem's "
        "categories by majority vote (default: the keyword tagger, no LLM call)",
    )
    p.add_argument("--python", help="Python interpreter that runs the code (default: this one)")
    b = DEFAULT_BUDGET
    p.add_argument("--max-calls", type=int, default=b.max_llm_calls, help="LLM call budget")
    p.add_argument("--max-seconds", type=float, default=b.max_wall_s, help="wall-time budget")
    p.add_argument("--max-cost", type=float, default=b.max_cost_usd, help="cost budget in USD")


def _policy(args: argparse.Namespace, models: list[str]) -> Policy:
    kind = cast(PolicyKind, args.policy or ("pinned" if models else "sequential"))
    policy = Policy.of(
        kind,
        models,
        n=args.n,
        threshold_pct=getattr(args, "threshold", None),
        how_to_name="pass --models",
    )
    if getattr(args, "tests_only", False):
        policy = policy.model_copy(update={"generated_workload": False})
    if hasattr(args, "repair_rounds"):
        policy = Policy.model_validate(
            {
                **policy.model_dump(),
                "repair_rounds": args.repair_rounds,
                "second_chance": not args.no_second_chance,
                "profile_feedback": args.profile_feedback,
                "explain": not args.no_explain,
            }
        )
    return policy


def apply_result(path: Path, function: str, result: JobResult, original: str) -> None:
    """Write the final function into the file if it still holds ``original`` (the function's
    text when the job started: for generate, the stub, which the job itself saw as empty)."""
    source = path.read_text(encoding="utf-8")
    language = source_files.language_of(path)
    assert language is not None  # the task was made from this path
    if source_files.find_code(language, source, function, str(path)) != original:
        raise SourceError(
            f"{path} changed while the job ran; the result was not applied",
            hint="run again, or apply the diff by hand",
        )
    new = source_files.replace_function(language, source, function, result.final_code)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)


async def save_workload(app: App, path: Path, task: Task, result: JobResult, saving: Path) -> str:
    """``--save-workload FILE``: the job's generated workload as a file the user keeps
    (:mod:`server.workload_files`). Returns what to tell the user."""
    if result.workload is None:
        return "no generated workload to save (refinement measured on the tests)"
    saved = await workload_files.save(app.profiler, path, task, result.workload, saving)
    return saved.message


async def run_job(args: argparse.Namespace, action: Action, memory_path: Path) -> int:
    out = Console(stderr=args.json)
    path, function = parse_target(args.target)
    metric = Metric(getattr(args, "metric", "exec_time"))
    task = source_files.task_from_file(path, function, tests_file=args.tests, metric=metric)
    original = task.current_code or ""  # what --apply may replace: the stub, for generate
    models = [m.strip() for m in (args.models or "").split(",") if m.strip()]
    policy = _policy(args, models)
    budget = Budget(
        max_llm_calls=args.max_calls, max_wall_s=args.max_seconds, max_cost_usd=args.max_cost
    )
    tag_models = [m.strip() for m in (args.tag_models or "").split(",") if m.strip()]
    config = AppConfig(
        memory_path=memory_path, models=models, tag_models=tag_models, interpreter=args.python
    )
    async with await App.open(config) as app:
        if not args.quiet:
            out.print(
                f"tests: {task.tests.origin} ({task.tests.kind}); models: {', '.join(app.pool)}",
                soft_wrap=True,
            )
        job = app.executor().start(task, action, policy, budget)
        try:
            detail = "quiet" if args.quiet else "verbose" if args.detail_verbose else "normal"
            with render.LiveView(out, detail) as view:
                async for event in job:
                    view.show(event)
        except asyncio.CancelledError:
            job.cancel()
            raise
        result = await job.result()
        saving: Path | None = getattr(args, "save_workload", None)
        saved = await save_workload(app, path, task, result, saving) if saving else ""
    if result.scaling is not None:
        png = scaling_plot.draw(
            result.scaling,
            scaling_plot.reports_dir() / f"{job.id}-complexity.png",
            f"{path.name}::{function}, {result.accepted_model}",
        )
        if png is not None:
            scaling = result.scaling.model_copy(update={"plot": str(png)})
            result = result.model_copy(update={"scaling": scaling})
    diff = extras.file_diff(
        task.language, task.prefix, task.suffix, original, result.final_code, str(path)
    )
    render.summary(out, result, str(path), diff if result.changed else None, quiet=args.quiet)
    if args.apply and result.status == "succeeded" and result.changed:
        apply_result(path, function, result, original)
        out.print(f"applied to {path}")
    elif result.changed:
        out.print("not applied (pass --apply to write it into the file)")
    if saved:
        out.print(saved, soft_wrap=True)
    if args.json:
        data = {**result.model_dump(mode="json"), "file_diff": diff if result.changed else ""}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    return 0 if result.status == "succeeded" else 1
