"""``perforch bench fidelity``'s figures from stored rows: a scenario's coverage comes with its
exact binomial interval, so that a miss of the 90 % goal can be read for what it is."""

from __future__ import annotations

from server.cli import bench_fidelity as bf
from server.cli.fidelity_programs import Scenario


def _rows(held: int, runs: int) -> list[dict[str, object]]:
    """``runs`` comparisons around a truth of 0 %, the first ``held`` of them holding it."""
    return [
        {
            "low": -3.0 if i < held else 1.0,
            "high": 3.0,
            "decision": "not_improved",
            "improvement": 0.0,
            "processes": 6,
            "cost_s": 0.2,
        }
        for i in range(runs)
    ]


def test_coverage_comes_with_its_exact_binomial_interval():
    s = Scenario("aa", "A/A (no change)", "", "", 1, 1, 0.0)
    reference = {"improvement": 0.0, "low": -0.5, "high": 0.5, "ratios": [1.0] * 100}
    f = bf.summary(s, reference, _rows(44, 50))
    assert f["coverage"] == 0.88 and f["held"] == 44
    low, high = f["coverage_ci"]
    assert 0.75 < low < 0.77 and 0.95 < high < 0.96  # 44/50 cannot rule out 95 %
    f = bf.summary(s, reference, _rows(50, 50))
    assert f["coverage_ci"][1] == 1.0


def test_the_report_says_how_often_a_true_95_percent_misses_the_goal_by_chance():
    text = bf._coverage_chance(50)
    assert "probability 4 %" in text  # P(at most 44 of 50 | p = 0.95)
    assert bf._coverage_chance(0) == ""
