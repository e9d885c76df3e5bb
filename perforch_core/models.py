"""The core's domain model (DESIGN §4.1): languages, stages, metrics, tasks, candidates, outcomes.

All pydantic v2 models, JSON-serializable, shared by the CLI, the language server, the profiler
client and the study logs.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Language(StrEnum):
    PYTHON = "python"
    JAVA = "java"
    CPP = "cpp"
    GO = "go"
    RUST = "rust"


class Stage(StrEnum):
    GENERATE = "generate"
    FIX = "fix"
    REFINE = "refine"


class Action(StrEnum):
    """What the user asked for; each action runs a prefix of generate → fix → refine."""

    GENERATE = "generate"
    FIX = "fix"
    OPTIMIZE = "optimize"


class Metric(StrEnum):
    EXEC_TIME = "exec_time"
    AVG_MEMORY = "avg_memory"
    MAX_MEMORY = "max_memory"
    CPU_UTILIZATION = "cpu_utilization"

    @property
    def label(self) -> str:
        return _METRIC_WORDS[self][0]

    @property
    def goal(self) -> str:
        """What refining for the metric reduces, as the prompt says it."""
        return _METRIC_WORDS[self][1]


# Each metric's short label, and what a refinement reduces.
_METRIC_WORDS = {
    Metric.EXEC_TIME: ("exec time", "execution time (CPU time per call)"),
    Metric.AVG_MEMORY: ("mean memory", "the average memory held while the function runs"),
    Metric.MAX_MEMORY: ("max memory", "the peak memory the function allocates"),
    Metric.CPU_UTILIZATION: (
        "CPU utilization",
        "CPU utilization (CPU time relative to wall time)",
    ),
}


class Category(StrEnum):
    """The paper's ten problem categories (a problem may carry several)."""

    ARRAY = "array"
    MATH = "math"
    STRING = "string"
    COUNTING = "counting"
    NUMBER_THEORY = "number_theory"
    SIMULATION = "simulation"
    SORTING = "sorting"
    ENUMERATION = "enumeration"
    GREEDY = "greedy"
    HASH_TABLE = "hash_table"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


TestKind = Literal["doctest", "functions", "check", "program", "project"]
ProjectKind = Literal["pytest", "go", "cargo", "maven", "gradle", "cmake", "cpp-self-test"]


class TestCase(_Frozen):
    """One test of the user's project that exercises a function."""

    __test__ = False

    id: str = Field(description="the runner's selector: a pytest node id, a Go test name, …")
    file: str = Field(description="the test's file, relative to the project root")
    found_by: str = Field(description="how it was found to exercise the function")
    code: str = Field(default="", description="the test's source, shown to models")


# Directories a project's test search never enters and its sandboxed copy leaves out: build
# output, caches, environments, version control.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "target",
        "build",
        "cmake-build-debug",
        "cmake-build-release",
        "out",
        "dist",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".gradle",
        ".idea",
        ".vscode",
        "site-packages",
        ".eggs",
    }
)


class ProjectSpec(_Frozen):
    """The user's project around a function: where it is, what builds and tests it, and which
    of its tests judge the function. The profiler runs those tests on a sandboxed copy of the
    project with the candidate patched into ``file``."""

    kind: ProjectKind
    root: str = Field(description="absolute path of the directory the copy is made of")
    file: str = Field(description="the function's file, relative to ``root``")
    tests: tuple[TestCase, ...]
    others: int = Field(default=0, description="tests found that do not exercise the function")
    set_aside: tuple[TestCase, ...] = Field(
        default=(),
        description="tests that exercise the function but failed on the user's own code before "
        "any change: pre-existing failures, not judging candidates of an optimization",
    )
    workdir: str = Field(default=".", description="where the build runs, relative to ``root``")
    benchmarks: tuple[TestCase, ...] = Field(
        default=(),
        description="the user's own benchmarks that exercise the function (Go ``Benchmark…``, "
        "pytest-benchmark, Rust criterion, Google Benchmark): "
        "measured instead of the tests, which still judge correctness",
    )
    options: dict[str, str] = Field(
        default_factory=dict, description="per-kind settings (a crate's name, a classpath …)"
    )


