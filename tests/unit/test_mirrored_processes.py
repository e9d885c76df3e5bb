"""Mirrored processes (``profiler.harness.base``): a harness whose first side reads slower
whatever runs there — as the C++ driver did on HumanEval/12, 2-4 % — must not make two copies
of the same program read as an improvement; a real effect must still be found."""

from __future__ import annotations

import random

import pytest

from perforch_core.models import Footprint, Language, Metric, ProcessMemory, TestSpec
from profiler.harness import base
from profiler.harness.base import ProcessResult
from profiler.protocol import CompareParams, Program

LEAN = 1.04  # the first side's time, relative to the same code as the second side


class LeaningHarness:
    """Times of programs named by their cost ("100", "90"), the first side's × LEAN, with
    1 % noise per process drawn from the seed."""

    def __init__(self, mirrors: bool) -> None:
        self._mirrors = mirrors
        self.calls: list[tuple[str, str]] = []

    def mirrors(self, params: CompareParams) -> bool:
        return self._mirrors

    def pairs_after(self, first: ProcessResult) -> int | None:
        return None

    def method(self, metric: Metric) -> str:
        return "a fake"

    async def compare_once(
        self, params: CompareParams, baseline: str, candidate: str, seed: int
    ) -> ProcessResult:
        self.calls.append((baseline, candidate))
        noise = random.Random(seed).gauss(1.0, 0.01)
        a, b = float(baseline) * LEAN * noise, float(candidate)
        return ProcessResult(
            ratio=a / b,
            baseline=a,
            candidate=b,
            unit="ns",
            batch_calls=100,
            first=(a * 3, b * 3),
            second=(a, b),
        )


def params(baseline: str, candidate: str) -> CompareParams:
    program = Program(
        language=Language.CPP,
        entry_point="f",
        tests=TestSpec(kind="program", source="int main() {}", origin="a test"),
    )
    return CompareParams(
        program=program, baseline=baseline, candidate=candidate, metric=Metric.EXEC_TIME
    )


async def nothing(n: int, result: ProcessResult) -> None:
    return None


@pytest.fixture(autouse=True)
def no_gap(monkeypatch):
    monkeypatch.setattr(base, "PROCESS_GAP_S", 0.0)


async def test_a_lean_towards_one_side_reads_as_an_improvement_without_mirroring():
    """The failure mirroring exists for: every process agrees on the lean."""
    verdict = await base.compare(LeaningHarness(mirrors=False), params("100", "100"), nothing)
    assert verdict.interval_pct.low > 0


async def test_mirrored_processes_cancel_the_lean_of_identical_programs():
    harness = LeaningHarness(mirrors=True)
    verdict = await base.compare(harness, params("100", "100"), nothing)
    assert verdict.decision != "improved"
    assert abs(verdict.improvement_pct) < 1.0
    assert verdict.interval_pct.low < 0 < verdict.interval_pct.high


async def test_even_processes_measure_the_candidate_first_and_are_turned_back():
    harness = LeaningHarness(mirrors=True)
    verdict = await base.compare(harness, params("100", "80"), nothing)
    assert harness.calls[0::2] == [("100", "80")] * (len(harness.calls) // 2)
    assert harness.calls[1::2] == [("80", "100")] * (len(harness.calls) // 2)
    # 100 → 80 is 20 % less time (+25 % as a speed-up); the lean cancels around it
    assert verdict.decision == "improved"
    assert 17 < verdict.improvement_pct < 23
    assert verdict.before.summary > verdict.after.summary


def footprint(mean_rss_anon: float) -> Footprint:
    return Footprint(
        peak_rss=0, mean_rss_anon=mean_rss_anon, peak_vm_data_stk=0, mean_vm_data_stk=0, samples=1
    )


def test_a_mirrored_result_exchanges_every_per_side_field():
    memory = ProcessMemory(baseline=footprint(1), candidate=footprint(2), empty=footprint(0))
    r = ProcessResult(
        ratio=2.0,
        baseline=10.0,
        candidate=5.0,
        unit="ns",
        batch_calls=3,
        memory=memory,
        wall_baseline=12.0,
        wall_candidate=6.0,
        first=(30.0, 15.0),
        second=(11.0, 4.0),
    )
    m = r.mirrored()
    assert (m.ratio, m.baseline, m.candidate) == (0.5, 5.0, 10.0)
    assert (m.wall_baseline, m.wall_candidate) == (6.0, 12.0)
    assert m.first == (15.0, 30.0) and m.second == (4.0, 11.0)
    assert m.memory is not None
    assert (m.memory.baseline, m.memory.candidate) == (memory.candidate, memory.baseline)
    assert m.mirrored() == r
