"""The complexity evidence of a job as a log-log PNG (matplotlib, the ``report`` extra): one
call's cost against the input's size, before and after, with each fitted exponent."""

from __future__ import annotations

import os
from pathlib import Path

from perforch_core import describe
from perforch_core.models import Scaling


def reports_dir() -> Path:
    """Where the CLI keeps the plots it draws: ``reports`` in PerfOrch's cache."""
    root = Path(os.environ.get("PERFORCH_CACHE", Path.home() / ".cache" / "perforch"))
    return root / "reports"


def draw(scaling: Scaling, path: Path, title: str) -> Path | None:
    """The plot at ``path``; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    sizes = [p.size for p in scaling.points]
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    for label, values, k, marker in (
        ("before", [p.baseline for p in scaling.points], scaling.exponent_before, "o"),
        ("after", [p.candidate for p in scaling.points], scaling.exponent_after, "s"),
    ):
        ax.loglog(sizes, values, marker=marker, label=f"{label}: {describe.exponent(k)}")
    if scaling.unfitted:  # the sizes are labels: the generator ignores them
        ax.set_xlabel("size n given to generate_input (the same inputs at every n)")
    else:
        ax.axvspan(scaling.fitted_from, max(sizes), alpha=0.08, color="grey", label="fitted sizes")
        ax.set_xlabel("input size n (generate_input)")
    ax.set_ylabel("CPU time of one call (ns)" if scaling.unit == "ns" else "peak memory (B)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
