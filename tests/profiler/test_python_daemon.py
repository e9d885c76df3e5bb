"""The profiler daemon with the Python harness, as a real subprocess running real code."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from perforch_core.errors import ProfilerError
from perforch_core.models import Language, Metric, Task, TestSpec
from perforch_core.ports import Sample
from profiler import protocol
from profiler.client import ClientState, ProfilerClient

SLOW = "def total(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"
FAST = "def total(n):\n    return n * (n - 1) // 2\n"


def task(tests: str = ">>> total(3000)\n4498500\n", kind: str = "doctest") -> Task:
    return Task(
        id="t::total",
        language=Language.PYTHON,
        entry_point="total",
        module="mod",
        signature="def total(n):",
        tests=TestSpec(kind=kind, source=tests, origin="t"),
    )


@pytest.fixture
async def client():
    c = ProfilerClient(test_timeout_s=5)
    await c.start()
    yield c
    await c.aclose()


async def test_passing_and_failing_code(client: ProfilerClient):
    ok = await client.run_tests(task(), SLOW)
    assert ok.passed and ok.total == 1
    bad = await client.run_tests(task(), "def total(n):\n    return 0\n")
    assert not bad.passed
    assert "expected '4498500', got '0'" in bad.failures[0].message


async def test_test_functions_and_check_styles(client: ProfilerClient):
    functions = (
        "from mod import total\n\ndef test_small():\n    assert total(4) == 6\n\n"
        "def test_zero():\n    assert total(0) == 1\n"
    )
    out = await client.run_tests(task(functions, "functions"), FAST)
    assert out.total == 2 and [f.name for f in out.failures] == ["test_zero"]
    assert "assert total(0) == 1" in out.failures[0].message
    check = "def check(candidate):\n    assert candidate(4) == 6\n"
    assert (await client.run_tests(task(check, "check"), FAST)).passed


async def test_code_that_does_not_load_is_reported(client: ProfilerClient):
    out = await client.run_tests(task(), "def total(n):\n    return n +\n")
    assert not out.passed and "failed to load" in (out.error or "")


@pytest.mark.parametrize(
    "body, expect",
    [
        ("    while True:\n        pass\n", "timed out"),
        ("    x = bytearray(100 * 1024 ** 3)\n    return 0\n", "MemoryError"),
        (
            "    import sys\n    while True:\n        sys.stdout.write('x' * 65536)\n",
            "File too large",
        ),
        ("    return total(n)\n", "RecursionError"),
    ],
)
async def test_hostile_candidates_are_contained_and_the_daemon_keeps_serving(
    client: ProfilerClient, body: str, expect: str
):
    # check() style: the candidate's stdout goes to the sandbox's capped file, not to doctest.
    out = await client.run_tests(
        task("def check(f):\n    assert f(3) == 3\n", "check"), f"def total(n):\n{body}"
    )
    assert not out.passed
    text = out.failure_report() + (out.error or "")
    assert expect in text, text
    assert (await client.run_tests(task(), FAST)).passed  # still serving


async def test_compare_streams_samples_before_the_verdict(client: ProfilerClient):
    samples: list[Sample] = []
    got_verdict_after: list[int] = []

    async def on_sample(s: Sample) -> None:
        samples.append(s)

    verdict = await client.compare(task(), SLOW, FAST, Metric.EXEC_TIME, 5.0, on_sample)
    got_verdict_after.append(len(samples))
    assert verdict.decision == "improved" and verdict.improvement_pct > 50
    assert got_verdict_after[0] >= 3 and verdict.processes == len(samples)
    assert all(s.baseline > s.candidate for s in samples)
    assert verdict.interval_pct.low <= verdict.improvement_pct <= verdict.interval_pct.high


async def test_same_code_is_not_an_improvement(client: ProfilerClient):
    verdict = await client.compare(task(), SLOW, SLOW, Metric.EXEC_TIME, 5.0)
    assert verdict.decision != "improved"


@pytest.mark.parametrize("metric", [Metric.MAX_MEMORY, Metric.AVG_MEMORY])
async def test_memory_metrics_see_a_large_allocation_go_away(client: ProfilerClient, metric):
    hog = "def total(n):\n    xs = list(range(n * 100))\n    return n * (n - 1) // 2\n"
    verdict = await client.compare(task(), hog, FAST, metric, 5.0)
    assert verdict.decision == "improved", verdict
    assert verdict.before.unit == "B" and verdict.before.summary > 1_000_000


async def test_cpu_utilization_is_measured(client: ProfilerClient):
    verdict = await client.compare(task(), SLOW, SLOW, Metric.CPU_UTILIZATION, 5.0)
    assert 0.2 < verdict.before.summary <= 1.05
    assert verdict.decision != "improved"


def _processes_running(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


async def test_cancel_kills_the_running_request_and_leaves_no_process(
    client: ProfilerClient, tmp_path
):
    marker = f"perforch-cancel-{os.getpid()}"
    hang = f"def total(n):\n    # {marker}\n    while True:\n        pass\n"
    # The runner's argv does not carry the code; find the sandboxed child via its workdir.
    before = set(_processes_running("py_runner.py"))
    request = asyncio.create_task(client.run_tests(task(), hang))
    for _ in range(50):
        await asyncio.sleep(0.1)
        if set(_processes_running("py_runner.py")) - before:
            break
    assert set(_processes_running("py_runner.py")) - before, "the test run never started"
    daemon = client._proc
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    for _ in range(30):
        if not set(_processes_running("py_runner.py")) - before:
            break
        await asyncio.sleep(0.1)
    assert not set(_processes_running("py_runner.py")) - before
    assert (await client.run_tests(task(), FAST)).passed
    # The daemon's late reply to the cancelled request does not count as a broken stream: the
    # same daemon serves on (before, a second one was started and the first one leaked).
    assert client._proc is daemon and client.state == ClientState.RUNNING


async def test_malformed_and_unknown_requests_get_errors_not_a_crash(raw_daemon):
    proc = raw_daemon
    assert proc.stdin and proc.stdout
    body = b"{not json"
    proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    proc.stdin.write(protocol.encode({"jsonrpc": "2.0", "id": 1, "method": "frobnicate"}))
    proc.stdin.write(
        protocol.encode(
            {"jsonrpc": "2.0", "id": 2, "method": "run_tests", "params": {"program": {}}}
        )
    )
    proc.stdin.write(protocol.encode({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
    await proc.stdin.drain()
    replies = [await asyncio.wait_for(protocol.read_message(proc.stdout), 10) for _ in range(4)]
    codes = {r.get("id"): r.get("error", {}).get("code") for r in replies if r}
    assert codes[None] == protocol.PARSE_ERROR
    assert codes[1] == protocol.METHOD_NOT_FOUND
    assert codes[2] == protocol.INVALID_PARAMS
    assert 3 in codes and codes[3] is None
    assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_daemon_exit_fails_pending_requests_and_sets_the_state():
    c = ProfilerClient(test_timeout_s=30)
    await c.start()
    hang = asyncio.create_task(
        c.run_tests(task(), "def total(n):\n    while True:\n        pass\n")
    )
    await asyncio.sleep(0.5)
    assert c._proc is not None
    c._proc.kill()
    with pytest.raises(ProfilerError, match="exited"):
        await hang
    assert c.state in (ClientState.EXITED, ClientState.ERRORED)
    # The next request starts a new daemon.
    assert (await c.run_tests(task(), FAST)).passed
    await c.aclose()


async def test_an_interpreter_that_cannot_start_is_the_harness_fault_not_the_candidate():
    c = ProfilerClient(interpreter="/nonexistent/python3")
    async with c:
        with pytest.raises(ProfilerError, match="does not start in the sandbox"):
            await c.run_tests(task(), FAST)


def _supervisors() -> set[int]:
    """The pids of the measuring sandboxes' supervisors running on this machine."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args[1:3] == [b"-I", b"-S"] and args[3].endswith(b"zygote.py"):  # not bwrap's
            found.add(int(cmdline.parent.name))
    return found


@pytest.mark.skipif(
    os.environ.get("PERFORCH_SANDBOX", "bwrap") != "bwrap", reason="sessions need bubblewrap"
)
async def test_the_daemon_keeps_one_measuring_sandbox_for_its_comparisons():
    """Two comparisons of a job go to the same supervisor (its start costs ~30 ms, as much as
    two processes' own sandboxes); it ends with the daemon."""
    before = _supervisors()
    c = ProfilerClient(test_timeout_s=5)
    await c.start()
    try:
        await c.compare(task(), SLOW, FAST, Metric.EXEC_TIME, 5.0)
        first = _supervisors() - before
        await c.compare(task(), FAST, SLOW, Metric.EXEC_TIME, 5.0)
        assert len(first) == 1 and _supervisors() - before == first
    finally:
        await c.aclose()
    for _ in range(100):
        if not first & _supervisors():
            break
        await asyncio.sleep(0.05)
    assert not first & _supervisors()