class TestSpec(_Frozen):
    """How to test a candidate.

    - ``doctest``: ``source`` is doctest text (``>>>`` examples) run against the module.
    - ``functions``: ``source`` is a test module whose ``test_*`` functions import the function
      from ``module``.
    - ``check``: ``source`` defines ``check(candidate)`` (HumanEval style), called with the
      function.
    - ``program``: the compiled languages. Without ``file``, ``source`` is appended to the
      module to make a test program (HumanEval-X: a ``main`` with asserts, ``Test*`` functions,
      ``#[cfg(test)] mod``; Rust's in-file tests need no source at all). With ``file``, the
      tests are a file of their own beside the module, as in a user's project: Go's
      ``x_test.go`` (same package), Java's test class with a ``main``, a C++ test program
      (its ``#include "…"`` of the module is dropped: the module comes first).
    - ``project``: the user's own project (``project``): its build system and test framework
      run the tests in ``project.tests`` on a sandboxed copy with the candidate patched in.
    """

    __test__ = False  # not a pytest class

    kind: TestKind
    source: str
    origin: str = Field(description="where the tests came from, for the user")
    file: str | None = Field(
        default=None, description="the tests' own file name when they sit beside the module"
    )
    project: ProjectSpec | None = None


class Workload(_Frozen):
    """Inputs to measure the function on instead of its tests: ``generator`` is Python source
    defining ``generate_input(size, rng)``, which returns the function's arguments; the
    workload is one call per seed at ``size`` (chosen so that a call of the original costs
    ``per_call_ns``). Every language: the compiled ones' measuring programs read the same values
    into the parameters' types."""

    generator: str
    size: int
    seeds: tuple[int, ...] = (1, 2, 3)
    mutates: bool = Field(
        default=False, description="the original changes its arguments: each call gets a copy"
    )
    origin: str = Field(description="who wrote the generator, for the user")
    per_call_ns: float | None = None
    growth: float | None = Field(
        default=None,
        description="k of the original's time per call ∝ n^k, fitted over the probe's larger "
        "sizes (profile feedback for the refine prompt)",
    )
    checks_only: bool = Field(
        default=False,
        description="refused for measuring (see ProbeResult.checkable): used only to check "
        "candidates against the original, at sizes up to ``size``; the tests are measured",
    )

    def seeds_run(self) -> range | None:
        """The seeds as a range when they are a long run of consecutive ones (fixed-size
        inputs, measured thousands at a time), else None."""
        s = self.seeds
        run = range(s[0], s[0] + len(s)) if s else range(0)
        return run if len(s) > 3 and s == tuple(run) else None

    def seeds_text(self) -> str:
        """The seeds as a person reads them: ``1, 2, 3``, or ``1…4096`` for a long run."""
        run = self.seeds_run()
        return f"{run[0]}…{run[-1]}" if run else ", ".join(map(str, self.seeds))


class ProbeResult(_Frozen):
    """An input generator tried on the original and scaled (the profiler's ``probe_workload``)."""

    ok: bool
    size: int | None = None
    ns: float | None = Field(default=None, description="CPU time of one call of the original")
    mutates: bool = False
    tried: list[dict[str, float]] = Field(default_factory=list, description="size, ns")
    error: str | None = None
    wrapped: bool = Field(
        default=False,
        description="the function takes one argument and the generator returned its items as "
        "the arguments' tuple: the generator is used wrapped (workloads.wrap_single)",
    )
    first_only: bool = Field(
        default=False,
        description="the function takes one argument and the generator returned it followed by "
        "more (an expected result): only its first value is used (workloads.first_only)",
    )
    inputs: int | None = Field(
        default=None,
        description="the inputs do not grow with the size (a date string, a number in a fixed "
        "range): the workload is this many seeds' inputs, not the seeds asked",
    )
    checkable: bool = Field(
        default=False,
        description="refused for measuring (the original's cost does not grow with its inputs), "
        "but deterministic and run by the original at every size tried: its inputs can still "
        "check candidates against the original",
    )


class Mismatch(_Frozen):
    """The smallest generated input on which the candidate differs from the original."""

    size: int
    seed: int
    why: str
    input: str
    original: str
    candidate: str


class DifferentialResult(_Frozen):
    """Original and candidate on the same generated inputs (``differential``)."""

    ok: bool
    checked: int = 0
    mismatch: Mismatch | None = None
    error: str | None = Field(default=None, description="the check itself could not run")
    skipped: str | None = Field(
        default=None,
        description="why some inputs below the probe's sizes were not checked (the generator "
        "refused them)",
    )


class ScalingPoint(_Frozen):
    """The cost of one call of each side at one input size (median over seeds and repeats)."""

    size: int
    baseline: float
    candidate: float


class ScalingResult(_Frozen):
    """Both sides called at growing sizes of the generated input (the profiler's ``scaling``)."""

    ok: bool
    points: tuple[ScalingPoint, ...] = ()
    unit: str = "ns"
    error: str | None = None
    size_ignored: bool = Field(
        default=False,
        description="the generator gave each seed the same inputs at every size: the sizes "
        "are labels, not how large the inputs are",
    )


