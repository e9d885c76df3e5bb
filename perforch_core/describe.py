"""Job events and measurements as text for people — the one renderer.

The CLI prints :func:`event`'s log lines and shows its activity under a spinner; the language
server sends both with every ``perforch/jobEvent`` (the VS Code client shows them in its job
view and draws charts and tables from the event's structured fields) and uses the activity as
the progress message; results and the editor's change annotation use :func:`verdict` and
:func:`change`. Text only: no I/O, no UI library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from . import events as ev
from .models import HotLine, Metric, Scaling, Verdict

Tone = Literal["ok", "bad", "info"]


@dataclass(frozen=True)
class Described:
    """What an event says: a line for the job's log (kept) and what is happening now
    (replaced by the next activity); either may be absent."""

    line: str | None = None
    tone: Tone = "info"
    activity: str | None = None


def signed(x: float, digits: int = 1) -> str:
    """``+1.2`` / ``−1.2`` (a real minus sign)."""
    return f"{'+' if x >= 0 else '−'}{abs(x):.{digits}f}"


def _precise(x: float) -> str:
    a = abs(x)
    return f"{x:.1f}" if a >= 100 else f"{x:.2f}" if a >= 10 else f"{x:.3f}"


def value(x: float, unit: str) -> str:
    """A measured value in its unit: ``26.565 ms``, ``78.7 µs``, ``1.50 MiB``, ``0.930``."""
    scales: list[tuple[float, str]] = []
    if unit == "ns":
        scales = [(1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns")]
    elif unit == "B":
        scales = [(1024.0**3, "GiB"), (1024.0**2, "MiB"), (1024.0, "KiB")]
    for scale, name in scales:
        if abs(x) >= scale:
            return f"{_precise(x / scale)} {name}"
    if unit == "B":
        return f"{round(x)} B"
    return f"{_precise(x)} {unit}".rstrip() if unit not in ("", "ratio") else _precise(x)


def change(v: Verdict) -> str:
    """The change of the metric with its interval (negative = less time or memory):
    ``−23.1 % (95 % CI −27.0…−19.2 %)``."""
    low, high = -v.interval_pct.high, -v.interval_pct.low
    return f"{signed(-v.improvement_pct)} % (95 % CI {signed(low)}…{signed(high)} %)"


def verdict(v: Verdict, *, numbers: bool = True) -> str:
    """A verdict in one line: the baseline's median and the candidate's value by the paired
    change (``numbers``; the two agree with the change), the change with its interval, and the
    decision with what it needed."""
    what = v.metric.label
    if numbers:
        before, after = value(v.before.summary, v.before.unit), value(v.paired_after, v.after.unit)
        what = f"{what} {before} → {after}:"
    if v.rejected:
        return f"{what} {change(v)}, not accepted: {v.rejected}"
    if v.decision == "improved":
        return f"{what} {change(v)}, {v.processes} processes, improved"
    if v.decision == "not_improved":
        return f"{what} no significant gain, {change(v)}; needs ≤ −{v.threshold_pct:g} %"
    why = f": {v.note}" if v.note else f", {change(v)}, {v.processes} processes"
    return f"{what} inconclusive{why}"


def exponent(k: float | None) -> str:
    return "n^?" if k is None else f"n^{k:.1f}"


def scaling(s: Scaling) -> str:
    """Complexity evidence in one line: ``time of one call ∝ n^2.0 → n^1.0 (n = 16…1024,
    fitted over n ≥ 128; at n = 1024: 4.10 ms → 61.2 µs)``."""
    what = "time of one call" if s.unit == "ns" else "peak memory of one call"
    last = s.points[-1]
    at = f"at n = {last.size}: {value(last.baseline, s.unit)} → {value(last.candidate, s.unit)}"
    first = s.points[0].size
    if s.unfitted:
        return f"{what}: n = {first}…{last.size}, {s.unfitted}; {at}"
    return (
        f"{what} ∝ {exponent(s.exponent_before)} → {exponent(s.exponent_after)} "
        f"(n = {first}…{last.size}, fitted over n ≥ {s.fitted_from}; {at})"
    )


def hot_lines(lines: Sequence[HotLine], limit: int = 3) -> str:
    """``line 4 `for j in …` 62 % (1,225×); …``: the function's lines by share of its time."""
    return "; ".join(
        f"line {h.offset} `{h.code[:60]}` {h.share * 100:.0f} % ({h.hits:,}×)"
        for h in lines[:limit]
    )


def measurement(metric: Metric, x: float, unit: str) -> str:
    """One side's measurement, said in full (the refine prompt's report)."""
    if metric is Metric.EXEC_TIME:
        return f"{x / 1e6:.3f} ms of CPU time per run of the tests"
    if metric is Metric.CPU_UTILIZATION:
        return f"CPU utilization {x:.2f}"
    label = "mean" if metric is Metric.AVG_MEMORY else "peak"
    return f"{label} memory {x / 1024:.1f} KiB allocated while running the tests"


