"""Generated workloads for refinement: inputs large enough to measure the function on (its
tests' inputs usually are not), and the inputs each candidate is checked on against the
original (differential testing). Python (lone files and pytest projects), lone files in the
four compiled languages, Go modules, Maven or Gradle projects and Cargo crates, where the
measuring program reads the generator's values into the parameters' types; functions in CMake
projects, and Go and Rust methods, keep their tests so far.

1. A model writes ``generate_input(size, rng)`` (``prompts.generator``); the reply's Python
   block defining it is kept (:func:`parse_generator`).
2. The profiler checks it on the original, in the sandbox (deterministic for a seed, inputs the
   original accepts), and doubles the size until one call of the original costs
   ``TARGET_NS`` of CPU (``probe_workload``). A refused generator goes back to the model once,
   with the reason.
3. The workload is kept in Memory per version of the function (:func:`key`), so refining the
   same code again asks no model.
4. A refine candidate that passes the tests runs against the original on the generated inputs,
   at small sizes and at the workload's (``differential``); any difference in return value,
   arguments afterwards or exception type rolls it back, naming the smallest input that
   differs (:func:`describe_mismatch`).
"""

from __future__ import annotations

import ast
import hashlib
import logging
from collections.abc import Sequence
from typing import Protocol

from . import complexity, languages
from .errors import LLMError, LLMReplyError, ProfilerError, StorageError
from .llm import parsing, prompts
from .models import DifferentialResult, Mismatch, ProbeResult, Task, Workload
from .ports import LLMPort, LLMReply

log = logging.getLogger("perforch.workloads")

TARGET_NS = 5_000_000  # one call of the original on the workload: 5 ms of CPU
ATTEMPTS = 3  # a refused generator is sent back, with the reason, up to twice
SEEDS = (1, 2, 3)
DIFF_SIZES = (0, 1, 2, 3, 5, 8, 16, 64)  # small inputs first: edge cases, cheap to check
CHECK_SIZE = 1024  # the largest input a checks-only generator is used at


class WorkloadProfiler(Protocol):
    """What the profiler offers for generated workloads (``ProfilerClient`` has it)."""

    async def probe_workload(
        self, task: Task, code: str, generator: str, *, target_ns: int = TARGET_NS
    ) -> ProbeResult: ...

    async def differential(
        self,
        task: Task,
        baseline: str,
        candidate: str,
        generator: str,
        sizes: list[int],
        seeds: list[int] | None = None,
        *,
        timeout_s: float = 60.0,
    ) -> DifferentialResult: ...


class WorkloadMemory(Protocol):
    async def cached_workload(self, key: str) -> Workload | None: ...

    async def cache_workload(self, key: str, workload: Workload) -> None: ...


def supported(task: Task) -> bool:
    """Whether the profiler runs generated inputs for the task: Python (lone files and pytest
    projects, where the function's module is imported from the project's copy), lone C++,
    Go, Java and Rust files, Go modules, Maven or Gradle projects and Cargo crates (the
    measuring program calls the function on them; Go methods are left to their tests)."""
    support = languages.support(task.language)
    if not support.takes_generated_inputs(task):
        return False
    if task.tests.kind == "project":
        return support.generated_workloads_in_projects
    return support.generated_workloads


# Part of a cached workload's key: raised whenever the probe's rules change, so that a workload
# an older PerfOrch accepted is probed again rather than reused (one accepted before flat-cost
# workloads were refused — 1 M items with an early exit after a few — was measured on in 2026-12).
# 3: a lazy function's returned iterator is drawn (before, creating it was timed: flat).
# 4: inputs that do not grow with the size are measured many at a time (before: refused).
PROBE_RULES = 4


def key(task: Task, code: str) -> str:
    text = "\0".join((str(PROBE_RULES), task.language.value, task.entry_point, task.prefix, code))
    return hashlib.sha256(text.encode()).hexdigest()


def parse_generator(reply: str, model: str) -> str:
    """The Python block defining ``generate_input`` (it must at least compile)."""
    for tag, code in parsing.code_blocks(reply) or [("python", reply)]:
        if "def generate_input" not in code or tag not in ("", "python", "py", "python3"):
            continue
        try:
            compile(code, "<generator>", "exec")
        except SyntaxError as exc:
            raise LLMReplyError(f"the generator does not compile: {exc}", model=model) from exc
        return code
    raise LLMReplyError("the reply holds no Python block defining generate_input()", model=model)


