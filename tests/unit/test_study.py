"""The study runner over fake models and a fake profiler, with the real Memory: observations
recorded per unit, infrastructure failures not recorded, and a second run resuming."""

from __future__ import annotations

from pathlib import Path

from perforch_core import benchmarks
from perforch_core.errors import LLMUnavailableError
from perforch_core.memory.store import Memory
from perforch_core.models import Language, Metric, Stage, Task, TestOutcome
from perforch_core.study import Study, units
from tests.fakes import FakeLLM, FakeProfiler

A, B = "m/a", "m/b"
RECORD = next(r for r in benchmarks.records(Language.PYTHON) if r.number == 0)
GOOD = (
    "def has_close_elements(numbers, threshold):\n"
    "    return any(abs(a - b) < threshold for i, a in enumerate(numbers)"
    " for j, b in enumerate(numbers) if i != j)\n"
)


def reply(code: str) -> str:
    return f"```python\n{code}```"


class StudyProfiler(FakeProfiler):
    """The record's buggy solution fails; otherwise FakeProfiler's markers apply."""

    async def run_tests(self, task: Task, code: str) -> TestOutcome:
        if "distance = elem - elem2" in code:
            return TestOutcome(passed=False, total=1, error="assertion failed")
        return await super().run_tests(task, code)


async def test_a_study_records_each_unit_and_a_second_run_resumes(tmp_path: Path):
    canonical = benchmarks.task(RECORD).current_code or ""
    llm = FakeLLM(
        {
            A: [reply(GOOD), reply(GOOD), reply(GOOD.replace("any(", "any(  # FAST20\n        "))],
            B: [
                reply(GOOD.replace("return", "return  # BUG\n   ")),
                LLMUnavailableError("m/b: server down", model=B),
                reply(canonical),
            ],
        }
    )
    async with Memory(tmp_path / "m.sqlite") as memory:
        study = Study(llm, StudyProfiler(), memory)
        planned = units([RECORD], [A, B], list(Stage), [Metric.EXEC_TIME])
        assert len(planned) == 6
        results = await study.run(planned)
        by = {(r.unit.model, r.unit.stage): r for r in results}
        assert by[A, Stage.GENERATE].success and by[A, Stage.FIX].success
        assert by[A, Stage.REFINE].success and by[A, Stage.REFINE].improvement_pct == 20.0
        assert by[B, Stage.GENERATE].success is False
        assert by[B, Stage.FIX].success is None  # the server was down: not B's failure
        assert by[B, Stage.REFINE].success is False
        assert by[B, Stage.REFINE].detail == "returned the code unchanged"
        keys = await memory.observed_keys("study")
        assert len(keys) == 5
        assert (A, "refine", "python", "exec_time", "Python/0") in keys
        # Resuming: only the unit that was not measured is left, and it runs now.
        llm.replies[B] = [reply(GOOD)]
        left = await study.pending(planned)
        assert [(u.model, u.stage) for u in left] == [(B, Stage.FIX)]
        again = await study.run(planned)
        assert [(r.unit.model, r.unit.stage, r.success) for r in again] == [(B, Stage.FIX, True)]
        assert await study.pending(planned) == []
        # Categories were tagged once and cached.
        assert await memory.cached_categories("Python/0", "keywords") is not None


async def test_study_observations_export_and_import_once(tmp_path: Path):
    import argparse

    from perforch_core.models import Category
    from perforch_core.ports import Observation
    from server.cli.study_cmd import transfer

    source = tmp_path / "a.sqlite"
    async with Memory(source) as memory:
        await memory.record(
            [
                Observation(model=A, stage=Stage.REFINE, language=Language.GO,
                            categories=(Category.MATH, Category.ARRAY), metric=Metric.EXEC_TIME,
                            problem_id="Go/3", success=True, improvement_pct=31.5,
                            source="study"),
                Observation(model=B, stage=Stage.FIX, language=Language.GO, problem_id="Go/3",
                            success=False, source="study"),
                Observation(model=B, stage=Stage.FIX, language=Language.GO, problem_id="Go/4",
                            success=True, source="user"),  # not a study's: not exported
            ]
        )  # fmt: skip
    csv_path = tmp_path / "study.csv"
    out = argparse.Namespace(export=csv_path, import_=None)
    assert await transfer(out, source) == 0
    into = tmp_path / "b.sqlite"
    back = argparse.Namespace(export=None, import_=csv_path)
    assert await transfer(back, into) == 0
    assert await transfer(back, into) == 0  # twice: nothing doubles
    async with Memory(into) as memory:
        got = await memory.observations("study")
    assert len(got) == 2
    refine = next(o for o in got if o.stage is Stage.REFINE)
    assert refine.improvement_pct == 31.5 and refine.metric is Metric.EXEC_TIME
    assert set(refine.categories) == {Category.MATH, Category.ARRAY}
