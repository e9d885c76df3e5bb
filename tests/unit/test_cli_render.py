"""What the CLI prints at 80 columns: a diff whole (never cropped), in a pipe and on a
terminal; the tables' rows on one line each, the details under them; --quiet."""

from __future__ import annotations

import io

from rich.console import Console

from perforch_core import describe
from perforch_core.models import Action, Interval, Measurement, Metric, Stage, Verdict
from perforch_core.result import Attempt, JobResult
from server.cli import render

LONG = "        if start <= last_end:  # fix: touching ranges (start == last_end) are merged " + (
    "into one, as the docstring says" + "!" * 40
)


def _result() -> JobResult:
    original = "def merge(ranges):\n    return ranges\n"
    final = f"def merge(ranges):\n{LONG}\n    return ranges\n"
    attempts = tuple(
        Attempt(
            stage=Stage.REFINE,
            model=f"local/qwen2.5-coder-{size}",
            score=0.71,
            outcome="failed_tests",
            detail="1 of 3 failed: test_merge_touching: AssertionError: " + "x" * 120,
            retry=retry,
        )
        for size, retry in (("1.5b", ""), ("1.5b", "repair"), ("0.5b", ""))
    )
    return JobResult(
        job_id="j",
        action=Action.OPTIMIZE,
        task_id="r.py::merge",
        metric=Metric.EXEC_TIME,
        status="succeeded",
        message="exec time −30 % by local/qwen2.5-coder-1.5b",
        original_code=original,
        final_code=final,
        attempts=attempts,
    )


def _printed(terminal: bool, quiet: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=80, force_terminal=terminal, color_system=None)
    render.summary(console, _result(), "r.py", quiet=quiet)
    return buf.getvalue()


def test_a_150_character_line_of_the_diff_is_printed_whole_at_80_columns():
    assert len(LONG) > 150
    for terminal in (False, True):
        out = _printed(terminal)
        assert f"+{LONG}" in out.splitlines(), terminal  # one line, every character


def test_the_attempts_table_keeps_each_row_on_one_line_and_the_details_follow():
    out = _printed(False)
    rows = [ln for ln in out.splitlines() if "qwen2.5-coder" in ln and "refine" in ln]
    assert len(rows) == 3 and all(len(r) <= 80 for r in rows)
    assert "failed tests (repair)" in rows[1]
    assert "local/" not in "".join(rows)  # short names in the narrow table
    details = [ln for ln in out.splitlines() if ln.startswith(("1. ", "2. ", "3. "))]
    assert len(details) == 3 and details[0].endswith("x" * 120 + " (0 tokens)")  # whole


def test_quiet_prints_the_outcome_and_the_diff_only():
    out = _printed(False, quiet=True)
    assert "Models tried" not in out
    assert out.splitlines()[0] == "succeeded: exec time −30 % by local/qwen2.5-coder-1.5b"
    assert f"+{LONG}" in out.splitlines()


def test_a_verdicts_numbers_agree_with_its_change():
    """Each side's median over processes moves with the machine between processes; the
    one-line numbers show the candidate by the paired change, so a reader's own division
    gives the percentage printed beside them (47.59 → 46.42 ms beside −0.5 % was seen)."""
    before = Measurement(
        metric=Metric.EXEC_TIME, unit="ns", values=(47.59e6, 52.0e6, 45.0e6), summary=47.59e6
    )
    after = Measurement(
        metric=Metric.EXEC_TIME, unit="ns", values=(46.42e6, 51.0e6, 45.5e6), summary=46.42e6
    )
    v = Verdict(
        metric=Metric.EXEC_TIME,
        decision="not_improved",
        improvement_pct=0.5,
        interval_pct=Interval(low=-3.0, high=3.9),
        threshold_pct=5.0,
        before=before,
        after=after,
        processes=3,
        method="test",
    )
    line = describe.verdict(v)
    assert line.startswith("exec time 47.59 ms → 47.35 ms: no significant gain, −0.5 %")
    out = io.StringIO()
    Console(file=out, width=200).print(render.measurement_table(v))
    assert "46.420 ms" in out.getvalue() or "46.42 ms" in out.getvalue()  # the table: medians
