"""Memory's shipped priors: the paper's tables, the local models' measured notes and the
committed study of the local pool (``docs/results/study/observations.csv``, shipped as
``data/study.csv``), as rows. Problem ids are HumanEvalPack's everywhere (``Python/3``), so an
evaluation's exclusion of the problems it scores reaches the seeded ones too.

The paper publishes rates over HumanEval-X's 164 problems per language (and per category, with
the category sizes of its Table 1). A rate p over N problems becomes ``trials = N``,
``successes = p·N``. Refinement counts become successes over 164 with the language's median
improvement (Table 7); the per-category exec-time counts (Tables 10–14) use that same median.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

from ..models import Category, Language, Metric, Stage
from ..ports import Observation

SEED_VERSION = "2026-12-paper-v1+notes-v2+study-v1"
SEEDED_SOURCES = ("notes", "seed-study")  # observations the seed replaces
PROBLEMS_PER_LANGUAGE = 164


@dataclass(frozen=True)
class Prior:
    model: str
    stage: str
    language: str
    category: str
    metric: str
    trials: float
    successes: float
    median_improvement: float | None


def _csv(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(f"data/paper/{name}").read_text()
    return list(csv.DictReader(io.StringIO(text)))


def paper_priors() -> list[Prior]:
    sizes = {r["category"]: int(r["humaneval_x_problems"]) for r in _csv("table1_categories.csv")}
    n = PROBLEMS_PER_LANGUAGE
    out: list[Prior] = []
    for r in _csv("table2_generation_pass_at_1_by_language.csv"):
        p = float(r["pass_at_1_pct"]) / 100
        out.append(Prior(r["model"], "generate", r["language"], "", "", n, p * n, None))
    for r in _csv("table3_generation_pass_at_1_top5_by_category.csv"):
        size = sizes[r["category"]]
        p = float(r["pass_at_1_pct"]) / 100
        out.append(
            Prior(r["model"], "generate", r["language"], r["category"], "", size, p * size, None)
        )
    for r in _csv("table4_fix_at_1_by_language.csv"):
        p = float(r["fix_at_1_pct"]) / 100
        out.append(Prior(r["model"], "fix", r["language"], "", "", n, p * n, None))
    for r in _csv("table5_fix_at_1_top5_by_category.csv"):
        size = sizes[r["category"]]
        p = float(r["fix_at_1_pct"]) / 100
        out.append(Prior(r["model"], "fix", r["language"], r["category"], "", size, p * size, None))
    medians = {
        (r["model"], r["metric"], r["language"]): float(r["median_improvement_pct"])
        for r in _csv("table7_refine_median_improvement.csv")
    }
    for r in _csv("table6_refine_success_count.csv"):
        key = (r["model"], r["metric"], r["language"])
        out.append(
            Prior(
                r["model"],
                "refine",
                r["language"],
                "",
                r["metric"],
                n,
                float(r["successful_refinements"]),
                medians.get(key),
            )
        )
    for r in _csv("tables10_14_exec_time_refine_count_by_category.csv"):
        median = medians.get((r["model"], "exec_time", r["language"]))
        out.append(
            Prior(
                r["model"],
                "refine",
                r["language"],
                r["category"],
                "exec_time",
                sizes[r["category"]],
                float(r["successful_refinements"]),
                median,
            )
        )
    return out


def _expand(spec: str) -> list[int]:
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def notes_observations() -> list[Observation]:
    text = resources.files(__package__).joinpath("data/local_notes.csv").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    out = []
    for r in csv.DictReader(lines):
        failed = {int(x) for x in r["failed"].split()}
        for i in _expand(r["problems"]):
            out.append(
                Observation(
                    model=r["model"],
                    stage=Stage(r["stage"]),
                    language=Language(r["language"]),
                    problem_id=f"{r['ids']}/{i}",
                    success=i not in failed,
                    source="notes",
                )
            )
    return out


def study_observations() -> list[Observation]:
    """The committed study of the local pool (generate, fix and refine per problem)."""
    text = resources.files(__package__).joinpath("data/study.csv").read_text()
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        improvement = r["improvement_pct"]
        out.append(
            Observation(
                model=r["model"],
                stage=Stage(r["stage"]),
                language=Language(r["language"]),
                categories=tuple(Category(c) for c in r["categories"].split(",") if c),
                metric=Metric(r["metric"]) if r["metric"] else None,
                problem_id=r["problem_id"],
                success=r["success"] == "True",
                improvement_pct=float(improvement) if improvement else None,
                source="seed-study",
            )
        )
    return out
