"""ENAMEL (``../shared/benchmarks/enamel/``): HumanEval's Python problems with expert solutions
and expert input generators at scaled sizes. This module owns reading it and turning its
generator, at the largest level affordable on this machine, into a workload PerfOrch's profiler
runs: the independent judge of ``perforch bench workloads`` and ``perforch eval --benchmark
enamel``."""

from __future__ import annotations

import csv
import json
import random
from typing import Any

from perforch_core import benchmarks
from perforch_core.models import Task, Workload
from profiler.client import ProfilerClient

MAX_MS = 50.0  # the judge's level: one call of the canonical solution costs at most this
# ENAMEL's test cases per level (its default ``n_tests``): a generator's ``cid`` picks one;
# several generators give level 0's first cases as fixed edge cases (``fib(0)``, ``[]``).
CASES_PER_LEVEL = (8, 4, 4, 4)


def rows() -> dict[str, dict[str, Any]]:
    """ENAMEL's problems by HumanEval id, each with its expert solution."""
    root = benchmarks.benchmarks_dir() / "enamel"
    csv.field_size_limit(1 << 30)
    with (root / "enamel.csv").open(newline="") as fh:
        found = list(csv.DictReader(fh))
    experts = json.loads((root / "enamel-references.json").read_text())
    for row, expert in zip(found, experts, strict=True):
        row["expert"] = expert[0] if isinstance(expert, list) else expert
    return {r["task_id"]: r for r in found}


def sample(ids: list[str], n: int, seed: int) -> list[str]:
    """A seeded sample of ``n`` problem ids (the same ids for the same seed everywhere)."""
    ordered = sorted(ids, key=lambda t: int(t.split("/")[1]))
    return random.Random(seed).sample(ordered, min(n, len(ordered)))


def reference_generator(enamel_source: str, lid: int) -> str:
    """ENAMEL's ``generate_input(size, lid, cid)`` (module-level ``random``) as PerfOrch's
    ``generate_input(size, rng)``: the level fixed, and from ``rng`` one of the level's test
    cases (``cid``, as ENAMEL draws inputs; always case 0 would give ``fib`` only ``n = 0``)
    and the seed of ``random``."""
    cases = CASES_PER_LEVEL[min(lid, len(CASES_PER_LEVEL) - 1)]
    return (
        "import math\nimport random\nimport string\n\n"
        f"{enamel_source.strip()}\n\n_enamel_generate = generate_input\n\n\n"
        "def generate_input(size, rng):\n"
        f"    case = rng.randrange({cases})\n"
        "    random.seed(rng.randrange(1 << 30))\n"
        f"    return _enamel_generate(size, {lid}, case)\n"
    )


async def reference_workload(
    profiler: ProfilerClient, task: Task, canonical: str, row: dict[str, Any], max_ns: float
) -> tuple[Workload | None, str]:
    """ENAMEL's generator at its largest level whose one call of ``canonical`` costs at most
    ``max_ns``, or None and why not."""
    levels = [int(x) for x in row["input_levels"].split()]
    why = ""
    for lid in sorted(range(len(levels)), key=lambda i: -levels[i]):
        generator = reference_generator(row["input_generator"], lid)
        probe = await profiler.probe_workload(
            task, canonical, generator, target_ns=1, sizes=(levels[lid], levels[lid])
        )
        if not probe.ok or probe.ns is None:
            why = probe.error or "refused"
            continue
        if probe.ns <= max_ns:
            w = Workload(
                generator=generator,
                size=levels[lid],
                mutates=True,
                origin=f"ENAMEL level {lid}",
                per_call_ns=probe.ns,
            )
            return w, ""
        why = f"level {lid} costs {probe.ns / 1e6:.0f} ms a call"
    return None, why
