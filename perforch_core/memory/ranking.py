"""How Memory ranks models for a stage (pure functions over aggregated evidence).

Evidence per model comes in two kinds: the paper's published aggregates (``priors``: trials and
successes per language, and per category for some models) and per-problem observations PerfOrch
measured itself (study runs and the user's own jobs).

**Value of one problem.** generate / fix: 1 if it passed, else 0 (so the mean is pass@1 /
fix@1). refine: the normalised improvement ``min(improvement, 100) / 100`` when the refinement
was accepted, else 0 — the paper's weighted-sum model; we take the *mean* per problem instead of
the sum so models measured on different numbers of problems compare fairly (on a common
problem set the order is the same).

**Weights.** Each prior is scaled down to at most ``PRIOR_WEIGHT`` trials (it says how a model did
elsewhere, on other code); observations count one trial each. So the user's own runs take
precedence as they accumulate.

**Score: a lower credible bound.** The evidence's mean gets a weak Beta prior at the pool's
mean ``m0`` (``PRIOR_STRENGTH`` = 2 pseudo-trials): ``α = Σ values + 2·m0``,
``β = n − Σ values + 2·(1 − m0)``; the score is the lower one-sided 95 % bound of that mean,
``α/(α+β) − 1.645 · sd``. Thin evidence is penalised by its width: a model with 3 lucky runs
(3/3) scores 0.83 against 0.86 for one with 160 measured problems at 90 %, so three runs do not
outrank a track record; a model with no data at all sits at the bottom until measured.

**Categories.** For a problem with categories C, each category's evidence gets the model's
language-level mean as its prior, worth ``min(n_language, CATEGORY_PRIOR) + 2`` trials; the
final score is the mean over C of the categories' lower bounds. Without categories it is the
language-level bound.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

PRIOR_WEIGHT = 40.0
PRIOR_STRENGTH = 2.0
CATEGORY_PRIOR = 20.0
Z_95 = 1.645
DEFAULT_MEAN = 0.5


@dataclass
class Evidence:
    """Weighted trials and summed values, split by where they came from."""

    prior_trials: float = 0.0
    prior_value: float = 0.0
    obs_trials: float = 0.0
    obs_value: float = 0.0

    @property
    def trials(self) -> float:
        return self.prior_trials + self.obs_trials

    @property
    def value(self) -> float:
        return self.prior_value + self.obs_value

    def add_prior(self, trials: float, value_sum: float) -> None:
        if trials <= 0:
            return
        w = min(1.0, PRIOR_WEIGHT / trials)
        self.prior_trials += trials * w
        self.prior_value += value_sum * w

    def add_observation(self, value: float) -> None:
        self.obs_trials += 1
        self.obs_value += value


@dataclass
class ModelEvidence:
    language: Evidence = field(default_factory=Evidence)
    categories: dict[str, Evidence] = field(default_factory=dict)

    def category(self, name: str) -> Evidence:
        return self.categories.setdefault(name, Evidence())


@dataclass(frozen=True)
class Score:
    model: str
    score: float
    why: str
    observations: int = 0  # PerfOrch's own measured problems behind the score (priors apart)


def posterior(ev: Evidence, prior_mean: float, strength: float) -> tuple[float, float]:
    """(mean, lower 95 % bound) of the Beta posterior with the given prior."""
    a = ev.value + strength * prior_mean
    b = max(ev.trials - ev.value, 0.0) + strength * (1.0 - prior_mean)
    total = a + b
    mean = a / total
    sd = math.sqrt(a * b / (total * total * (total + 1.0)))
    return mean, mean - Z_95 * sd


def pool_mean(evidence: Iterable[ModelEvidence]) -> float:
    trials = value = 0.0
    for ev in evidence:
        trials += ev.language.trials
        value += ev.language.value
    return value / trials if trials > 0 else DEFAULT_MEAN


def _describe(ev: Evidence, refine: bool) -> str:
    parts = []
    unit = "mean gain" if refine else "rate"
    if ev.prior_trials:
        parts.append(
            f"paper {unit} {ev.prior_value / ev.prior_trials:.0%} "
            f"(weighted as {ev.prior_trials:.0f} runs)"
        )
    if ev.obs_trials:
        parts.append(
            f"measured {unit} {ev.obs_value / ev.obs_trials:.0%} over {ev.obs_trials:.0f} problems"
        )
    return " + ".join(parts) if parts else "no measurements yet (scored at the pool mean)"


def rank(
    evidence: dict[str, ModelEvidence],
    categories: Sequence[str],
    refine: bool = False,
    overall: Mapping[str, float] | None = None,
) -> list[Score]:
    """Scores for every model in ``evidence``, best first. Ties (equal to 4 decimals) go to
    the better ``overall`` record (the model's mean for this stage over every language), then
    to the order of ``evidence`` (the pool's order as configured), never to the name."""
    m0 = pool_mean(evidence.values())
    scores = []
    for model, ev in evidence.items():
        lang_mean, lang = posterior(ev.language, m0, PRIOR_STRENGTH)
        why = _describe(ev.language, refine)
        if categories:
            per_cat = []
            weight = min(ev.language.trials, CATEGORY_PRIOR) + PRIOR_STRENGTH
            for c in categories:
                cev = ev.categories.get(c, Evidence())
                per_cat.append((c, posterior(cev, lang_mean, weight)[1], cev.trials))
            score = sum(s for _, s, _ in per_cat) / len(per_cat)
            detail = ", ".join(f"{c} {s:.2f}" + ("" if n else " (no data)") for c, s, n in per_cat)
            why = f"{why}; language {lang:.2f}; by category: {detail}"
        else:
            score = lang
        scores.append(Score(model, score, why, int(ev.language.obs_trials)))
    position = {m: i for i, m in enumerate(evidence)}
    overall = overall or {}
    scores.sort(key=lambda s: (-round(s.score, 4), -overall.get(s.model, 0.0), position[s.model]))
    return scores
