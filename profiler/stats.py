"""The decision rule: does a candidate improve on its baseline? (pure functions, no I/O)

Input: one ratio per fresh process, ``r = baseline / candidate`` for the metric (each process's
ratio is itself the median of interleaved A/B batch pairs, so drifts of the machine between
processes cancel inside each ratio). Improvement in the paper's sense is
``(before − after) / before × 100 = (1 − 1/r) × 100``.

We bootstrap the geometric mean of the per-process ratios (resampling processes, the unit of
replication; fixed seed, so the same data always give the same verdict) and read a one-sided
95 % interval of the improvement. With minimum effect X (default 5 %):

- **improved**      when the lower bound > 0 (significant) *and* the point estimate ≥ X;
- **not improved**  when the upper bound < X (a gain of X is implausible);
- **inconclusive**  otherwise: the caller measures more processes (3 → 5 → 8) and, if it stays
  inconclusive, the candidate is not accepted.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from typing import Literal

Decision = Literal["improved", "not_improved", "inconclusive"]

BOOTSTRAP_RESAMPLES = 4000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class RatioDecision:
    decision: Decision
    improvement_pct: float
    low_pct: float
    high_pct: float


def improvement_pct(ratio: float) -> float:
    """Improvement (%) of the candidate given ``ratio = baseline / candidate``."""
    return (1.0 - 1.0 / ratio) * 100.0


def geometric_mean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def bootstrap_interval(
    ratios: list[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """One-sided 95 % bounds (low, high) of the geometric mean of ``ratios``."""
    if not ratios:
        raise ValueError("no ratios")
    logs = [math.log(r) for r in ratios]
    n = len(logs)
    if n == 1:
        return ratios[0], ratios[0]
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(logs, k=n)) for _ in range(resamples))
    alpha = 1.0 - CONFIDENCE
    low = means[int(alpha * resamples)]
    high = means[min(resamples - 1, int((1.0 - alpha) * resamples))]
    return math.exp(low), math.exp(high)


def decide(ratios: list[float], threshold_pct: float) -> RatioDecision:
    """Three-way verdict from per-process ratios (see the module docstring)."""
    clean = [r for r in ratios if r > 0 and math.isfinite(r)]
    if not clean:
        return RatioDecision("inconclusive", 0.0, -math.inf, math.inf)
    point = improvement_pct(geometric_mean(clean))
    lo_ratio, hi_ratio = bootstrap_interval(clean)
    low, high = improvement_pct(lo_ratio), improvement_pct(hi_ratio)
    decision: Decision
    if len(clean) >= 2 and low > 0.0 and point >= threshold_pct:
        decision = "improved"
    elif len(clean) >= 2 and high < threshold_pct:
        decision = "not_improved"
    else:
        decision = "inconclusive"
    return RatioDecision(decision, point, low, high)
