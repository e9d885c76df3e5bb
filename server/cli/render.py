"""How the CLI shows a job: live event lines and a spinner while it runs, then tables, the
measurement with its interval, and the diff."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
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

    def __init__(self, console: Console, detail: str = "normal") -> None:
        """``detail``: "quiet" prints no event line (the spinner still says what runs),
        "verbose" adds each measuring process's values."""
        self.console = console
        self.detail = detail
        self.status = Spinner("dots", text="starting")
        self.live = Live(self.status, console=console, refresh_per_second=8, transient=True)
        self.samples: list[Any] = []

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def _say(self, text: str, style: str = "") -> None:
        if self.detail != "quiet":
            self.live.console.print(Text(text, style=style), soft_wrap=True)

    def _doing(self, text: str) -> None:
        self.status.update(text=text)

    def show(self, event: Any) -> None:
        """An event's log line (indented under the job's first) and its activity."""
        if isinstance(event, ev.MeasurementSample):
            self.samples.append(event)
        said = describe.event(event)
        if said.line is None:
            if self.detail == "verbose" and said.activity:
                self._say(f"    {said.activity}", "dim")
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


def short_model(name: str) -> str:
    """A model's name for narrow tables: without the ``local/`` routing prefix."""
    return name.removeprefix("local/")


def attempts_table(result: JobResult) -> Table:
    """One row per attempt, narrow enough for 80 columns; the details follow the table, one
    per attempt (``attempt_details``), so that they wrap as text instead of inside a cell."""
    table = Table(title="Models tried", show_lines=False)
    for col, justify in (
        ("#", "right"),
        ("stage", "left"),
        ("model", "left"),
        ("score", "right"),
        ("outcome", "left"),
        ("time", "right"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for i, a in enumerate(result.attempts, 1):
        score = "—" if a.score is None or math.isnan(a.score) else f"{a.score:.2f}"
        style = {"passed": "green", "improved": "green"}.get(a.outcome, "")
        outcome = a.outcome.replace("_", " ") + (
            f" ({a.retry.replace('_', ' ')})" if a.retry else ""
        )
        table.add_row(
            str(i),
            a.stage.value,
            short_model(a.model),
            score,
            outcome,
            f"{a.latency_s:.1f}s",
            style=style,
        )
    return table


def attempt_details(console: Console, result: JobResult) -> None:
    for i, a in enumerate(result.attempts, 1):
        tokens = a.prompt_tokens + a.completion_tokens
        console.print(Text(f"{i}. {a.detail} ({tokens} tokens)"), soft_wrap=True)


def print_code(console: Console, code: str, lexer: str) -> None:
    """Code whole: highlighted and wrapped on a terminal, plain lines elsewhere."""
    if console.is_terminal:
        console.print(Syntax(code, lexer, theme="ansi_dark", word_wrap=True))
    else:
        console.print(code, soft_wrap=True, markup=False, highlight=False)


def print_diff(console: Console, diff: str) -> None:
    """The diff whole: every line written out in full (the terminal wraps what is wider), in
    colour only where the console has it."""
    styles = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))
    for line in diff.splitlines():
        style = next((st for prefix, st in styles if line.startswith(prefix)), "")
        console.print(Text(line, style=style), soft_wrap=True)


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
        fitted = "" if p.size >= s.fitted_from and not s.unfitted else " (not fitted)"
        table.add_row(
            f"{p.size}{fitted}",
            describe.value(p.baseline, s.unit),
            describe.value(p.candidate, s.unit),
        )
    table.caption = f"plot: {s.plot}" if s.plot else "no plot (install the 'report' extra)"
    return table


def summary(
    console: Console,
    result: JobResult,
    path: str,
    diff: str | None = None,
    quiet: bool = False,
) -> None:
    """The job's tables, its outcome and the diff (``diff``: the whole file's, when the caller
    has it; else the function's). ``quiet``: the outcome and the diff only."""
    if quiet:
        console.print(Text(f"{result.status}: {result.message}"), soft_wrap=True)
        if result.changed:
            print_diff(console, diff or result.diff(path.lstrip("/")))
        return
    if result.attempts:
        console.print(attempts_table(result))
        attempt_details(console, result)
    if result.verdict is not None:
        console.print(measurement_table(result.verdict))
    if result.explanation is not None:
        e = result.explanation
        console.print(Text(f"what changed, in {e.model}'s words: ", style="bold") + Text(e.text))
    if result.scaling is not None:
        console.print(scaling_table(result.scaling))
    if result.workload is not None:
        w = result.workload
        console.print(
            Text(
                f"generated workload ({w.origin}): generate_input(size={w.size}) × seeds "
                f"{w.seeds_text()} (--save-workload FILE keeps it as a test)",
                style="bold",
            )
        )
        print_code(console, w.generator.strip(), "python")
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
        console.print(Text("diff:", style="bold"))
        print_diff(console, diff or result.diff(path.lstrip("/")))
    elif result.status == "failed":
        best = next((a for a in reversed(result.attempts) if a.code and a.tests), None)
        if best is not None:
            console.print(Text(f"best attempt ({best.model}) and its failure:", style="bold"))
            print_code(console, best.code or "", Syntax.guess_lexer(path, best.code or ""))
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