class Scaling(_Frozen):
    """Complexity evidence: how one call's cost grows with the input's size before and after
    the change, with the exponent of a least-squares fit on log-log axes (cost ∝ n^k)."""

    metric: Metric
    unit: str = Field(description="ns: CPU time of one call; B: tracemalloc peak of one call")
    points: tuple[ScalingPoint, ...]
    exponent_before: float | None = Field(description="k of the fit for the original")
    exponent_after: float | None = Field(description="k of the fit for the change")
    fitted_from: int = Field(description="the smallest size in the fit (the larger sizes)")
    unfitted: str = Field(
        default="", description="why no exponent was fitted, when that is not for want of points"
    )
    plot: str = Field(default="", description="a PNG of the log-log plot, when one was drawn")


class HotLine(_Frozen):
    """One line of the function and its share of the function's own time (profile feedback)."""

    line: int = Field(description="line in the module")
    offset: int = Field(description="lines after the function's def line")
    code: str
    share: float = Field(description="of the time spent in the function's frames, 0…1")
    hits: int = Field(description="executions per run of the workload")


class HotspotsResult(_Frozen):
    """Where one run of the workload spends the function's time (the profiler's hotspots)."""

    ok: bool
    lines: tuple[HotLine, ...] = ()
    error: str | None = None


class TestInputs(_Frozen):
    """The arguments the tests call the function with, as Python literals (``test_inputs``):
    differential testing checks candidates on them too."""

    __test__ = False  # not a pytest class

    ok: bool
    inputs: tuple[str, ...] = ()
    calls: int = Field(default=0, description="calls of the function the tests made")
    unreadable: int = Field(default=0, description="of them, with arguments that are not literals")
    error: str | None = None


class Task(_Frozen):
    """One function to generate, fix or optimize, with everything needed to test it."""

    id: str = Field(description="stable id: 'path::function' or a benchmark task id")
    language: Language
    entry_point: str = Field(description="the function's name")
    module: str = Field(default="solution", description="module name the tests import from")
    prefix: str = Field(default="", description="module source before the function")
    suffix: str = Field(default="", description="module source after the function")
    signature: str = Field(description="the function's header (and docstring) as written")
    description: str = ""
    current_code: str | None = Field(default=None, description="the function as it is now")
    tests: TestSpec
    examples: str | None = Field(
        default=None,
        description="tests shown to models instead of the tests themselves (a benchmark's "
        "example tests: the full tests judge without being shown)",
    )
    categories: tuple[Category, ...] = ()
    metric: Metric = Metric.EXEC_TIME
    workload: Workload | None = Field(
        default=None, description="generated inputs to measure on instead of the tests"
    )

    def program(self, function_code: str) -> str:
        """The whole module with ``function_code`` (a candidate block: new imports, helpers,
        the function) merged in (``source/extras.py``)."""
        from .source import extras  # the source package imports this module

        return extras.merge(self.language, self.prefix, function_code, self.suffix)


class Candidate(_Frozen):
    code: str = Field(description="the function's full source")
    model: str | None = Field(description="litellm model string, None for the user's code")
    stage: Stage | None
    parent: str | None = Field(default=None, description="id of the candidate it came from")

    @property
    def id(self) -> str:
        import hashlib

        return hashlib.sha256(self.code.encode()).hexdigest()[:12]


class TestFailure(_Frozen):
    __test__ = False

    name: str
    message: str


class TestOutcome(_Frozen):
    __test__ = False

    passed: bool
    total: int = 0
    failures: tuple[TestFailure, ...] = ()
    error: str | None = Field(default=None, description="crash, timeout or build error")
    timed_out: bool = False
    stdout_tail: str = ""
    stderr_tail: str = ""
    duration_s: float = 0.0
    preexisting: tuple[str, ...] = Field(
        default=(), description="tests set aside: they failed on the code before the change"
    )
    environment: str = Field(
        default="",
        description="why the tests cannot run whatever the code (the project's dependencies "
        "are not cached, and the sandbox has no network): no model can fix that",
    )

    def summary(self) -> str:
        if self.passed:
            aside = f" ({len(self.preexisting)} failing before the change set aside)"
            return f"{self.total} passed" + (aside if self.preexisting else "")
        if self.error:
            return self.error.splitlines()[0][:200] if self.error else "error"
        first = self.failures[0] if self.failures else None
        lines = [ln.strip() for ln in first.message.splitlines() if ln.strip()] if first else []
        # The line that says what went wrong (testify's "Error: Not equal", JUnit's "expected:
        # <2> but was: <3>"), else the first one.
        telling = [
            ln
            for pattern in (r"\bError:", r"(?i)expected|assert|panic", r"[Ee]rror|[Ee]xception")
            for ln in lines
            if re.search(pattern, ln)
        ]
        line = (telling or lines or [""])[0]
        what = f": {first.name}: {line}"[:160] if first else ""
        return f"{len(self.failures)} of {self.total} failed{what}"

    def failure_report(self, limit: int = 4000) -> str:
        """Text given to a fix model: what failed and how."""
        parts: list[str] = []
        if self.error:
            parts.append(self.error)
        for f in self.failures:
            parts.append(f"{f.name}: {f.message}")
        if self.stderr_tail:
            parts.append(f"stderr:\n{self.stderr_tail}")
        return "\n".join(parts)[:limit]


