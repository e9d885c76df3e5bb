"""``perforch eval --benchmark enamel`` without models or a profiler: an ablation's policy switch
reaches the job, the judge re-measures only what the job changed and refuses a change that
returns other results on its inputs, and the report counts claims the judge did not confirm."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core import benchmarks
from perforch_core.errors import PerfOrchError
from perforch_core.evaluation import Config, Evaluation, JudgedRefinement
from perforch_core.memory.store import Memory
from perforch_core.models import Language, Metric, ProbeResult, Task
from server.cli import enamel, eval_enamel
from server.cli.journal import Journal
from tests.fakes import FakeLLM, FakeProfiler, FakeWorkloadProfiler

A = "m/a"
RECORD = benchmarks.record("Python/2")  # truncate_number
FAST = "def truncate_number(number: float) -> float:\n    return number % 1.0  # FAST30 \n"
BUGGY = "def truncate_number(number: float) -> float:\n    return number  # BUG\n"


def reply(code: str) -> str:
    return f"```python\n{code}```"


async def test_an_ablation_switches_the_repair_round_off(tmp_path: Path):
    async with Memory(tmp_path / "m.sqlite") as memory:
        # With a repair round, the failing reply is sent back and the repair is faster.
        llm = FakeLLM({A: [reply(BUGGY), reply(FAST)]})
        ev = Evaluation(llm, FakeProfiler(), memory, [A], folds={2: 0})
        result = await ev.refine_job(Config("perforch"), RECORD, Metric.EXEC_TIME)
        assert result.changed and result.llm_calls == 2
        assert eval_enamel.retry_counts(result) == (1, 0, "repair")
        # Without it, the same first reply ends the job: nothing is asked again.
        llm = FakeLLM({A: [reply(BUGGY), reply(FAST)]})
        ev = Evaluation(llm, FakeProfiler(), memory, [A], folds={2: 0})
        update = eval_enamel.VARIANTS["no_repair"]
        result = await ev.refine_job(Config("perforch"), RECORD, Metric.EXEC_TIME, update)
        assert not result.changed and result.llm_calls == 1
        assert eval_enamel.retry_counts(result) == (0, 0, "")


def test_unknown_variants_are_refused_with_the_choices():
    assert eval_enamel.parse_variants("default,no_repair") == ["default", "no_repair"]
    with pytest.raises(PerfOrchError) as caught:
        eval_enamel.parse_variants("default,no_reapir")
    assert "no_reapir" in str(caught.value) and "profile_feedback" in (caught.value.hint or "")


class JudgeProfiler(FakeWorkloadProfiler):
    """ENAMEL's level 2 is affordable (1 ms a call), the larger ones are not."""

    async def probe_workload(  # type: ignore[override]
        self,
        task: Task,
        code: str,
        generator: str,
        *,
        target_ns: int = 5_000_000,
        sizes: tuple[int, int] | None = None,
    ) -> ProbeResult:
        self.probed.append(generator)
        size = sizes[0] if sizes else 1
        return ProbeResult(ok=True, size=size, ns=1e6 * size / 1000)


async def test_the_judge_measures_a_change_on_enamels_inputs_and_checks_its_results():
    row = enamel.rows()["HumanEval/2"]
    levels = [int(x) for x in row["input_levels"].split()]
    profiler = JudgeProfiler()
    judge = eval_enamel.Judge(profiler, max_ns=1e6 * levels[2] / 1000 + 1)
    task = benchmarks.task(RECORD)
    async with Memory(":memory:") as memory:
        ev = Evaluation(FakeLLM({A: [reply(FAST)]}), FakeProfiler(), memory, [A], folds={2: 0})
        result = await ev.refine_job(Config("perforch"), RECORD, Metric.EXEC_TIME)
    out = await judge.judge(task, row, result, 5.0)
    assert out["judge"] == "ENAMEL level 2" and out["same_results"] is True
    assert out["judged"] and out["judged_pct"] == 30.0
    assert profiler.compared_tasks[-1].workload is not None
    assert profiler.compared_tasks[-1].workload.size == levels[2]
    # A change with other results on the judge's inputs is not an improvement, however fast.
    wrong = result.model_copy(update={"final_code": FAST.replace("FAST30", "FAST30 DIFFERS")})
    out = await judge.judge(task, row, wrong, 5.0)
    assert out["same_results"] is False and not out["judged"] and "differs" in out["judge"]
    # The judge's level is found once per problem; nothing is measured when nothing changed.
    probes = len(profiler.probed)
    kept = result.model_copy(update={"final_code": result.original_code})
    out = await judge.judge(task, row, kept, 5.0)
    assert not out["judged"] and out["judged_pct"] is None and len(profiler.probed) == probes


def unit(variant: str, problem: str, claimed: float | None, judged: float | None, **kw: object):
    fields: dict[str, object] = dict(
        variant=variant, language=Language.PYTHON, problem=problem, metric=Metric.EXEC_TIME,
        claimed=claimed is not None, claimed_pct=claimed,
        judged=judged is not None and judged >= 5, judged_pct=judged,
        judged_low=None if judged is None else judged - 3,
        judged_high=None if judged is None else judged + 3,
        same_results=None if claimed is None else True, judge="ENAMEL level 3",
        llm_calls=3, repair_calls=1, second_chance_calls=0, accepted_retry="", seconds=40.0,
        model=A if claimed is not None else None, detail="",
    )  # fmt: skip
    fields.update(kw)
    return JudgedRefinement(**fields)  # type: ignore[arg-type]


def test_the_report_counts_claims_the_judge_did_not_confirm(tmp_path: Path):
    outcomes = [
        unit("default", "Python/1", 40.0, 35.0, accepted_retry="repair"),
        unit("default", "Python/2", 25.0, 1.0),  # claimed on PerfOrch's workload only
        unit("default", "Python/3", None, None),
        unit("default", "Python/4", 12.0, None, same_results=False),
        unit("no_repair", "Python/1", None, None),
        unit("no_repair", "Python/2", 20.0, 9.0),
        unit("no_repair", "Python/3", None, None),
        unit("no_repair", "Python/4", None, None),
    ]
    meta = {
        "date": "2026-12-03", "machine": "vm", "command": "perforch eval --benchmark enamel",
        "pool": [A], "policy": "perforch (sequential)", "variants": ["default", "no_repair"],
        "threshold_pct": 5.0, "folds": "5-fold", "seconds": 600.0, "seconds_of_units": 320.0,
        "resumed_units": 0,
    }  # fmt: skip
    paths = eval_enamel.write(tmp_path, "enamel", meta, outcomes)
    s = eval_enamel.summary(outcomes[:4])
    assert (s["claimed"], s["improved"], s["claims_confirmed"]) == (3, 1, 1)
    assert s["claims_wrong_results"] == 1 and s["from_repair"] == 1
    text = paths["md"].read_text()
    assert "| default | 1/4 (25 %) | 35.0 % |" in text
    assert "| share improved ≥ 40 % (default) | 25 % (1/4) | no |" in text
    assert "| median gain ≥ 15 % (default) | 35.0 % | yes |" in text
    assert "| Python/4 | default | +12.0 % | — | **no** |" in text
    assert paths["json"].exists()


def test_judged_units_survive_an_interruption(tmp_path: Path):
    path = tmp_path / "enamel.journal.jsonl"
    first = Journal(path, "perforch eval --benchmark enamel")
    u = unit("no_repair", "Python/2", 20.0, 9.0)
    first.add(u)
    again = Journal(path, "perforch eval --benchmark enamel")
    assert again.get(("judged", "no_repair", "Python/2", "exec_time")) == u
