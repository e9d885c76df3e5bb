"""HumanEvalPack through the real daemon in all five languages: the canonical solutions pass,
the buggy ones fail (known-broken problems excluded, see perforch_core.benchmarks.EXCLUDED).

Builds are real (g++, javac, go, rustc inside the sandbox), cached by content afterwards."""

from __future__ import annotations

import pytest

from perforch_core import benchmarks
from perforch_core.models import Language, Metric
from profiler.client import ProfilerClient

SAMPLE = (0, 2, 12, 29, 53)


@pytest.fixture
async def client():
    c = ProfilerClient(test_timeout_s=20)
    await c.start()
    yield c
    await c.aclose()


def _records(language: Language):
    return [r for r in benchmarks.records(language) if r.number in SAMPLE]


@pytest.mark.slow
@pytest.mark.parametrize("language", list(Language))
async def test_canonical_solutions_pass_and_buggy_ones_fail(client, language: Language):
    records = _records(language)
    assert len(records) == len(SAMPLE)
    for record in records:
        good = benchmarks.task(record)
        outcome = await client.run_tests(good, good.current_code or "")
        assert outcome.passed, (record.task_id, outcome.failure_report())
        bad = benchmarks.task(record, buggy=True)
        outcome = await client.run_tests(bad, bad.current_code or "")
        assert not outcome.passed, record.task_id
        assert outcome.failure_report().strip(), record.task_id


def test_known_broken_problems_are_excluded():
    ids = {r.task_id for r in benchmarks.records(Language.CPP)}
    assert "CPP/23" not in ids and "CPP/22" in ids
    assert len(ids) == 163


async def test_cpp_comparison_of_a_program_with_itself_finds_no_improvement(client):
    record = next(r for r in benchmarks.records(Language.CPP) if r.number == 0)
    task = benchmarks.task(record)
    code = task.current_code or ""
    verdict = await client.compare(task, code, code, Metric.EXEC_TIME, 5.0)
    assert verdict.decision != "improved"
    assert verdict.before.unit == "ns" and verdict.before.summary > 0


async def test_cpp_comparison_detects_a_real_speedup(client):
    record = next(r for r in benchmarks.records(Language.CPP) if r.number == 0)
    task = benchmarks.task(record)
    code = task.current_code or ""
    slow = code.replace("{\n", "{\n    for (volatile int spin = 0; spin < 20000; spin++) {}\n", 1)
    verdict = await client.compare(task, slow, code, Metric.EXEC_TIME, 5.0)
    assert verdict.decision == "improved" and verdict.improvement_pct > 20
