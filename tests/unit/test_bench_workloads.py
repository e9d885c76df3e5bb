"""``perforch bench workloads``' pieces that need no model or profiler: ENAMEL's generator as
PerfOrch's, the significance of a verdict, and the report's agreement rate."""

from __future__ import annotations

import random

from perforch_core.models import Interval, Measurement, Metric, Verdict
from server.cli import bench_workloads as bw
from server.cli import enamel


def test_enamels_generator_becomes_a_seeded_generate_input_at_a_fixed_level():
    row = enamel.rows()["HumanEval/0"]
    space: dict[str, object] = {}
    exec(enamel.reference_generator(row["input_generator"], 3), space)
    generate = space["generate_input"]
    a = generate(1000, random.Random(7))  # type: ignore[operator]
    b = generate(1000, random.Random(7))  # type: ignore[operator]
    c = generate(1000, random.Random(8))  # type: ignore[operator]
    numbers, threshold = a
    assert a == b and a != c  # deterministic per seed, as the probe requires
    assert len(numbers) == 1000 and 0.1 <= threshold <= 0.5
    assert "def generate_input(size, rng)" in enamel.reference_generator(row["input_generator"], 0)


def test_each_seed_draws_one_of_the_levels_enamel_cases_not_always_the_edge_case():
    """Case 0 of level 0 is often a fixed edge case: ENAMEL's fib gives n = 0 there, and a
    judge that always took it measured fib(0) for every change at that level."""
    row = enamel.rows()["HumanEval/55"]
    space: dict[str, object] = {}
    exec(enamel.reference_generator(row["input_generator"], 0), space)
    generate = space["generate_input"]
    ns = {generate(10, random.Random(seed))[0] for seed in range(40)}  # type: ignore[operator]
    assert ns == {0, 3, 4, 5, 6, 7, 8, 9}  # n = 10 - case, case 0 is n = 0: all 8 cases


def _verdict(low: float, high: float) -> Verdict:
    m = Measurement(metric=Metric.EXEC_TIME, values=(1.0,), unit="ns", summary=1.0)
    return Verdict(
        metric=Metric.EXEC_TIME,
        decision="not_improved",
        improvement_pct=(low + high) / 2,
        interval_pct=Interval(low=low, high=high),
        threshold_pct=5.0,
        before=m,
        after=m,
        processes=6,
        method="",
    )


def test_significance_is_the_interval_excluding_zero():
    assert bw.significant(_verdict(2.0, 9.0)) == 1
    assert bw.significant(_verdict(-30.0, -1.0)) == -1
    assert bw.significant(_verdict(-1.0, 3.0)) == 0
    assert bw.significant(None) == 0


def test_the_rate_counts_only_problems_whose_reference_differs():
    rows = [
        {"task": "HumanEval/1", "function": "f", "reference": 1, "generated": 1, "agrees": True},
        {"task": "HumanEval/2", "function": "g", "reference": 1, "generated": 0, "agrees": False},
        {"task": "HumanEval/3", "function": "h", "reference": 0, "generated": 1, "agrees": False},
    ]
    for r in rows:
        r["seconds"] = 1.0
    meta = {"date": "d", "machine": "m", "model": "x", "problems": 3, "seed": 1, "command": "c"}
    text = bw.report(meta, rows)
    assert "**Agreement: 1 of 2 problems whose reference differs significantly (50 %" in text
