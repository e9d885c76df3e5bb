"""HumanEvalPack through the real daemon in all five languages: the canonical solutions pass,
the buggy ones fail (known-broken problems excluded, see perforch_core.benchmarks.EXCLUDED).

Builds are real (g++, javac, go, rustc inside the sandbox), cached by content afterwards."""

from __future__ import annotations

import pytest

from perforch_core import benchmarks
from perforch_core.models import Language, Metric

SAMPLE = (0, 2, 12, 29, 53)


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


# A busy loop each compiler keeps (volatile, black_box, an intrinsic call, a used sum).
SPIN = {
    Language.CPP: "    for (volatile int spin = 0; spin < 20000; spin++) {}\n",
    Language.RUST: "    for _ in 0..std::hint::black_box(20000u32) { std::hint::black_box(0); }\n",
    Language.JAVA: "        for (int spin = 0; spin < 20000; spin++) { System.nanoTime(); }\n",
    Language.GO: "    spin := 0\n    for i := 0; i < 2000000; i++ { spin += i ^ (spin >> 3) }\n"
    "    if spin == 42 { panic(spin) }\n",
}


@pytest.mark.parametrize("language", list(SPIN))
async def test_comparing_a_program_with_itself_finds_no_improvement(client, language):
    record = next(r for r in benchmarks.records(language) if r.number == 12)
    task = benchmarks.task(record)
    code = task.current_code or ""
    verdict = await client.compare(task, code, code, Metric.EXEC_TIME, 5.0)
    assert verdict.decision != "improved"
    # The point estimate only within a wide band (a gross bias, e.g. one side's work counted
    # twice, reads 50 %): a CI run read 6.1 % for Java's A/A, undecided as it should be; how
    # close A/A estimates come to 0 is the fidelity benchmark's measurement, not a test's.
    assert abs(verdict.improvement_pct) < 20
    assert verdict.before.unit == "ns" and verdict.before.summary > 0


@pytest.mark.parametrize("language", list(SPIN))
async def test_removing_a_busy_loop_is_detected_as_an_improvement(client, language):
    record = next(r for r in benchmarks.records(language) if r.number == 12)
    task = benchmarks.task(record)
    code = task.current_code or ""
    slow = code.replace("{\n", "{\n" + SPIN[language], 1)
    assert slow != code
    verdict = await client.compare(task, slow, code, Metric.EXEC_TIME, 5.0)
    assert verdict.decision == "improved" and verdict.improvement_pct > 20


async def test_stage_notifications_arrive_in_order_before_the_result(raw_daemon):
    """Raw protocol: a C++ run_tests request reports building, then running, then answers."""
    import asyncio
    import uuid

    from profiler import protocol
    from profiler.client import program_for

    record = next(r for r in benchmarks.records(Language.CPP) if r.number == 2)
    task = benchmarks.task(record)
    unique = f"// {uuid.uuid4()}\n"  # never built before: the build stage must happen
    params = protocol.RunTestsParams(
        program=program_for(task), source=unique + task.program(task.current_code or "")
    )
    proc = raw_daemon
    assert proc.stdin and proc.stdout
    proc.stdin.write(
        protocol.encode(
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "run_tests",
                "params": params.model_dump(mode="json"),
            }
        )
    )
    await proc.stdin.drain()
    stages = []
    while True:
        message = await asyncio.wait_for(protocol.read_message(proc.stdout), 120)
        assert message is not None
        if message.get("method") == "progress":
            stages.append(message["params"]["message"])
        elif message.get("id") == 7:
            assert message["result"]["passed"]
            break
    proc.stdin.write(protocol.encode({"jsonrpc": "2.0", "id": 8, "method": "shutdown"}))
    await proc.stdin.drain()
    await asyncio.wait_for(proc.wait(), 10)
    assert stages.index("building (cpp)") < stages.index("running"), stages


async def test_cpp_max_memory_sees_a_large_allocation_go_away(client):
    record = next(r for r in benchmarks.records(Language.CPP) if r.number == 12)
    task = benchmarks.task(record)
    code = task.current_code or ""
    hog = code.replace("{\n", "{\n    std::vector<long> perforch_hog(1 << 20, 1);\n", 1)
    verdict = await client.compare(task, hog, code, Metric.MAX_MEMORY, 5.0)
    assert verdict.decision == "improved", verdict
    assert verdict.before.unit == "B" and verdict.before.summary >= 8 * (1 << 20)
    same = await client.compare(task, code, code, Metric.MAX_MEMORY, 5.0)
    assert same.decision != "improved"
