"""Memory: migrations, seeding, recording, the ranking formula and bad database files."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core.errors import StorageError
from perforch_core.memory import ranking
from perforch_core.memory.store import Memory
from perforch_core.models import Category, Language, Metric, Stage
from perforch_core.ports import Observation


def test_three_lucky_runs_do_not_outrank_160_measured_problems():
    lucky = ranking.ModelEvidence()
    for _ in range(3):
        lucky.language.add_observation(1.0)
    solid = ranking.ModelEvidence()
    for i in range(160):
        solid.language.add_observation(1.0 if i < 144 else 0.0)  # 90 %
    scores = ranking.rank({"lucky": lucky, "solid": solid}, [])
    assert [s.model for s in scores] == ["solid", "lucky"]


def test_own_observations_overtake_a_paper_prior_as_they_accumulate():
    paper_star = ranking.ModelEvidence()
    paper_star.language.add_prior(164, 0.95 * 164)
    for _ in range(60):
        paper_star.language.add_observation(0.0)  # fails on the user's code
    user_star = ranking.ModelEvidence()
    for _ in range(60):
        user_star.language.add_observation(1.0)
    order = [s.model for s in ranking.rank({"paper": paper_star, "user": user_star}, [])]
    assert order == ["user", "paper"]


def test_category_scores_shrink_toward_the_language_score():
    ev = ranking.ModelEvidence()
    ev.language.add_prior(164, 0.8 * 164)
    ev.category("array").add_prior(77, 0.99 * 77)
    other = ranking.ModelEvidence()
    other.language.add_prior(164, 0.85 * 164)
    by_array = ranking.rank({"a": ev, "b": other}, ["array"])
    by_none = ranking.rank({"a": ev, "b": other}, [])
    assert by_array[0].model == "a" and by_none[0].model == "b"
    assert "array" in by_array[0].why


async def _memory(path: Path) -> Memory:
    mem = Memory(path)
    await mem.upsert_model("openai/gpt-4o", "GPT-4o", "openai", "GPT 4o")
    await mem.upsert_model("anthropic/claude", "Claude", "anthropic", "Claude 3.7 Sonnet")
    await mem.upsert_model("local/x", "X", "local")
    assert await mem.seed() > 1000
    return mem


async def test_seeded_priors_rank_paper_models_and_reseeding_is_a_no_op(tmp_path: Path):
    mem = await _memory(tmp_path / "m.sqlite")
    try:
        ranked = await mem.rank(
            Stage.FIX,
            Language.PYTHON,
            [Category.ARRAY],
            None,
            ["openai/gpt-4o", "anthropic/claude"],
        )
        assert ranked[0].model == "anthropic/claude"  # fix@1 98.78 vs 87.8 in the paper
        assert "paper rate" in ranked[0].why
        assert await mem.seed() == 0
    finally:
        await mem.aclose()


async def test_recorded_outcomes_change_the_ranking_and_survive_reopening(tmp_path: Path):
    path = tmp_path / "m.sqlite"
    mem = await _memory(path)
    obs = [
        Observation(
            model="local/x",
            stage=Stage.REFINE,
            language=Language.PYTHON,
            metric=Metric.EXEC_TIME,
            problem_id=f"p{i}",
            success=True,
            improvement_pct=60.0,
            categories=(Category.MATH,),
        )
        for i in range(50)
    ]
    await mem.record(obs)
    await mem.aclose()
    mem = Memory(path)
    try:
        ranked = await mem.rank(
            Stage.REFINE,
            Language.PYTHON,
            [Category.MATH],
            Metric.EXEC_TIME,
            ["openai/gpt-4o", "local/x"],
        )
        assert ranked[0].model == "local/x"
        assert "measured mean gain 60% over 50 problems" in ranked[0].why
        # Another metric has no such data.
        other = await mem.rank(
            Stage.REFINE, Language.PYTHON, [], Metric.MAX_MEMORY, ["openai/gpt-4o", "local/x"]
        )
        assert other[0].model == "openai/gpt-4o"
    finally:
        await mem.aclose()


async def test_a_file_that_is_not_a_database_is_reported_and_left_untouched(tmp_path: Path):
    path = tmp_path / "memory.sqlite"
    content = b"my precious notes, not a database\n" * 10
    path.write_bytes(content)
    mem = Memory(path)
    with pytest.raises(StorageError, match="not a PerfOrch Memory database"):
        await mem.rank(Stage.FIX, Language.PYTHON, [], None, ["a"])
    await mem.aclose()
    assert path.read_bytes() == content


async def test_migrations_are_numbered_and_recorded(tmp_path: Path):
    mem = await _memory(tmp_path / "m.sqlite")
    try:
        rows = await mem._execute("PRAGMA user_version")
        assert rows[0][0] >= 1
        rows = await mem._execute("PRAGMA journal_mode")
        assert rows[0][0] == "wal"
    finally:
        await mem.aclose()


async def test_ties_go_to_the_record_in_other_languages_then_the_pool_order(tmp_path: Path):
    """Two models with no Java data tie in Java; b's Python record breaks the tie, never the
    names' order, and each score says how many measured problems stand behind it."""
    mem = Memory(tmp_path / "m.sqlite")
    try:
        await mem.record(
            [
                Observation(
                    model=m,
                    stage=Stage.GENERATE,
                    language=Language.PYTHON,
                    problem_id=f"p{i}",
                    success=(m == "local/b" or i < 2),
                )
                for m in ("local/a", "local/b")
                for i in range(10)
            ]
        )
        java = await mem.rank(Stage.GENERATE, Language.JAVA, [], None, ["local/a", "local/b"])
        assert [r.model for r in java] == ["local/b", "local/a"]
        assert java[0].score == java[1].score and java[0].observations == 0
        python = await mem.rank(Stage.GENERATE, Language.PYTHON, [], None, ["local/a", "local/b"])
        assert [(r.model, r.observations) for r in python] == [("local/b", 10), ("local/a", 10)]
        # No record anywhere: the pool's order as configured, not the names'.
        fresh = await mem.rank(Stage.GENERATE, Language.GO, [], None, ["local/z", "local/y"])
        assert [r.model for r in fresh] == ["local/z", "local/y"]
    finally:
        await mem.aclose()


async def test_the_committed_study_seeds_memory_under_humanevalpacks_ids(tmp_path: Path):
    """The local models rank from the study in C++ (not by name) and the shipped copy of the
    study is the committed one; every seeded id is HumanEvalPack's, as the evaluation's."""
    from perforch_core.memory import seed

    shipped = Path(seed.__file__).with_name("data") / "study.csv"
    committed = Path(__file__).resolve().parents[2] / "docs/results/study/observations.csv"
    assert shipped.read_bytes() == committed.read_bytes()
    observations = seed.notes_observations() + seed.study_observations()
    assert all(o.problem_id.split("/")[0] in {"Python", "CPP"} for o in observations)
    mem = await _memory(tmp_path / "m.sqlite")
    try:
        pool = ["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"]
        ranked = await mem.rank(Stage.FIX, Language.CPP, [], None, pool)
        assert all(r.observations > 0 for r in ranked)
        assert "no fix data yet" not in ranked[0].why
    finally:
        await mem.aclose()