class Interval(_Frozen):
    low: float
    high: float
    level: float = 0.95


class Measurement(_Frozen):
    """One candidate's values for a metric, one per fresh process (summary = median)."""

    metric: Metric
    unit: str
    values: tuple[float, ...]
    summary: float


class Footprint(_Frozen):
    """Process-level memory of one run of a measuring program under the profiler's launcher,
    sampled every 1 ms from ``/proc/<pid>/status`` (bytes)."""

    peak_rss: int = Field(description="true peak resident set (the child's own ru_maxrss)")
    mean_rss_anon: float = Field(description="mean private resident memory (RssAnon)")
    peak_vm_data_stk: int = Field(description="the paper's metric: peak VmData + VmStk")
    mean_vm_data_stk: float
    samples: int


class ProcessMemory(_Frozen):
    """Footprints of the baseline, the candidate and the same harness running no tests (the
    empty-harness baseline to subtract), from one fresh process each."""

    baseline: Footprint
    candidate: Footprint
    empty: Footprint

    def above_empty(self, which: Literal["baseline", "candidate"], field: str) -> float:
        """``field`` of one side minus the empty harness's (never below 0)."""
        value = float(getattr(getattr(self, which), field))
        return max(0.0, value - float(getattr(self.empty, field)))


class InstructionCounts(_Frozen):
    """Deterministic instructions per test run (valgrind), beside the timing verdict."""

    baseline: int
    candidate: int
    tool: str = "valgrind --tool=cachegrind --cache-sim=no"


class Verdict(_Frozen):
    """Whether a candidate improves on a baseline for a metric, with the evidence."""

    metric: Metric
    decision: Literal["improved", "not_improved", "inconclusive"]
    improvement_pct: float = Field(
        description="the paired estimate: (1 − 1 / geometric mean of the per-process "
        "baseline ÷ candidate ratios) × 100"
    )
    interval_pct: Interval = Field(
        description="95 % interval of the improvement (%): Student's t over the per-process "
        "log-ratios, at the level the measuring plan spends on the look that decided"
    )
    threshold_pct: float
    before: Measurement
    after: Measurement
    processes: int
    method: str = Field(description="how it was measured, for the user")
    workload: str = Field(
        default="",
        description="what ran as the workload: the user's benchmarks, generated inputs, or tests",
    )
    note: str = Field(default="", description="a caveat the user must see, e.g. a folded workload")
    process_memory: ProcessMemory | None = Field(
        default=None, description="process-level memory reported beside a memory verdict"
    )
    instructions: InstructionCounts | None = None
    wall_before_ns: float | None = Field(
        default=None, description="wall time per run beside the CPU time (time metrics)"
    )
    wall_after_ns: float | None = None
    repeat_speedup: float | None = Field(
        default=None,
        description="how many times cheaper the candidate's second run of the tests was than "
        "its first, relative to the baseline's (median over processes)",
    )
    process_ratios: tuple[float, ...] = Field(
        default=(),
        description="baseline ÷ candidate of each process, the values the interval is over",
    )
    rejected: str = Field(
        default="",
        description="why a measured gain is not accepted (a candidate that keeps results "
        "between calls): the decision is then not_improved",
    )

    @property
    def improved(self) -> bool:
        return self.decision == "improved"

    @property
    def paired_after(self) -> float:
        """The candidate's value at the baseline's median by the paired estimate: what a
        one-line ``before → after`` shows, so that it agrees with the change beside it.
        (``after.summary``, the candidate's own median over processes, also moves with the
        machine between processes: 47.59 → 46.42 ms beside a paired −0.5 % was seen.)"""
        return self.before.summary * (1.0 - self.improvement_pct / 100.0)