def _score(score: float | None) -> str:
    return "no data" if score is None or math.isnan(score) else f"{score:.2f}"


def equivalence(generated: int, tests: int) -> str:
    """What differential testing found of a candidate that passed it."""
    on = [
        f"{n:,} {what}"
        for n, what in (
            (generated, "generated inputs" if generated != 1 else "generated input"),
            (tests, "inputs from the tests" if tests != 1 else "input from the tests"),
        )
        if n
    ]
    return f"behaves as the original on {' and '.join(on)}"


def event(e: BaseModel) -> Described:
    """The text of one job event."""
    if isinstance(e, ev.JobStarted):
        metric = f" for {e.metric.label}" if e.metric else ""
        categories = f"; categories: {', '.join(e.categories)}" if e.categories else ""
        return Described(
            f"{e.action.value} {e.task_id}{metric} (policy {e.policy}{categories})",
            activity="started",
        )
    if isinstance(e, ev.StageStarted):
        ranked = ", ".join(f"{r.model} {_score(r.score)}" for r in e.ranking[:5]) or "no models"
        return Described(
            f"{e.stage.value}: Memory ranks {ranked}",
            activity=f"{e.stage.value}: ranking models",
        )
    if isinstance(e, ev.ModelChosen):
        return Described(
            f"{e.stage.value}: trying {e.model} ({e.why})",
            activity=f"{e.stage.value}: asking {e.model} (score {_score(e.score)})",
        )
    if isinstance(e, ev.LLMReplied):
        if e.ok:
            return Described(
                f"{e.model} replied in {e.latency_s:.1f} s ({e.completion_tokens} tokens)",
                activity=f"{e.stage.value}: testing {e.model}'s code",
            )
        return Described(
            f"{e.model} failed: {e.error or 'no reply'}",
            "bad",
            activity=f"{e.stage.value}: {e.model} failed",
        )
    if isinstance(e, ev.TestsRun):
        who = e.model or "your code"
        summary = e.outcome.summary()
        return Described(
            f"tests on {who}: {summary}",
            "ok" if e.outcome.passed else "bad",
            activity=f"testing {who}: {summary}",
        )
    if isinstance(e, ev.MeasurementSample):
        return Described(
            activity=f"measuring {e.metric.label}: process {e.process}, "
            f"{value(e.baseline, e.unit)} → {value(e.candidate, e.unit)}"
        )
    if isinstance(e, ev.Measured):
        return Described(
            f"measured {e.model}: {verdict(e.verdict)}",
            "ok" if e.verdict.improved else "bad",
            activity=f"{e.model}: {e.verdict.decision.replace('_', ' ')}",
        )
    if isinstance(e, ev.WorkloadPrepared):
        w = e.workload
        if e.benchmarks:
            return Described(
                f"measuring on your benchmarks: {', '.join(e.benchmarks)} ({e.detail})",
                "ok",
                activity="refine: your benchmarks",
            )
        if w is None:
            return Described(f"measuring on the tests: {e.detail}", activity="refine: no workload")
        call = f", one call of the original {value(w.per_call_ns, 'ns')}" if w.per_call_ns else ""
        return Described(
            f"workload {e.detail}: generate_input(size={w.size}) × {len(w.seeds)} seeds{call}",
            "ok",
            activity=f"refine: workload of size {w.size}",
        )
    if isinstance(e, ev.ProfilerRestarted):
        return Described(
            f"the profiler daemon died while {e.during} ({e.detail}): "
            "it was started again and this step runs again",
            "bad",
            activity=f"profiler restarted: {e.during} again",
        )
    if isinstance(e, ev.Explained):
        return Described(f"{e.model} says (its words): {e.text}")
    if isinstance(e, ev.EquivalenceChecked):
        return Described(
            f"{e.model}'s code {equivalence(e.generated, e.tests)} (return value, arguments "
            "afterwards, exception type)",
            "ok",
            activity=f"refine: checked {e.model}'s code against the original",
        )
    if isinstance(e, ev.HotspotsFound):
        return Described(f"hot spots: {hot_lines(e.lines)}", activity="refine: profiling")
    if isinstance(e, ev.ScalingMeasured):
        if e.scaling is None:
            return Described(f"no complexity evidence: {e.detail}")
        return Described(scaling(e.scaling), "ok", activity="refine: complexity evidence")
    if isinstance(e, ev.CandidateAccepted):
        return Described(f"accepted {e.model or 'your code'} ({e.stage.value}): {e.reason}", "ok")
    if isinstance(e, ev.RolledBack):
        return Described(
            f"rolled back {e.model}: {e.reason}", "bad", activity=f"rolled back {e.model}"
        )
    if isinstance(e, ev.JobFinished):
        return Described(activity=e.summary)
    if isinstance(e, ev.JobFailed):
        return Described(f"{e.error_type}: {e.error}", "bad", activity=f"failed: {e.error}")
    if isinstance(e, ev.JobCancelled):
        return Described(activity="cancelled")
    return Described()
