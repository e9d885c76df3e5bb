"""The profiler's decision rule on synthetic per-process ratios: the verdicts, and the error
rates of the whole plan (looks of 4 and 8 processes) on simulated noise, which the previous
rule (a percentile bootstrap over 3 → 5 → 8 processes) did not meet."""

from __future__ import annotations

import math

import numpy as np

from profiler import stats

LEVEL = stats.look_confidence(len(stats.LOOKS))


def run_plan(draw, threshold_pct: float = 5.0) -> stats.RatioDecision:
    """The plan as the harness runs it: a look at each of LOOKS while inconclusive."""
    ratios: list[float] = []
    decision = None
    for look in stats.LOOKS:
        ratios += [draw() for _ in range(look - len(ratios))]
        decision = stats.decide(ratios, threshold_pct, LEVEL)
        if decision.decision != "inconclusive":
            break
    assert decision is not None
    return decision


def test_clear_improvement_is_improved_with_an_interval_around_it():
    d = stats.decide([1.25, 1.24, 1.26, 1.25], threshold_pct=5, confidence=LEVEL)
    assert d.decision == "improved"
    assert 15 < d.low_pct <= d.improvement_pct <= d.high_pct < 25  # ±20 % of log 1.25


def test_no_change_is_not_improved():
    d = stats.decide([1.001, 0.998, 1.002, 1.0], threshold_pct=5, confidence=LEVEL)
    assert d.decision == "not_improved"


def test_one_slow_process_of_three_is_not_improved_any_more():
    """The issue's case: the bootstrap said improved (+1.2 % lower bound) although one process
    in three ran 5 % slower; three values cannot rule that out."""
    d = stats.decide([0.95, 1.15, 1.15], threshold_pct=5)
    assert d.decision == "inconclusive" and d.low_pct < 0


def test_a_small_but_significant_gain_below_the_threshold_is_not_accepted():
    # +3.8 %: significant (beyond the ±3.5 % floor) but under the 5 % minimum effect. Not
    # accepted; "inconclusive", since the floor does not rule a 5 % gain out either.
    d = stats.decide([1.04, 1.041, 1.039, 1.04, 1.04], threshold_pct=5, confidence=LEVEL)
    assert d.low_pct > 0 and d.improvement_pct < 5
    assert d.decision == "inconclusive"


def test_one_process_never_decides():
    d = stats.decide([2.0], threshold_pct=5)
    assert d.decision == "inconclusive" and d.low_pct == -math.inf


def test_same_data_same_verdict():
    data = [1.08, 1.02, 1.11, 1.06]
    assert stats.decide(data, 5) == stats.decide(list(data), 5)


def test_the_interval_is_students_t_over_the_log_ratios():
    logs = np.log([1.10, 1.05, 1.12, 1.07])
    half = 3.182446305284263 * np.std(logs, ddof=1) / 2  # t(0.975, 3 df)
    low, high = stats.t_interval([1.10, 1.05, 1.12, 1.07], 0.95, floor=0.0)
    assert math.isclose(low, math.exp(logs.mean() - half), rel_tol=1e-9)
    assert math.isclose(high, math.exp(logs.mean() + half), rel_tol=1e-9)


def test_the_plan_holds_its_coverage_and_its_aa_error_on_simulated_processes():
    """2,000 simulated comparisons per case, per-process log-ratio = effect + normal noise
    (sd 2 %, the A/A spread measured here) or heavy-tailed noise (t with 3 df): the reported
    interval holds the true effect in ≥ 94 % and an A/A lower bound is above 0 in ≤ 3.5 %.
    The previous rule (bootstrap, 3 → 5 → 8), simulated the same way, held it in 57–63 % and
    put the A/A bound above 0 in 19–20 %."""
    rng = np.random.default_rng(11)
    for noise in ("normal", "heavy"):
        for effect in (1.0, 1.05, 1.10):

            def draw(noise: str = noise, effect: float = effect) -> float:
                e = rng.normal(0, 0.02) if noise == "normal" else 0.012 * rng.standard_t(3)
                return effect * math.exp(e)

            truth = improvement_pct(effect)
            runs = [run_plan(draw) for _ in range(2000)]
            covered = sum(d.low_pct <= truth <= d.high_pct for d in runs) / len(runs)
            assert covered >= 0.94, (noise, effect, covered)
            if effect == 1.0:
                above = sum(d.low_pct > 0 for d in runs) / len(runs)
                assert above <= 0.035, (noise, above)
                assert not any(d.decision == "improved" for d in runs)
            if effect == 1.10:
                found = sum(d.decision == "improved" for d in runs) / len(runs)
                assert found >= 0.97, (noise, found)


def improvement_pct(ratio: float) -> float:
    return stats.improvement_pct(ratio)


def test_no_interval_is_narrower_than_the_machines_resolution():
    # Near the threshold the ±3.5 % floor decides (up to a 1.19x ratio).
    low, high = stats.t_interval([1.08, 1.08, 1.08, 1.08], 0.95)
    assert math.isclose(low, 1.08 * math.exp(-stats.MIN_HALF_WIDTH))
    assert math.isclose(high, 1.08 * math.exp(stats.MIN_HALF_WIDTH))
    # A large effect: the machine's state moves it by a share of its size (40x: 19x-84x).
    low, high = stats.t_interval([40.0] * 6, 0.95)
    half = stats.RELATIVE_HALF_WIDTH * math.log(40.0)
    assert math.isclose(low, 40.0 * math.exp(-half)) and math.isclose(high, 40.0 * math.exp(half))
    assert 19 < low < 19.5 and 83 < high < 84.5
    # Between, the larger of the two: 1.3x is ±5.2 %, not ±3.5 %.
    low, high = stats.t_interval([1.3] * 6, 0.95)
    assert math.isclose(high / low, math.exp(2 * stats.RELATIVE_HALF_WIDTH * math.log(1.3)))


def test_adding_processes_while_undecided_does_not_raise_false_accepts():
    """10 % per-process noise, no true effect, no minimum effect: "improved" is a false accept.
    The previous rule's optional stopping over 3 → 5 → 8 gave 26 % in this simulation; the
    plan keeps them at its one-sided 2.5 %."""
    rng = np.random.default_rng(5)
    runs = [run_plan(lambda: math.exp(rng.normal(0, 0.10)), threshold_pct=0.0) for _ in range(4000)]
    false_accepts = sum(d.decision == "improved" for d in runs) / len(runs)
    assert false_accepts <= 0.03, false_accepts
