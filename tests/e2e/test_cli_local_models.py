"""The main jobs through the real CLI, with real local models served by the project.

These start the project's llama.cpp server themselves (through the CLI) and need the models that
scripts/setup.sh installs; they fail, not skip, when those are missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import local_models_installed

pytestmark = [pytest.mark.llm, pytest.mark.slow]

SMALL = "local/qwen2.5-coder-0.5b"


@pytest.fixture(autouse=True)
def _models_present():
    assert local_models_installed("qwen2.5-coder-0.5b", "smollm2-135m"), (
        "local models missing: run scripts/setup.sh"
    )


def test_generate_fills_a_stub_that_then_passes_its_doctests(perforch, workdir: Path):
    before = (workdir / "stub.py").read_text()
    r = perforch("generate", "stub.py::running_max", "--models", SMALL, "--json")
    assert r.returncode == 0, r.output
    result = r.json()
    assert result["status"] == "succeeded"
    assert result["final_tests"]["passed"] and result["final_tests"]["total"] == 3
    assert "NotImplementedError" not in result["final_code"]
    assert result["llm_calls"] >= 1 and result["completion_tokens"] > 0
    assert (workdir / "stub.py").read_text() == before  # no --apply: untouched


def test_generate_with_apply_writes_the_passing_body_into_the_file(perforch, workdir: Path):
    """The stub in the file is what the job started from: --apply compares with it (it once
    compared with the empty code the job saw and refused: "stub.py changed while the job ran")."""
    before = (workdir / "stub.py").read_text()
    r = perforch("generate", "stub.py::running_max", "--models", SMALL, "--json", "--apply")
    result = r.json()
    assert result["status"] == "succeeded", r.output  # as in the test above: the 0.5B can
    assert "changed while the job ran" not in r.output
    assert "applied to stub.py" in r.stderr, r.stderr
    after = (workdir / "stub.py").read_text()
    assert "NotImplementedError" not in after.split("def running_max")[1].split("\ndef ")[0]
    assert after.split("def running_max")[0] == before.split("def running_max")[0]


def test_optimize_reports_a_measured_verdict_and_apply_writes_only_the_function(
    perforch, workdir: Path
):
    path = workdir / "slow_functions.py"
    before = path.read_text()
    r = perforch(
        "optimize", "slow_functions.py::has_duplicates", "--models", SMALL, "--json", "--apply"
    )
    result = r.json()
    assert result["attempts"], r.output
    attempt = result["attempts"][0]
    assert attempt["model"] == SMALL and attempt["stage"] == "refine"
    if result["verdict"] is not None:
        v = result["verdict"]
        assert v["decision"] == "improved" and v["improvement_pct"] >= 5
        assert v["interval_pct"]["low"] > 0 and v["processes"] >= 4
        after = path.read_text()
        assert after != before
        # Everything outside the function is byte for byte the same.
        assert after.split("def has_duplicates")[0] == before.split("def has_duplicates")[0]
        assert after.split("def count_primes")[1] == before.split("def count_primes")[1]
    else:
        # The model is up and the function passes its tests: the job ends unchanged, and every
        # attempt says why (a failure of the tests, or a verdict that is not an improvement).
        assert result["status"] == "succeeded", r.output
        measured = any(a["verdict"] for a in result["attempts"])
        said = "no significant improvement" if measured else "no candidate was measured ("
        assert result["message"].startswith(said), result["message"]
        assert "the code is unchanged" in result["message"]
        for a in result["attempts"]:
            assert a["outcome"] in (
                "failed_tests",
                "differs",  # passed the tests, behaved otherwise on generated inputs
                "not_improved",
                "inconclusive",
                "unchanged",
            )
            assert a["detail"], a
            if a["outcome"] in ("not_improved", "inconclusive"):
                assert a["verdict"] is not None and a["verdict"]["decision"] == a["outcome"]
        assert path.read_text() == before


def test_fix_a_humanevalpack_buggy_solution_with_the_wiring_model(perforch, workdir: Path):
    """SmolLM2 135M rarely fixes anything: what matters is the honest report of who failed."""
    r = perforch("bench", "export", "Python/3", "--buggy", "--out", ".")
    assert r.returncode == 0, r.output
    r = perforch(
        "fix",
        "below_zero.py::below_zero",
        "--tests",
        "test_below_zero.py",
        "--models",
        "local/smollm2-135m",
        "--json",
    )
    result = r.json()
    assert r.returncode == (0 if result["status"] == "succeeded" else 1)
    assert [a["model"] for a in result["attempts"]] == ["local/smollm2-135m"]
    assert result["attempts"][0]["outcome"] in ("passed", "failed_tests", "no_code")
    if result["status"] == "failed":
        assert "no model could make the function pass its tests" in result["message"]
        assert result["attempts"][0]["detail"]


def test_models_ranking_explains_itself(perforch):
    r = perforch("models", "--stage", "fix", "--all")
    assert r.returncode == 0, r.output
    assert "anthropic/claude-3-7-sonnet" in r.stdout and "paper rate" in r.stdout


@pytest.mark.timeout(900)
def test_study_records_into_memory_and_resumes(perforch, workdir: Path):
    args = (
        "study",
        "--languages",
        "python,go",
        "--problems",
        "2",
        "--models",
        "local/smollm2-135m",
        "--stages",
        "generate,fix",
    )
    first = perforch(*args)
    assert first.returncode == 0, first.output
    assert "4 units, 4 to do" in first.output
    assert "Python/2 generate local/smollm2-135m" in first.output
    assert "Go/2 fix local/smollm2-135m" in first.output
    assert "successes per model and stage" in first.output
    again = perforch(*args)
    assert again.returncode == 0, again.output
    assert "4 units, 0 to do (4 already in Memory" in again.output
    # The observations now rank the model from study evidence.
    ranking = perforch("models", "--stage", "fix", "--language", "go", "--all")
    assert "local/smollm2-135m" in ranking.output


@pytest.mark.timeout(900)
def test_eval_writes_the_tables_with_their_metadata(perforch, workdir: Path):
    argv = (
        "eval",
        "--languages",
        "python",
        "--problems",
        "2",
        "--models",
        "local/smollm2-135m",
        "--config",
        "single:local/smollm2-135m",
        "--config",
        "perforch",
        "--metrics",
        "",
        "--folds",
        "2",
        "--out",
        "results",
    )
    r = perforch(*argv)
    assert r.returncode == 0, r.output
    report = (workdir / "results" / "eval.md").read_text()
    assert "## Table 8: pass@1 per language" in report
    assert "| single:local/smollm2-135m | " in report and "| perforch (sequential) | " in report
    assert "2-fold by problem number" in report and "known-broken problems excluded" in report
    data = (workdir / "results" / "eval.json").read_text()
    assert '"problem": "Python/2"' in data
    # The same command again takes every unit from the journal: nothing is run twice.
    again = perforch(*argv)
    assert again.returncode == 0, again.output
    assert "✓ Python/2" not in again.output and "✗ Python/2" not in again.output
    assert "2 units came from the journal" in (workdir / "results" / "eval.md").read_text()
