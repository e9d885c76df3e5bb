"""The eval journal: finished units survive an interruption, a cut line is redone, and another
run's journal is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core.errors import PerfOrchError
from perforch_core.evaluation import GenerationOutcome, RefineOutcome
from perforch_core.models import Language, Metric
from server.cli.journal import Journal, row

G = GenerationOutcome("perforch (sequential)", Language.PYTHON, "Python/2", True, 2, 3.5, "m", "ok")
R = RefineOutcome(
    "workflow:m", Language.CPP, "CPP/7", Metric.EXEC_TIME, True, 23.4, 1, 9.0, "m", "faster"
)


def test_units_are_found_again_after_a_restart(tmp_path: Path):
    path = tmp_path / "eval.journal.jsonl"
    first = Journal(path, "perforch eval --languages python,cpp")
    first.add(G)
    first.add(R)
    again = Journal(path, "perforch eval --languages python,cpp")
    assert again.get(("generation", G.config, G.problem)) == G
    assert again.get(("refinement", R.config, R.problem, "exec_time")) == R
    assert again.get(("generation", "single:m", G.problem)) is None
    assert row(R)["metric"] == "exec_time" and row(R)["language"] == "cpp"


def test_a_line_cut_by_the_interruption_is_run_again(tmp_path: Path):
    path = tmp_path / "eval.journal.jsonl"
    Journal(path, "run").add(G)
    with path.open("a") as fh:
        fh.write('{"kind": "refinement", "config": "workflow:m", "lang')
    again = Journal(path, "run")
    assert again.outcomes == [G]
    again.add(R)  # on a line of its own, not glued to the cut one
    assert Journal(path, "run").get(("refinement", R.config, R.problem, "exec_time")) == R


def test_another_runs_journal_is_refused(tmp_path: Path):
    path = tmp_path / "eval.journal.jsonl"
    Journal(path, "perforch eval --languages python").add(G)
    with pytest.raises(PerfOrchError, match="journal of another evaluation"):
        Journal(path, "perforch eval --languages cpp")