def wrap_single(generator: str) -> str:
    """A generator for a one-argument function that returned the argument's items as the
    arguments' tuple, made to return them as the one argument (the probe found it so)."""
    return (
        f"{generator.rstrip()}\n\n\n_perforch_items = generate_input\n\n\n"
        "def generate_input(size, rng):  # the items are the function's one argument\n"
        "    return (_perforch_items(size, rng),)\n"
    )


def first_only(generator: str) -> str:
    """A generator for a one-argument function that returned the argument and more (as a
    model does that adds the expected result), made to return the argument alone (the probe
    found the function runs on it, and not on the whole tuple)."""
    return (
        f"{generator.rstrip()}\n\n\n_perforch_argument_and_more = generate_input\n\n\n"
        "def generate_input(size, rng):  # the first value is the function's one argument\n"
        "    return (_perforch_argument_and_more(size, rng)[0],)\n"
    )


def sizes(workload: Workload) -> list[int]:
    """The sizes differential testing runs at: the small ones, then the workload's own."""
    return sorted({s for s in DIFF_SIZES if s < workload.size} | {workload.size})


def describe_mismatch(m: Mismatch, where: str = "a generated input") -> str:
    return (
        f"differs from the original on {where} ({m.why}): "
        f"{m.input} → original {m.original}, candidate {m.candidate}"
    )


def tests_generator(inputs: Sequence[str]) -> str:
    """The tests' own inputs (Python literals, from the profiler's ``test_inputs``) as a
    generator: ``generate_input(i, rng)`` returns the i-th, so differential testing runs them
    at sizes 0 … n − 1. ``ValueError`` when one is not a literal (nothing else is embedded)."""
    for text in inputs:
        ast.literal_eval(text)
    rows = "".join(f"    {text},\n" for text in inputs)
    return (
        '"""The arguments the tests called the function with (read by PerfOrch)."""\n\n'
        f"CASES = [\n{rows}]\n\n\n"
        "def generate_input(size, rng):  # size: which of the tests' calls\n"
        "    return CASES[size]\n"
    )


