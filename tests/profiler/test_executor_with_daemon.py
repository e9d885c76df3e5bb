"""The Executor with the real profiler daemon and real Memory, a scripted LLM in front."""

from __future__ import annotations

from pathlib import Path

from perforch_core.executor import Executor
from perforch_core.memory.store import Memory
from perforch_core.models import Action, Language, Stage, Task, TestSpec
from profiler.client import ProfilerClient
from tests.fakes import FakeLLM

SLOW = "def total(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"


def total_task() -> Task:
    """``total(n)`` as a slow loop, judged by one doctest (the workload repeats it)."""
    return Task(
        id="t::total",
        language=Language.PYTHON,
        entry_point="total",
        module="mod",
        signature="def total(n):",
        current_code=SLOW,
        tests=TestSpec(kind="doctest", source=">>> total(3000)\n4498500\n", origin="t"),
    )


def fence(code: str) -> str:
    return f"```python\n{code}```"


GENERATOR = "def generate_input(size, rng):\n    return (size + rng.randint(0, 9),)\n"


async def test_a_looping_candidate_is_rolled_back_and_the_next_model_wins(tmp_path: Path):
    """With the generated workload: the first model writes the generator, which the real
    sandbox checks and scales; the loop fails the tests, the closed form passes them, agrees
    with the original on the generated inputs and is measured on them."""
    task = total_task()
    llm = FakeLLM(
        {
            "m/loops": [fence(GENERATOR), fence("def total(n):\n    while True:\n        pass\n")],
            "m/good": [fence("def total(n):\n    return n * (n - 1) // 2\n")],
        }
    )
    async with ProfilerClient(test_timeout_s=3) as profiler, Memory(tmp_path / "m.db") as mem:
        x = Executor(llm, profiler, mem, ["m/loops", "m/good"])
        from perforch_core.policy import Policy

        job = x.start(task, Action.OPTIMIZE, Policy.pin(["m/loops", "m/good"]))
        events = [e async for e in job]
        result = await job.result()
        assert result.status == "succeeded" and result.accepted_model == "m/good"
        loops = result.attempts[0]
        assert loops.outcome == "failed_tests" and loops.tests and loops.tests.timed_out
        assert result.verdict and result.verdict.improved
        assert any(e.kind == "measurement_sample" for e in events)
        (prepared,) = [e for e in events if e.kind == "workload"]
        assert prepared.workload is not None and prepared.workload.size > 1000, prepared
        assert result.verdict.before.summary > 1_000_000  # one call costs ~5 ms, not the doctest's
        ranked = await mem.rank(
            Stage.REFINE, Language.PYTHON, [], task.metric, ["m/loops", "m/good"]
        )
        assert ranked[0].model == "m/good"  # the job's outcomes were recorded


MEMO = (
    "_memo = {}\n\n\ndef total(n):\n    if n in _memo:\n        return _memo[n]\n"
    "    s = 0\n    for i in range(n):\n        s += i\n    _memo[n] = s\n    return s\n"
)


async def test_a_memoizing_candidate_is_rolled_back_with_the_reason(tmp_path: Path):
    """The memo measures as a large gain (the workload repeats ``total(3000)``), but it adds a
    module-level dict and its second run is far cheaper than its first: rolled back, saying so;
    the closed form that follows is accepted."""
    task = total_task()
    llm = FakeLLM(
        {
            "m/memo": [fence(MEMO)],
            "m/good": [fence("def total(n):\n    return n * (n - 1) // 2\n")],
        }
    )
    async with ProfilerClient(test_timeout_s=10) as profiler, Memory(tmp_path / "m.db") as mem:
        from perforch_core.policy import Policy

        x = Executor(llm, profiler, mem, ["m/memo", "m/good"])
        policy = Policy.pin(["m/memo", "m/good"]).model_copy(update={"generated_workload": False})
        job = x.start(task, Action.OPTIMIZE, policy)
        _ = [e async for e in job]
        result = await job.result()
    memo = result.attempts[0]
    assert memo.model == "m/memo" and memo.outcome == "not_improved", memo
    assert memo.verdict is not None and memo.verdict.improvement_pct > 20  # measured as a gain
    assert "a module-level container `_memo`" in memo.detail
    assert "keeps results between calls" in memo.detail
    assert result.status == "succeeded" and result.accepted_model == "m/good"
