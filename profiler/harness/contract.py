"""The measuring contract (version 2) between a compiled language's harness and its driver.

A driver is a real source file in its language (``profiler/languages/<name>/driver.*``),
built into one program with both sides' tests and a small generated *sides* file that runs
side 0 (the baseline's tests), side 1 (the candidate's) or side 2 (nothing: the empty harness,
``process_memory.EMPTY``). It understands three commands, each led by the contract's version,
which the driver checks (a mismatch exits 2 with a message):

``measure 2 MODE PAIRS SEED TARGET_NS FLOOR_BYTES WARMUP_NS MAX_K``
    First time one test-suite run of each side, twice (``first``, ``second``: the CPU time of
    each side's first and second runs, before anything else ran them). Then calibrate ``k``
    runs per batch on the slower side so its batch costs about ``TARGET_NS`` of the process's
    CPU time (all its threads; at most ``MAX_K``), warm both sides up (two batches each, or for
    ``WARMUP_NS`` of wall time when it is not 0), then run ``PAIRS`` A/B pairs, the side that
    goes first drawn from ``SEED``. ``MODE`` is a :class:`Mode` name. Prints one line:
    ``PERFORCH_RESULT {"contract": 2, "ratio": …, "baseline": …, "candidate": …, "unit": …,
    "k": …, "wall_baseline": …, "wall_candidate": …, "first": [a, b], "second": [a, b]}``:
    medians over the pairs of baseline ÷ candidate and of each side's value (per run for
    ``cpu_time``; per batch for ``cpu_per_wall``; per run, floored at ``FLOOR_BYTES``, for
    ``allocated``) and of each side's wall time per run (0 for ``allocated``).
``hold 2 SIDE CPU_NS WALL_NS``
    Run one side's tests (or none, side 2) until ``CPU_NS`` of CPU time or ``WALL_NS`` of wall
    time have passed: the memory launcher samples the process meanwhile.
``count 2 SIDE N``
    Run one side's tests ``N`` times (under valgrind, for instruction counts).
``serve 2`` (programs built for a generated workload; C++ so far)
    Call the function on one generated input at a time, for ``py_workload.py``: first a line
    ``{"arity": N, "mutates": bool or null}``, then per request (a line ``call SIDE NBYTES
    TIMED`` and that many bytes of arguments in ``py_workload.encode``'s form) one JSON line:
    ``returned``, ``raised`` (the exception's type, or null), ``args_after``, ``changed``
    (where ``mutates`` is null: whether the arguments changed), ``ns`` (its CPU time) and
    ``peak`` (bytes it allocated above those live before it), or ``input_error``. ``TIMED`` 1:
    the call's cost is wanted (Java warms the method up first, as its measuring runs do).

In a program built for a generated workload, a side's "tests" are the function called once on
each of the workload's inputs (read from ``perforch_inputs.txt`` before anything is timed).

Every constant lives here (:class:`Constants`); a harness may change the ones its language
needs (Java's JIT wants a longer batch and a timed warm-up). The drivers that run in-process
with their test framework (Python's ``py_runner.py`` and ``pytest_bench.py``, Java's
``PerforchJUnitBench``) take a request file instead of these commands, and read the same
constants from it (:meth:`Constants.as_request`).
"""

from __future__ import annotations

import dataclasses
import enum
import json

from perforch_core.errors import HarnessError
from perforch_core.models import Metric

VERSION = 2
RESULT_TAG = "PERFORCH_RESULT"


class Mode(enum.StrEnum):
    CPU_TIME = "cpu_time"  # the process's CPU time (all threads) per test-suite run
    CPU_PER_WALL = "cpu_per_wall"  # CPU time ÷ wall time per batch
    ALLOCATED = "allocated"  # the language's allocation counter over one test-suite run


MODES = {
    Metric.EXEC_TIME: Mode.CPU_TIME,
    Metric.CPU_UTILIZATION: Mode.CPU_PER_WALL,
    Metric.MAX_MEMORY: Mode.ALLOCATED,
}
UNITS = {Mode.CPU_TIME: "ns", Mode.CPU_PER_WALL: "ratio", Mode.ALLOCATED: "B"}


@dataclasses.dataclass(frozen=True)
class Constants:
    target_batch_ns: int = 1_000_000  # a batch costs ~1 ms of CPU (clock overhead ~1 µs)
    floor_bytes: int = 16_384  # allocation differences under 16 KiB are noise, not gains
    warmup_ns: int = 0  # 0: two batches per side; else warm both sides up this long
    max_k: int = 1 << 26
    hold_cpu_ns: int = 60_000_000  # the launcher samples every 1 ms: ≥ 60 samples
    hold_wall_ns: int = 2_000_000_000
    sampled_min_ns: int = 50_000_000  # a sampled mean (Python's avg_memory) covers at least this

    def as_request(self) -> dict[str, int]:
        """The constants as the in-process drivers read them from their request (Python's
        ``py_runner.py`` and ``pytest_bench.py``, ``PerforchJUnitBench``), with the version."""
        return {"contract": VERSION, **dataclasses.asdict(self)}


def measure_argv(mode: Mode, pairs: int, seed: int, c: Constants) -> list[str]:
    return [
        "measure",
        str(VERSION),
        mode.value,
        str(pairs),
        str(seed),
        str(c.target_batch_ns),
        str(c.floor_bytes),
        str(c.warmup_ns),
        str(c.max_k),
    ]


def hold_argv(side: int, c: Constants) -> list[str]:
    return ["hold", str(VERSION), str(side), str(c.hold_cpu_ns), str(c.hold_wall_ns)]


def count_argv(side: int, runs: int) -> list[str]:
    return ["count", str(VERSION), str(side), str(runs)]


def serve_argv() -> list[str]:
    return ["serve", str(VERSION)]


@dataclasses.dataclass(frozen=True)
class Result:
    ratio: float
    baseline: float
    candidate: float
    unit: str
    k: int
    wall_baseline: float = 0.0  # per run, ns (time modes)
    wall_candidate: float = 0.0
    first: tuple[float, float] = (0.0, 0.0)  # CPU ns of each side's first run
    second: tuple[float, float] = (0.0, 0.0)  # … and second run


def parse_result(stdout: str, mode: Mode) -> Result | None:
    """The driver's result line in ``stdout``; None when there is none. A line of another
    contract version or unit is the harness's bug, not the candidate's: ``HarnessError``."""
    line = next(
        (ln for ln in reversed(stdout.splitlines()) if ln.startswith(RESULT_TAG + " ")), None
    )
    if line is None:
        return None
    try:
        data = json.loads(line[len(RESULT_TAG) + 1 :])
        result = Result(
            ratio=float(data["ratio"]),
            baseline=float(data["baseline"]),
            candidate=float(data["candidate"]),
            unit=str(data["unit"]),
            k=int(data["k"]),
            wall_baseline=float(data["wall_baseline"]),
            wall_candidate=float(data["wall_candidate"]),
            first=(float(data["first"][0]), float(data["first"][1])),
            second=(float(data["second"][0]), float(data["second"][1])),
        )
        version = data["contract"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"the measuring driver's result is malformed: {line[:200]}") from exc
    if version != VERSION:
        raise HarnessError(f"the measuring driver speaks contract {version}, not {VERSION}")
    if result.unit != UNITS[mode]:
        raise HarnessError(f"the measuring driver reported {result.unit!r} for {mode.value}")
    return result
