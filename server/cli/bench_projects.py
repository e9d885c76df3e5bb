"""``perforch bench projects``: the three jobs on every fixture project, as a user would run
them — optimize the function as it is, fix it after an injected bug, generate it from an
emptied body — each on a fresh copy of the project. Writes ``projects.md`` and
``projects.json``: per language, kind of project and action, whether the tests were found, how
many, whether the job succeeded and why not, LLM calls and time."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from perforch_core import languages, source
from perforch_core.errors import PerfOrchError
from perforch_core.models import Action, Language
from perforch_core.policy import Budget, Policy

from ..app import App, AppConfig
from . import render

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "projects"


@dataclass(frozen=True)
class Case:
    project: str  # a directory under tests/fixtures/projects
    file: str  # relative to the project
    function: str
    bug: tuple[str, str]


CASES = (
    Case(
        "python/intervalkit",
        "src/intervalkit/words.py",
        "has_duplicates",
        ("return True", "return False"),
    ),
    Case(
        "go/textstats", "words.go", "TopWords", ("counts[a] < counts[b]", "counts[a] > counts[b]")
    ),
    Case("rust/numkit", "src/stats.rs", "dedup_sorted", ("out.sort();", "out.reverse();")),
    Case(
        "rust/textws",
        "crates/wordcount/src/lib.rs",
        "distinct_words",
        ("out.push(w);", "out.insert(0, w);"),
    ),
    Case(
        "java/ranges-gradle",
        "src/main/java/org/example/ranges/Ranges.java",
        "merge",
        ("r[0] <= out.get(out.size() - 1)[1]", "r[0] < out.get(out.size() - 1)[1]"),
    ),
    Case(
        "java/wordstats",
        "src/main/java/com/example/wordstats/WordStats.java",
        "countDistinct",
        ("seen.add(key);", "seen.add(w);"),
    ),
    Case(
        "cpp/rangeutil", "src/rangeutil.cpp", "count_distinct", ("found = true;", "found = false;")
    ),
    Case("cpp/selftest", "histogram.cpp", "histogram", ("++c;", "c += 2;")),
)
ACTIONS = (Action.OPTIMIZE, Action.FIX, Action.GENERATE)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", help="comma-separated models (default: the local pool)")
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    p.add_argument("--only", help="comma-separated projects to run, e.g. go/textstats")


def emptied(language: Language, text: str, function: str) -> str:
    """``text`` with the function's body replaced by a stub that builds and fails."""
    support = languages.support(language)
    span = support.find_function(text, function)
    lines = text.splitlines(keepends=True)
    return "".join(lines[: span.start]) + support.stubbed(span) + "".join(lines[span.end :])


async def _one(
    app: App, case: Case, action: Action, policy: Policy, workdir: Path
) -> dict[str, Any]:
    project = workdir / Path(case.project).name
    shutil.copytree(FIXTURES / case.project, project)
    path = project / case.file
    text = path.read_text()
    language = source.language_of(path)
    assert language is not None
    if action is Action.FIX:
        path.write_text(text.replace(*case.bug))
    elif action is Action.GENERATE:
        path.write_text(emptied(language, text, case.function))
    row: dict[str, Any] = {
        "language": language.value,
        "project": case.project,
        "function": case.function,
        "action": action.value,
    }
    started = time.monotonic()
    try:
        task = source.task_from_file(path, case.function)
    except PerfOrchError as exc:
        row.update(tests_found=0, kind=None, status="no tests", why=str(exc), llm_calls=0)
        row["seconds"] = round(time.monotonic() - started, 1)
        return row
    spec = task.tests.project
    row.update(
        kind=spec.kind if spec else task.tests.kind, tests_found=len(spec.tests) if spec else 1
    )
    job = app.executor().start(task, action, policy, Budget(max_llm_calls=12, max_wall_s=900))
    async for _ in job:
        pass
    result = await job.result()
    why = ""
    if result.status != "succeeded" or not result.changed:
        why = result.message
        if result.status != "succeeded" and result.final_tests is not None:
            why += f" ({result.final_tests.summary()})"
    row.update(
        status=result.status,
        changed=result.changed,
        message=result.message,
        why=why,
        llm_calls=result.llm_calls,
        verdict=(
            f"{result.verdict.improvement_pct:+.1f} %" if result.verdict is not None else None
        ),
        seconds=round(time.monotonic() - started, 1),
    )
    return row


async def run(args: argparse.Namespace) -> int:
    console = Console()
    models = [m.strip() for m in (args.models or "").split(",") if m.strip()]
    only = {o.strip() for o in (args.only or "").split(",") if o.strip()}
    cases = [c for c in CASES if not only or c.project in only]
    # A scratch Memory (seeded as a new user's) unless `perforch --memory PATH` names one.
    memory = args.memory or Path(tempfile.mkdtemp(prefix="perforch-bench-")) / "memory.sqlite"
    policy = Policy.pin(models) if models else Policy()
    rows: list[dict[str, Any]] = []
    started = dt.datetime.now()
    config = AppConfig(memory_path=memory, models=models, test_timeout_s=120)
    async with await App.open(config) as app:
        pool = list(app.pool)
        with render.progress_bar(console) as bar:
            progress = bar.add_task("projects", total=len(cases) * len(ACTIONS))
            for case in cases:
                for action in ACTIONS:
                    bar.update(progress, description=f"{case.project} {action.value}")
                    with tempfile.TemporaryDirectory(prefix="perforch-bench-project-") as tmp:
                        rows.append(await _one(app, case, action, policy, Path(tmp)))
                    bar.advance(progress)
    meta = {
        "date": started.isoformat(timespec="minutes"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}",
        "models": pool,
        "policy": "pinned" if models else "sequential",
        "budget": "12 LLM calls, 900 s per job",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "projects.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n"
    )
    (args.out / "projects.md").write_text(report(meta, rows))
    console.print(report(meta, rows), markup=False, highlight=False)
    return 0


def report(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    out = [
        "# Jobs on real-shaped projects",
        "",
        "`perforch bench projects`: on every fixture project under `tests/fixtures/projects/` "
        "(a fresh copy each time), optimize the function as it is, fix it after an injected "
        "bug, generate it from an emptied body. The project's own build and tests judge.",
        "",
        f"Run {meta['date']} on {meta['machine']}; models {', '.join(meta['models'])} "
        f"({meta['policy']}); budget {meta['budget']}.",
        "",
        "| language | project (kind) | function | action | tests found | result | why not / "
        "gain | LLM calls | time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        result = r["status"] + ("" if r.get("changed", True) else " (unchanged)")
        detail = (r.get("why") or r.get("verdict") or "").replace("|", "\\|").replace("\n", " ")
        if r.get("verdict") and r["status"] == "succeeded":
            detail = f"exec time {r['verdict']}"
        out.append(
            f"| {r['language']} | {r['project']} ({r.get('kind')}) | `{r['function']}` | "
            f"{r['action']} | {r['tests_found']} | {result} | {detail[:220]} | "
            f"{r['llm_calls']} | {r['seconds']:.0f} s |"
        )
    found = sum(1 for r in rows if r["tests_found"])
    ok = sum(1 for r in rows if r["status"] == "succeeded")
    out += [
        "",
        f"Tests found in {found} of {len(rows)} jobs; {ok} of {len(rows)} jobs succeeded "
        "(an optimization that finds no significant gain succeeds, unchanged).",
        "",
    ]
    return "\n".join(out)