async def prepare(
    llm: LLMPort,
    profiler: WorkloadProfiler,
    memory: WorkloadMemory | None,
    task: Task,
    code: str,
    model: str,
    *,
    target_ns: int = TARGET_NS,
) -> tuple[Workload | None, str, list[LLMReply]]:
    """A workload for ``code`` (cached, or written by ``model`` and checked), or None and why;
    with the model's replies, for the job's accounting. A generator refused only because the
    original's cost does not grow with its inputs comes back ``checks_only``: not measured on,
    but its inputs still check candidates against the original (a candidate that sorts its
    argument in place is caught even where the tests are measured)."""
    cache_key = key(task, code)
    if memory is not None:
        try:
            cached = await memory.cached_workload(cache_key)
        except StorageError as exc:
            log.warning("%s", exc)
            cached = None
        if cached is not None:
            return cached, f"the workload generated before ({cached.origin})", []
    replies: list[LLMReply] = []
    error: str | None = None
    previous: str | None = None  # the refused generator, shown to the model with the reason
    checker: Workload | None = None  # a refused generator whose inputs still check candidates
    for _ in range(ATTEMPTS):
        try:
            reply = await llm.complete(model, prompts.generator(task, code, error, previous))
        except LLMError as exc:
            return None, f"{model} could not write an input generator: {exc}", replies
        replies.append(reply)
        previous = None
        try:
            generator = parse_generator(reply.text, model)
            previous = generator
            probe = await profiler.probe_workload(task, code, generator, target_ns=target_ns)
        except LLMReplyError as exc:
            error = str(exc)
            continue
        except ProfilerError as exc:
            return None, f"the input generator could not be tried: {exc}", replies
        if probe.wrapped:
            generator = wrap_single(generator)
        elif probe.first_only:
            generator = first_only(generator)
        if not probe.ok or probe.size is None:
            error = probe.error or "it was refused"
            if probe.checkable and probe.tried:
                largest = max(int(t["size"]) for t in probe.tried)
                checker = Workload(
                    generator=generator,
                    size=min(largest, CHECK_SIZE),
                    seeds=SEEDS,
                    origin=f"generated by {model}",
                    checks_only=True,
                )
            continue
        tried = [(int(t["size"]), float(t["ns"])) for t in probe.tried]
        larger = [(n, ns) for n, ns in tried if n >= probe.size // complexity.FIT_SPAN]
        workload = Workload(
            generator=generator,
            size=probe.size,
            seeds=tuple(range(1, probe.inputs + 1)) if probe.inputs else SEEDS,
            mutates=probe.mutates,
            origin=f"generated by {model}",
            per_call_ns=probe.ns,
            growth=complexity.exponent([n for n, _ in larger], [ns for _, ns in larger]),
        )
        if memory is not None:
            try:
                await memory.cache_workload(cache_key, workload)
            except StorageError as exc:
                log.warning("%s", exc)
        return workload, f"generated by {model}", replies
    if checker is not None:
        return (
            checker,
            f"{model}'s input generator was refused for measuring ({error}); its inputs still "
            "check candidates against the original",
            replies,
        )
    return None, f"{model}'s input generator was refused: {error}", replies


def usable_memory(memory: object) -> WorkloadMemory | None:
    """The Memory, when it keeps workloads."""
    if hasattr(memory, "cached_workload") and hasattr(memory, "cache_workload"):
        return memory  # type: ignore[return-value]
    return None


def usable_profiler(profiler: object) -> WorkloadProfiler | None:
    """The profiler, when it runs generated workloads."""
    if hasattr(profiler, "probe_workload") and hasattr(profiler, "differential"):
        return profiler  # type: ignore[return-value]
    return None


def seeds_source(workload: Workload) -> str:
    """The seeds as Python source: a tuple, or a ``range`` for a long run of them."""
    run = workload.seeds_run()
    return f"range({run.start}, {run.stop})" if run else repr(tuple(workload.seeds))


def as_generator_script(task: Task, workload: Workload) -> str:
    """A compiled function's workload as the Python script it came from: the generator, and
    the inputs at the measured size printed per seed (a test file in the function's own
    language is not written yet)."""
    return (
        f'"""The input generator PerfOrch measured {task.entry_point} ({task.language.value}) on '
        f"({workload.origin}; checked on the original by PerfOrch): each seed's arguments at "
        f'the size it was measured on. Saved by PerfOrch."""\n\n'
        f"import random\n\n\n{workload.generator.strip()}\n\n\n"
        f"SIZE = {workload.size}\nSEEDS = {seeds_source(workload)}\n\n\n"
        'if __name__ == "__main__":\n'
        "    for seed in SEEDS:\n"
        "        print(repr(generate_input(SIZE, random.Random(seed))))\n"
    )


def as_test_file(task: Task, workload: Workload, module: str | None = None) -> str:
    """The workload as a pytest file the user can keep: the generator, and the function run on
    its inputs at the measured size, one case per seed — a pytest-benchmark benchmark when the
    project already writes its benchmarks so, else a plain test (it checks the function does
    not raise on them). ``module``: what the test imports the function from (default: the
    project's module for it, else the task's)."""
    project = task.tests.project
    if module is None:
        module = project.options.get("module", task.module) if project else task.module
    fn = task.entry_point
    bench = bool(project and project.benchmarks)
    many = len(workload.seeds) > len(SEEDS)  # fixed-size inputs, measured many at a time
    head = (
        f'"""Inputs generated for {fn} ({workload.origin}; checked on the original by PerfOrch)\n'
        f'at the size it was measured on. Saved by PerfOrch."""\n\n'
        "import random\n\nimport pytest\n\n"
        f"from {module} import {fn}\n\n\n{workload.generator.strip()}\n\n\n"
        f"SIZE = {workload.size}\nSEEDS = {seeds_source(workload)}\n\n\n"
        "def _args(seed):\n"
        "    args = generate_input(SIZE, random.Random(seed))\n"
        "    return tuple(args) if isinstance(args, (tuple, list)) else (args,)\n\n\n"
    )
    if many:  # one case running them all: one call of a single input costs microseconds
        run = (
            "INPUTS = [_args(seed) for seed in SEEDS]\n\n\n"
            "def _run_all():\n"
            "    for args in INPUTS:\n"
            f"        {fn}(*args)\n\n\n"
        )
        if bench:
            return (
                head
                + run
                + (f"def test_{fn}_on_generated_inputs(benchmark):\n    benchmark(_run_all)\n")
            )
        return head + run + f"def test_{fn}_on_generated_inputs():\n    _run_all()\n"
    head += '@pytest.mark.parametrize("seed", SEEDS)\n'
    if bench:
        return head + (
            f"def test_{fn}_on_generated_inputs(benchmark, seed):\n"
            f"    benchmark({fn}, *_args(seed))\n"
        )
    return head + f"def test_{fn}_on_generated_inputs(seed):\n    {fn}(*_args(seed))\n"
