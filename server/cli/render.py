"""How the CLI shows a job: live event lines and a spinner while it runs, then tables, the
measurement with its interval, and the diff."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.spinner import Spinner
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from perforch_core import describe
from perforch_core import events as ev
from perforch_core.models import Scaling, Verdict
from perforch_core.result import JobResult


class LiveView:
    """Prints one line per meaningful event; a spinner line shows what is running now."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status = Spinner("dots", text="starting")
        self.live = Live(self.status, console=console, refresh_per_second=8, transient=True)
        self.samples: list[Any] = []

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def _say(self, text: str, style: str = "") -> None:
        self.live.console.print(Text(text, style=style))

    def _doing(self, text: str) -> None:
        self.status.update(text=text)

    def show(self, event: Any) -> None:
        """An event's log line (indented under the job's first) and its activity."""
        if isinstance(event, ev.MeasurementSample):
            self.samples.append(event)
        said = describe.event(event)
        if said.line is None:
            pass
        elif isinstance(event, ev.JobStarted):
            self._say(said.line, "bold")
        elif isinstance(event, ev.StageStarted):
            self._say(f"▶ {said.line}", "cyan")
        else:
            self._say(f"  {MARKS[said.tone]}{said.line}", TONES[said.tone])
        if said.activity is not None:
            self._doing(said.activity)


TONES = {"ok": "green", "bad": "red", "info": ""}
MARKS = {"ok": "✓ ", "bad": "✗ ", "info": ""}


def attempts_table(result: JobResult) -> Table:
    table = Table(title="Models tried", show_lines=False)
    for col in ("stage", "model", "Memory score", "outcome", "detail", "tokens", "time"):
        table.add_column(col, overflow="fold")
    for a in result.attempts:
        score = "—" if a.score is None or math.isnan(a.score) else f"{a.score:.2f}"
        style = {"passed": "green", "improved": "green"}.get(a.outcome, "")
        table.add_row(
            a.stage.value,
            a.model,
            score,
            a.outcome.replace("_", " "),
            a.detail[:160],
            str(a.prompt_tokens + a.completion_tokens),
            f"{a.latency_s:.1f}s",
            style=style,
        )
    return table


def measurement_table(v: Verdict) -> Table:
    table = Table(title=f"{v.metric.label}: before / after (per process, median)")
    table.add_column("")
    table.add_column("before")
    table.add_column("after")
    table.add_row(
        "median",
        describe.value(v.before.summary, v.before.unit),
        describe.value(v.after.summary, v.after.unit),
    )
    table.add_row(
        "processes",
        " ".join(describe.value(x, v.before.unit) for x in v.before.values),
        " ".join(describe.value(x, v.after.unit) for x in v.after.values),
    )
    if v.wall_before_ns is not None and v.wall_after_ns is not None:
        table.add_row(
            "wall time (median)",
            describe.value(v.wall_before_ns, "ns"),
            describe.value(v.wall_after_ns, "ns"),
        )
    table.add_row("change", describe.change(v), v.decision.replace("_", " "))
    if v.workload:
        table.add_row("workload", v.workload, "")
    if v.rejected:
        table.add_row("not accepted", v.rejected, "")
    if v.process_memory is not None:
        m, mib = v.process_memory, 1 << 20
        for label, field in (
            ("peak RSS above empty harness", "peak_rss"),
            ("mean RssAnon above empty harness", "mean_rss_anon"),
            ("peak VmData+VmStk above empty (paper)", "peak_vm_data_stk"),
        ):
            table.add_row(
                label,
                f"{m.above_empty('baseline', field) / mib:.2f} MiB",
                f"{m.above_empty('candidate', field) / mib:.2f} MiB",
            )
    if v.instructions is not None:
        table.add_row(
            "instructions per run (valgrind)",
            f"{v.instructions.baseline:,}",
            f"{v.instructions.candidate:,}",
        )
    table.caption = f"{v.note}\n{v.method}" if v.note else v.method
    return table


def scaling_table(s: Scaling) -> Table:
    """Complexity evidence: one call's cost at each size, before and after."""
    table = Table(title=f"complexity: {describe.scaling(s)}")
    table.add_column("n", justify="right")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for p in s.points:
        fitted = "" if p.size >= s.fitted_from else " (not fitted)"
        table.add_row(
            f"{p.size}{fitted}",
            describe.value(p.baseline, s.unit),
            describe.value(p.candidate, s.unit),
        )
    table.caption = f"plot: {s.plot}" if s.plot else "no plot (install the 'report' extra)"
    return table


def summary(console: Console, result: JobResult, path: str, diff: str | None = None) -> None:
    """The job's tables, its outcome and the diff (``diff``: the whole file's, when the caller
    has it; else the function's)."""
    if result.attempts:
        console.print(attempts_table(result))
    if result.verdict is not None:
        console.print(measurement_table(result.verdict))
    if result.scaling is not None:
        console.print(scaling_table(result.scaling))
    if result.workload is not None:
        w = result.workload
        console.print(
            Text(
                f"generated workload ({w.origin}): generate_input(size={w.size}) × seeds "
                f"{', '.join(map(str, w.seeds))} (--save-workload FILE keeps it as a test)",
                style="bold",
            )
        )
        console.print(Syntax(w.generator.strip(), "python", theme="ansi_dark"))
    cost = f", ${result.cost_usd:.4f}" if result.cost_usd else ""
    console.print(
        f"{result.llm_calls} LLM calls, {result.prompt_tokens} + "
        f"{result.completion_tokens} tokens{cost}, {result.elapsed_s:.1f} s"
    )
    style = {
        "succeeded": "bold green",
        "failed": "bold red",
        "error": "bold red",
        "cancelled": "yellow",
    }[result.status]
    console.print(Text(f"{result.status}: {result.message}", style=style))
    if result.changed:
        console.print(
            Group(
                Text("diff:", style="bold"),
                Syntax(diff or result.diff(path.lstrip("/")), "diff", theme="ansi_dark"),
            )
        )
    elif result.status == "failed":
        best = next((a for a in reversed(result.attempts) if a.code and a.tests), None)
        if best is not None:
            console.print(Text(f"best attempt ({best.model}) and its failure:", style="bold"))
            lexer = Syntax.guess_lexer(path, best.code or "")
            console.print(Syntax(best.code or "", lexer, theme="ansi_dark"))
            console.print(best.tests.failure_report() if best.tests else "")


def progress_bar(console: Console) -> Progress:
    """The progress bar of the long commands (study, eval, benchmarks): done of total, elapsed
    and remaining time."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
