"""The report of a ``perforch eval`` run: Markdown (the paper's Tables 8, 9 and 16–18 for our
pool, and the goals met or missed with the measured gap), CSV, JSON and a PNG box plot, with the
run's metadata."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path
from typing import Any

from perforch_core.evaluation import GenerationOutcome, RefineOutcome
from perforch_core.models import Metric
from perforch_core.policy import Policy

from . import journal

PAPER_N = Policy().n  # how many models best_of_n asks (the paper's best-of-5), pool permitting


def write(
    out: Path,
    name: str,
    meta: dict[str, Any],
    generation: list[GenerationOutcome],
    refinement: list[RefineOutcome],
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "md": out / f"{name}.md",
        "json": out / f"{name}.json",
        "csv": out / f"{name}-generation.csv",
        "refine_csv": out / f"{name}-refinement.csv",
    }
    rows_g = [journal.row(g) for g in generation]
    rows_r = [journal.row(r) for r in refinement]
    paths["json"].write_text(
        json.dumps({"meta": meta, "generation": rows_g, "refinement": rows_r}, indent=1)
    )
    for path, rows in ((paths["csv"], rows_g), (paths["refine_csv"], rows_r)):
        with path.open("w", newline="") as fh:
            if rows:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    plot = _plot(out / f"{name}-exec-time.png", refinement)
    if plot is not None:
        paths["png"] = plot
    paths["md"].write_text(_markdown(meta, generation, refinement, plot))
    return paths


def _markdown(
    meta: dict[str, Any],
    generation: list[GenerationOutcome],
    refinement: list[RefineOutcome],
    plot: Path | None,
) -> str:
    took = f"took {meta['seconds'] / 60:.1f} min"
    resumed = meta.get("resumed_units", 0)
    if resumed and resumed == len(generation) + len(refinement):
        took = (
            f"all {resumed} units came from the journal of earlier, interrupted runs "
            f"({meta['seconds_of_units'] / 60:.1f} min of units in all); this run wrote the report"
        )
    elif resumed:
        took += (
            f" (this run; {resumed} unit{'s' if resumed > 1 else ''} came from the journal of "
            f"an interrupted earlier run; {meta['seconds_of_units'] / 60:.1f} min of units in all)"
        )
    lines = [
        "# Evaluation: the paper's tables for our pool",
        "",
        f"- date: {meta['date']}; machine: {meta['machine']}; {took}",
        f"- command: `{meta['command']}`",
        f"- pool: {', '.join(meta['pool'])}; versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        f"- problems: {len(meta['problems'])} ({', '.join(meta['languages'])}); known-broken "
        f"problems excluded: {', '.join(meta['excluded']) or 'none'}",
        f"- Memory: {meta['folds']}",
        *(f"- decoding, {model}: {how}" for model, how in meta.get("decoding", {}).items()),
        "",
        "## Table 8: pass@1 per language",
        "",
    ]
    languages = sorted({g.language.value for g in generation})
    configs = list(dict.fromkeys(g.config for g in generation))
    lines.append("| configuration | " + " | ".join(languages) + " | LLM calls (mean) |")
    lines.append("|---|" + "---|" * (len(languages) + 1))
    for c in configs:
        cells = []
        for lang in languages:
            sel = [g for g in generation if g.config == c and g.language.value == lang]
            rate = _rate(sel) if sel else float("nan")
            cells.append(f"{rate:.1f} % ({sum(g.passed for g in sel)}/{len(sel)})")
        calls = statistics.fmean(g.llm_calls for g in generation if g.config == c)
        lines.append(f"| {c} | " + " | ".join(cells) + f" | {calls:.2f} |")
    if refinement:
        lines += [
            "",
            "## Table 9 / 16–18: refinement of the canonical solutions",
            "",
            "Improved = significant by the profiler's rule (bootstrap lower bound > 0 and "
            f"estimate ≥ {meta['threshold_pct']:g} %).",
            "",
            "| configuration | language | metric | improved | median gain | range | "
            "LLM calls (mean) |",
            "|---|---|---|---|---|---|---|",
        ]
        keys = list(dict.fromkeys((r.config, r.language.value, r.metric.value) for r in refinement))
        for c, lang, metric in keys:
            runs = [
                r
                for r in refinement
                if (r.config, r.language.value, r.metric.value) == (c, lang, metric)
            ]
            gains = [
                r.improvement_pct for r in runs if r.improved and r.improvement_pct is not None
            ]
            median = f"{statistics.median(gains):.1f} %" if gains else "—"
            spread = f"{min(gains):.1f} … {max(gains):.1f} %" if gains else "—"
            calls = statistics.fmean(r.llm_calls for r in runs)
            lines.append(
                f"| {c} | {lang} | {metric} | {len(gains)}/{len(runs)} "
                f"({100 * len(gains) / len(runs):.0f} %) | {median} | {spread} | {calls:.2f} |"
            )
    if plot is not None:
        lines += ["", f"![exec-time improvements per language]({plot.name})"]
    lines += goals(generation, refinement, best_of=min(PAPER_N, len(meta["pool"])))
    lines.append("")
    return "\n".join(lines)


def _rate(outcomes: list[GenerationOutcome]) -> float:
    return 100 * sum(g.passed for g in outcomes) / len(outcomes)


def goals(
    generation: list[GenerationOutcome], refinement: list[RefineOutcome], best_of: int
) -> list[str]:
    """The goals the pool is held to, each with what was measured and the gap when missed.

    ``best_of`` is how many models best_of_n asked (the policy's n, at most the pool's size):
    the paper's goal is stated against best-of-5, and the row says which n was measured.
    """
    rows: list[tuple[str, str, str]] = []
    languages = sorted({g.language.value for g in generation})
    for lang in languages:
        by_config: dict[str, list[GenerationOutcome]] = {}
        for g in generation:
            if g.language.value == lang:
                by_config.setdefault(g.config, []).append(g)
        singles = {c: _rate(o) for c, o in by_config.items() if c.startswith("single:")}
        if not singles:
            continue
        best_config = max(singles, key=lambda c: singles[c])
        best = singles[best_config]
        for config, outcomes in by_config.items():
            if not config.startswith("perforch"):
                continue
            gap = _rate(outcomes) - best
            met = "yes" if gap >= 10 else f"no: {10 - gap:.1f} points short"
            rows.append(
                (
                    f"{lang}: {config} pass@1 ≥ best single model ({best_config}) + 10 points",
                    f"{_rate(outcomes):.1f} % vs {best:.1f} % ({gap:+.1f} points)",
                    met,
                )
            )
    refine_configs = dict.fromkeys(r.config for r in refinement if r.config.startswith("perforch"))
    for config in refine_configs:
        for lang in languages:
            runs = [
                r
                for r in refinement
                if r.config == config and r.language.value == lang and r.metric is Metric.EXEC_TIME
            ]
            if not runs:
                continue
            gains = [r.improvement_pct for r in runs if r.improved and r.improvement_pct]
            share = 100 * len(gains) / len(runs)
            median = statistics.median(gains) if gains else 0.0
            short = []
            if share < 50:
                short.append(f"{50 - share:.0f} points short of 50 %")
            if not gains:
                short.append("no improvement to take a median of")
            elif median < 15:
                short.append(f"median {15 - median:.1f} points short of 15 %")
            rows.append(
                (
                    f"{lang}: {config} improves exec time on ≥ 50 % of the (solved) canonical "
                    "solutions, median gain ≥ 15 %",
                    f"{len(gains)}/{len(runs)} ({share:.0f} %), median "
                    + (f"{median:.1f} %" if gains else "—"),
                    "yes" if not short else "no: " + "; ".join(short),
                )
            )
    calls: dict[str, list[int]] = {}
    for config, n in [(g.config, g.llm_calls) for g in generation] + [
        (r.config, r.llm_calls) for r in refinement
    ]:
        calls.setdefault(config, []).append(n)
    sequential, best_of_n = calls.get("perforch (sequential)"), calls.get("perforch (best_of_n)")
    if sequential and best_of_n:
        ratio = sum(sequential) / sum(best_of_n) if sum(best_of_n) else float("inf")
        rows.append(
            (
                f"sequential acceptance uses ≤ 0.8 × the LLM calls of best-of-{best_of} "
                "(all units)"
                + (
                    ""
                    if best_of == PAPER_N
                    else f"; the paper's best-of-{PAPER_N}, with {best_of} models in the pool"
                ),
                f"{sum(sequential)} vs {sum(best_of_n)} calls ({ratio:.2f} ×)",
                "yes" if ratio <= 0.8 else f"no: {ratio - 0.8:.2f} × over",
            )
        )
    if not rows:
        return []
    return [
        "",
        "## Goals, as measured",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
        *(f"| {goal} | {measured} | {met} |" for goal, measured, met in rows),
    ]


def _plot(path: Path, refinement: list[RefineOutcome]) -> Path | None:
    """A box per (language, configuration) of its significant exec-time gains, each gain drawn as
    a point over its box; a box with no improvement is kept (empty) so a reader sees the 0."""
    runs: dict[str, list[RefineOutcome]] = {}
    for r in refinement:
        if r.metric is Metric.EXEC_TIME:
            runs.setdefault(f"{r.language.value}\n{r.config}", []).append(r)
    gains = {
        key: [r.improvement_pct for r in rs if r.improved and r.improvement_pct is not None]
        for key, rs in runs.items()
    }
    if not any(gains.values()):
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None  # the report says it has no plot; install the 'report' extra for one
    labels = [
        key.replace(":", ":\n").replace("local/", "") + f"\n{len(g)}/{len(runs[key])} improved"
        for key, g in gains.items()
    ]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.7 * len(gains)), 4.6))
    ax.boxplot(list(gains.values()), tick_labels=labels)
    for i, g in enumerate(gains.values(), start=1):
        ax.plot([i] * len(g), g, "o", alpha=0.6, color="tab:blue")
    ax.set_ylabel("exec time improvement (%)")
    ax.set_title("Significant exec-time improvements per language and configuration")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
