"""``perforch bench aa``'s figures and report from recorded comparisons."""

from __future__ import annotations

from server.cli.bench_aa import figures, report


def row(mirror: bool, ratios: list[float], decision: str = "not_improved", low: float = -1.0):
    return {
        "language": "cpp",
        "problem": "CPP/12",
        "mirror": mirror,
        "decision": decision,
        "improvement": 0.0 if mirror else 3.0,
        "low": low,
        "high": 4.0,
        "ratios": ratios,
        "run_ns": 140.0,
        "cost_s": 0.2,
    }


def test_the_pooled_lean_shows_what_the_plain_setting_leans_and_mirroring_cancels():
    mirrored = [row(True, [1.03, 1 / 1.03] * 3) for _ in range(4)]
    plain = [row(False, [1.03, 1.031] * 3, "improved", 0.5) for _ in range(4)]
    m, p = figures(mirrored), figures(plain)
    assert abs(m["lean"]) < 0.01 and m["lean_low"] < 0 < m["lean_high"]
    assert 2.8 < p["lean"] < 3.1 and p["lean_low"] > 0
    assert (m["improved"], m["above_zero"], p["improved"], p["above_zero"]) == (0, 0, 4, 4)
    text = report(
        {"measured": "now", "load": 0.1, "total_s": 60, "threshold": 5.0, "runs": 4},
        mirrored + plain,
    )
    assert "| mirrored | CPP/12 | 0.14 µs | 4 | 0 | 0 |" in text
    assert "| plain | CPP/12 | 0.14 µs | 4 | 4 | 4 |" in text
    assert "mirrored 0 improved and 0 lower bounds above 0 in 4 comparisons; plain 4 and 4" in text
