"""The profiler's decision rule on synthetic per-process ratios."""

from __future__ import annotations

import random

from profiler import stats


def test_clear_improvement_is_improved_with_an_interval_around_it():
    d = stats.decide([1.25, 1.24, 1.26], threshold_pct=5)
    assert d.decision == "improved"
    assert 19 < d.low_pct <= d.improvement_pct <= d.high_pct < 21


def test_no_change_is_not_improved():
    d = stats.decide([1.001, 0.998, 1.002], threshold_pct=5)
    assert d.decision == "not_improved"


def test_noisy_borderline_is_inconclusive():
    d = stats.decide([1.15, 0.97, 1.02], threshold_pct=5)
    assert d.decision == "inconclusive"


def test_a_small_but_significant_gain_below_the_threshold_is_not_accepted():
    d = stats.decide([1.03, 1.031, 1.029, 1.03, 1.03], threshold_pct=5)
    assert d.low_pct > 0
    assert d.decision == "not_improved"


def test_one_process_never_decides():
    assert stats.decide([2.0], threshold_pct=5).decision == "inconclusive"


def test_same_data_same_verdict():
    data = [1.08, 1.02, 1.11, 1.06]
    assert stats.decide(data, 5) == stats.decide(list(data), 5)


def test_aa_noise_at_two_percent_sd_gives_no_false_positive_in_1000_trials():
    rng = random.Random(7)
    false_positives = sum(
        stats.decide([rng.gauss(1.0, 0.02) for _ in range(3)], 5).decision == "improved"
        for _ in range(1000)
    )
    assert false_positives == 0
