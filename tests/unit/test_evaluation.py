"""Evaluation over fake models and profiler with the real Memory: configurations, k-fold
Memory that never ranks with evidence about the problem being scored, the report files."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core import benchmarks
from perforch_core.errors import ConfigError
from perforch_core.evaluation import Config, Evaluation, FoldMemory, fold_of
from perforch_core.memory.store import Memory
from perforch_core.models import Language, Metric, Stage
from perforch_core.ports import Observation
from server.cli.eval_report import write as write_report
from tests.fakes import FakeLLM, FakeProfiler

A, B = "m/a", "m/b"
RECORDS = [r for r in benchmarks.records(Language.PYTHON) if r.number in (0, 2)]
GOOD = {
    0: "def has_close_elements(numbers, threshold):\n    return False\n",
    2: "def truncate_number(number):\n    return number % 1.0\n",
}


def reply(code: str) -> str:
    return f"```python\n{code}```"


def test_configs_parse_and_bad_ones_are_refused():
    assert Config.parse("single:m/a") == Config("single", A)
    assert Config.parse("perforch", "top1").label == "perforch (top1)"
    with pytest.raises(ConfigError):
        Config.parse("workflow")


def test_folds_are_deterministic_and_balanced():
    folds = fold_of(list(range(20)), 5, seed=3)
    assert folds == fold_of(list(range(20)), 5, seed=3)
    assert sorted(folds) == list(range(20))
    assert sorted(list(folds.values()).count(f) for f in range(5)) == [4] * 5


async def test_fold_memory_ranks_without_the_scored_problems_evidence(tmp_path: Path):
    async with Memory(tmp_path / "m.sqlite") as memory:
        await memory.seed()

        def seen(model: str, problem: str, success: bool, times: int) -> list[Observation]:
            one = Observation(model=model, stage=Stage.GENERATE, language=Language.PYTHON,
                              problem_id=problem, success=success, source="study")  # fmt: skip
            return [one] * times

        # A: 5 passes on Python/1, 2 failures elsewhere; B: 3 of 5 on Python/2.
        obs = seen(A, "Python/1", True, 5) + seen(A, "Python/3", False, 2)
        obs += seen(B, "Python/2", True, 3) + seen(B, "Python/2", False, 2)
        await memory.record(obs)
        everything = FoldMemory(memory, frozenset())
        ranked = await everything.rank(Stage.GENERATE, Language.PYTHON, (), None, [A, B])
        assert ranked[0].model == A
        # Scoring Python/1: what A and B did on it is invisible; B's Python/2 success remains.
        fold = FoldMemory(memory, frozenset({"Python/1"}))
        ranked = await fold.rank(Stage.GENERATE, Language.PYTHON, (), None, [A, B])
        assert ranked[0].model == B


async def test_single_workflow_and_orchestration_are_scored_with_their_llm_calls(
    tmp_path: Path,
):
    record = RECORDS[1]  # Python/2
    llm = FakeLLM(
        {
            A: [reply(GOOD[2].replace("%", "% 1.0  # BUG\n    return number %"))] * 2
            + [reply(GOOD[2])] * 4,
            B: [reply(GOOD[2])] * 4,
        }
    )
    async with Memory(tmp_path / "m.sqlite") as memory:
        ev = Evaluation(llm, FakeProfiler(), memory, [A, B], folds={0: 0, 2: 1})
        single = await ev.generation(Config("single", A), record)
        assert (single.passed, single.llm_calls) == (False, 1)
        workflow = await ev.generation(Config("workflow", A), record)
        assert workflow.passed and workflow.llm_calls == 2  # generate (BUG), then fix
        orchestrated = await ev.generation(Config("perforch"), record)
        assert orchestrated.passed and orchestrated.model in (A, B)
        refined = await ev.refinement(Config("perforch"), record, Metric.EXEC_TIME)
        assert refined.improved is False and refined.llm_calls >= 1
        # Nothing the evaluation saw went into Memory.
        assert await memory.observation_count("eval") == 0


def test_the_report_has_markdown_csv_json_and_a_plot(tmp_path: Path):
    from perforch_core.evaluation import GenerationOutcome, RefineOutcome

    gen = [
        GenerationOutcome("perforch (sequential)", Language.PYTHON, "Python/0", True, 2, 1.0, A, "")
    ]
    ref = [
        RefineOutcome("perforch (sequential)", Language.PYTHON, "Python/0", Metric.EXEC_TIME,
                      True, 42.0, 1, 1.0, A, ""),
        RefineOutcome("perforch (sequential)", Language.PYTHON, "Python/2", Metric.EXEC_TIME,
                      False, None, 2, 1.0, None, ""),
    ]  # fmt: skip
    meta = {
        "date": "d", "machine": "m", "command": "c", "pool": [A], "configs": [],
        "languages": ["python"], "problems": ["Python/0", "Python/2"], "excluded": {},
        "folds": "5-fold", "threshold_pct": 5.0, "versions": {"perforch": "0"}, "seconds": 60,
        "decoding": {A: "temperature 0"},
    }  # fmt: skip
    paths = write_report(tmp_path, "r", meta, gen, ref)
    md = paths["md"].read_text()
    assert f"- decoding, {A}: temperature 0\n" in md
    assert "| perforch (sequential) | 100.0 % (1/1) | 2.00 |" in md
    assert "| perforch (sequential) | python | exec_time | 1/2 (50 %) | 42.0 % |" in md
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    # The goals: met or missed with the gap, never without the measured numbers.
    assert (
        "| python: perforch (sequential) improves exec time on ≥ 50 % of the (solved) canonical "
        "solutions, median gain ≥ 15 % | 1/2 (50 %), median 42.0 % | yes |" in md
    )
    assert paths["csv"].read_text().startswith("config,language,problem,passed")
    # How long it took, also when the units came from the journal of interrupted runs.
    assert "; took 1.0 min\n" in md
    meta.update(seconds_of_units=600, resumed_units=1)
    md = write_report(tmp_path, "r", meta, gen, ref)["md"].read_text()
    assert "took 1.0 min (this run; 1 unit came from the journal of an interrupted" in md
    meta.update(resumed_units=3)
    md = write_report(tmp_path, "r", meta, gen, ref)["md"].read_text()
    assert (
        "all 3 units came from the journal of earlier, interrupted runs (10.0 min of units in "
        "all); this run wrote the report\n" in md
    )


def test_the_goals_state_the_gap_when_missed():
    from perforch_core.evaluation import GenerationOutcome, RefineOutcome
    from server.cli.eval_report import goals

    def gen(config: str, problem: str, passed: bool, calls: int) -> GenerationOutcome:
        return GenerationOutcome(config, Language.CPP, problem, passed, calls, 1.0, None, "")

    generation = [
        gen("single:a", "CPP/0", True, 1), gen("single:a", "CPP/1", False, 1),
        gen("single:b", "CPP/0", False, 1), gen("single:b", "CPP/1", False, 1),
        gen("perforch (sequential)", "CPP/0", True, 2),
        gen("perforch (sequential)", "CPP/1", False, 3),
        gen("perforch (best_of_n)", "CPP/0", True, 4),
        gen("perforch (best_of_n)", "CPP/1", True, 4),
    ]  # fmt: skip
    refinement = [
        RefineOutcome("perforch (sequential)", Language.CPP, "CPP/0", Metric.EXEC_TIME,
                      False, None, 1, 1.0, None, ""),
        RefineOutcome("perforch (best_of_n)", Language.CPP, "CPP/0", Metric.EXEC_TIME,
                      True, 10.0, 2, 1.0, "b", ""),
    ]  # fmt: skip
    table = "\n".join(goals(generation, refinement, best_of=2))
    assert (
        "| cpp: perforch (sequential) pass@1 ≥ best single model (single:a) + 10 points "
        "| 50.0 % vs 50.0 % (+0.0 points) | no: 10.0 points short |" in table
    )
    assert "| 100.0 % vs 50.0 % (+50.0 points) | yes |" in table
    assert (
        "| 0/1 (0 %), median — | no: 50 points short of 50 %; no improvement to take a median of |"
        in table
    )
    assert "| 1/1 (100 %), median 10.0 % | no: median 5.0 points short of 15 % |" in table
    assert (
        "| sequential acceptance uses ≤ 0.8 × the LLM calls of best-of-2 (all units); the paper's "
        "best-of-5, with 2 models in the pool | 6 vs 10 calls (0.60 ×) | yes |" in table
    )
    assert "the paper's" not in "\n".join(goals(generation, refinement, best_of=5))
