"""Complexity evidence for an accepted refinement: one call of the original and of the change
at growing sizes of the generated workload (the workload's size halved up to six times), and
the exponent of a least-squares line through the larger sizes on log-log axes, so the user
reads "n^2.0 → n^1.0" beside the measured gain. Sizes below the fit are shown but not fitted:
there the call's fixed cost hides how it grows.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

import numpy as np

from .errors import ProfilerError
from .models import Metric, Scaling, ScalingResult, Task, Workload

log = logging.getLogger("perforch.complexity")

HALVINGS = 6  # sizes: the workload's, then halved this many times
# Seeds scaled: a workload of thousands of fixed-size inputs (its cost does not grow) is
# scaled on its first three, as any other; thousands of calls per size would say no more.
SCALED_SEEDS = 3
FIT_SPAN = 8  # the fit covers the sizes ≥ the workload's size ÷ this
MIN_FIT_POINTS = 3


class ScalingProfiler(Protocol):
    async def scaling(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        generator: str,
        sizes: list[int],
        seeds: list[int],
        metric: Metric,
    ) -> ScalingResult: ...


def sizes(workload: Workload) -> list[int]:
    return sorted({max(1, workload.size >> k) for k in range(HALVINGS + 1)})


def exponent(sizes: list[int], costs: list[float]) -> float | None:
    """k of cost ≈ c·n^k fitted on log-log axes; None with fewer than three usable points."""
    usable = [(n, c) for n, c in zip(sizes, costs, strict=True) if n > 0 and c > 0]
    if len(usable) < MIN_FIT_POINTS or len({n for n, _ in usable}) < MIN_FIT_POINTS:
        return None
    x = np.log([n for n, _ in usable])
    y = np.log([c for _, c in usable])
    slope = float(np.polyfit(x, y, 1)[0])
    return slope if math.isfinite(slope) else None


def evidence(metric: Metric, result: ScalingResult, workload_size: int) -> Scaling:
    """The points with each side's fitted exponent over the larger sizes; none when the
    generator ignores its size (the same inputs at every size: a flat line through them
    would read as "n^0.0", a claim about inputs that never grew)."""
    points = result.points
    fitted = [p for p in points if p.size >= max(1, workload_size // FIT_SPAN)]
    ns = [p.size for p in fitted]
    unfitted = ""
    if result.size_ignored:
        unfitted = (
            "not fitted: the generator returns the same inputs at every size (it ignores its "
            "size), so the sizes do not say how large the inputs are"
        )
    return Scaling(
        metric=metric,
        unit=result.unit,
        points=tuple(points),
        exponent_before=None if unfitted else exponent(ns, [p.baseline for p in fitted]),
        exponent_after=None if unfitted else exponent(ns, [p.candidate for p in fitted]),
        fitted_from=min(ns) if ns else workload_size,
        unfitted=unfitted,
    )


async def measure(
    profiler: object, task: Task, original: str, changed: str
) -> tuple[Scaling | None, str]:
    """The evidence for ``changed`` against ``original`` on the task's workload, or None and
    why not (no workload, a profiler without it, or the calls failed)."""
    workload = task.workload
    if workload is None:
        return None, "no generated workload to scale"
    if not hasattr(profiler, "scaling"):
        return None, "this profiler does not scale workloads"
    scaler: ScalingProfiler = profiler  # type: ignore[assignment]
    try:
        result = await scaler.scaling(
            task,
            original,
            changed,
            workload.generator,
            sizes(workload),
            list(workload.seeds[:SCALED_SEEDS]),
            task.metric,
        )
    except ProfilerError as exc:
        return None, f"the sizes could not be measured: {exc}"
    if not result.ok or not result.points:
        return None, f"the sizes could not be measured: {result.error or 'no point'}"
    return evidence(task.metric, result, workload.size), ""
