"""How many A/B pairs a comparison's later processes run (``pairs_within_budget``)."""

from __future__ import annotations

from profiler.harness.base import MIN_PAIRS, ProcessResult, pairs_within_budget


def first(k: int, baseline_ns: float, candidate_ns: float, unit: str = "ns") -> ProcessResult:
    return ProcessResult(
        ratio=baseline_ns / candidate_ns,
        baseline=baseline_ns,
        candidate=candidate_ns,
        unit=unit,
        batch_calls=k,
    )


def test_batches_at_their_target_keep_the_default():
    # a 0.35 ms test run, three per batch: a pair costs ~2 ms, as the default assumes
    assert pairs_within_budget(first(3, 340_000, 330_000), 10, 1_000_000) == 10


def test_long_test_runs_get_fewer_pairs_but_never_below_the_minimum():
    # 3.3 ms per run (k = 1): a pair costs 6.7 ms, 10 pairs' budget at ≤ 2 ms batches is 40 ms
    assert pairs_within_budget(first(1, 3_300_000, 3_400_000), 10, 1_000_000) == 5
    assert pairs_within_budget(first(1, 9_000_000, 9_000_000), 10, 1_000_000) == MIN_PAIRS
    # Java's 2 ms target, 20 pairs: 160 ms; 3 ms per side makes a pair 6 ms
    assert pairs_within_budget(first(1, 3_000_000, 3_000_000), 20, 2_000_000) == 20
    assert pairs_within_budget(first(1, 8_000_000, 8_000_000), 20, 2_000_000) == 10


def test_other_units_keep_the_default():
    assert pairs_within_budget(first(1, 0.5, 0.6, unit="ratio"), 10, 1_000_000) == 10
