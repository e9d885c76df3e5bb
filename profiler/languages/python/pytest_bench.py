"""A pytest plugin that measures a project's tests as the workload, baseline against candidate
in one process. Loaded by the profiler inside the sandbox (``-p pytest_bench``), standard
library and pytest only.

After collection it replaces pytest's run loop. The project's copy holds the baseline module;
the candidate's source is executed beside it and its function (with any new imports and
helpers) bound to the module's own namespace, so both sides share the module's state and
classes. Every reference to the function (the module's attribute, ``from m import f`` in test
modules, a package's re-export) is switched between the two. Then, per selected test: set it up
once, calibrate K calls per batch (≥ 2 ms of CPU), warm up, and run ``pairs`` A/B batch pairs
in random order. A pair's ratio is (Σ tests A) / (Σ tests B), per call. The result is one JSON
object in ``PERFORCH_RESULT``'s file. The process stays on one CPU from configuration on
(``py_measuring.pin_to_one_cpu``), except for ``cpu_utilization``.

Metrics: ``exec_time`` (the process's CPU time, every thread's: work the tests hand to other
threads counts; the measuring run has no RLIMIT_CPU, under which this kernel would serve the
clock at 4 ms ticks, see docs/measurement.md), with the wall time beside it,
``cpu_utilization`` (CPU ÷ wall per batch), ``max_memory`` (tracemalloc peak above the start of
one call, floored at 16 KiB), ``avg_memory`` (the tracemalloc level above the start, sampled
every 1 ms by a thread while the test repeats for ≥ 50 ms: the mean, per test, averaged over the
tests; floored at 16 KiB). Each test's first and second calls per side are timed too (a
candidate that keeps results between calls is much cheaper the second time).
"""

from __future__ import annotations

import copy
import json
import random
import statistics
import sys
import time
import tracemalloc
import types
from collections.abc import Callable
from typing import Any

import pytest


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--perforch-bench", dest="perforch_bench", default=None)


def _candidate(module: types.ModuleType, path: str, function: str) -> Callable[..., Any]:
    """The candidate's function, its globals the module's own (new names added to it)."""
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    scratch: dict[str, Any] = {
        "__name__": module.__name__,
        "__package__": module.__package__,
        "__file__": getattr(module, "__file__", path),
        "__spec__": module.__spec__,
    }
    exec(compile(source, getattr(module, "__file__", path), "exec"), scratch)
    own = vars(module)
    for name, value in scratch.items():
        if name not in own:
            own[name] = value
    made = scratch[function]
    if isinstance(made, types.FunctionType):
        bound = types.FunctionType(
            made.__code__, own, made.__name__, made.__defaults__, made.__closure__
        )
        bound.__kwdefaults__ = made.__kwdefaults__
        bound.__doc__ = made.__doc__
        bound.__dict__.update(made.__dict__)
        return bound
    return made  # type: ignore[no-any-return]


def _references(original: object) -> list[tuple[object, str]]:
    found: list[tuple[object, str]] = []
    for mod in list(sys.modules.values()):
        try:
            items = list(vars(mod).items())
        except TypeError:
            continue
        found += [(mod, name) for name, value in items if value is original]
    return found


def pytest_configure(config: Any) -> None:
    """Before collection imports the project: every thread started from here on runs on the
    CPU this process runs on now (``py_measuring.pin_to_one_cpu``), except for
    ``cpu_utilization``."""
    path = config.getoption("perforch_bench")
    if path is None:
        return
    with open(path, encoding="utf-8") as fh:
        metric = json.load(fh).get("metric")
    if metric != "cpu_utilization":
        from py_measuring import pin_to_one_cpu  # shipped beside this plugin

        pin_to_one_cpu()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: Any) -> bool | None:
    path = session.config.getoption("perforch_bench")
    if path is None:
        return None
    with open(path, encoding="utf-8") as fh:
        req = json.load(fh)
    out = req["out"]
    try:
        result = _measure(session, req)
    except Exception as exc:  # reported to the profiler, which says so
        result = {"harness_error": f"{type(exc).__name__}: {exc}"}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return True


def _measure(session: Any, req: dict[str, Any]) -> dict[str, Any]:
    if req["constants"]["contract"] != 2:
        raise RuntimeError("this plugin speaks measuring contract 2")
    if session.testsfailed:
        raise RuntimeError("collecting the tests failed")
    if not session.items:
        raise RuntimeError("no test was collected")
    module = sys.modules.get(req["module"]) or __import__(req["module"], fromlist=["_"])
    fa = getattr(module, req["function"])
    fb = _candidate(module, req["candidate"], req["function"])
    refs = _references(fa)

    def use(f: object) -> None:
        for owner, name in refs:
            setattr(owner, name, f)

    metric = req["metric"]
    rng = random.Random(req["seed"])
    pairs = int(req["pairs"])
    sums = [[0.0, 0.0] for _ in range(pairs)]
    walls = [[0.0, 0.0] for _ in range(pairs)]
    first, second = [0.0, 0.0], [0.0, 0.0]
    calls = 0
    if req.get("workload"):
        units = [_generated(module, req["function"], req["workload"])]
    else:
        units = _tests(session)
    measured = 0
    for name, enter, leave in units:
        try:
            run = enter()
            for calls_so_far in (first, second):  # the first call checks: a failure is said
                for index, label in ((0, "baseline"), (1, "candidate")):
                    use((fa, fb)[index])
                    start = time.process_time_ns()
                    try:
                        run()
                    except pytest.skip.Exception:
                        raise
                    except Exception as exc:
                        raise RuntimeError(f"{name} failed on the {label}: {exc}") from exc
                    calls_so_far[index] += time.process_time_ns() - start
        except pytest.skip.Exception:  # skipped by the project itself: not part of the workload
            use(fa)
            leave()
            continue
        try:
            timed = metric in ("exec_time", "cpu_utilization")
            # k from the slower side: neither side's batches run long, whichever is first
            c = req["constants"]
            k = min(_calibrate(run, use, fa, c), _calibrate(run, use, fb, c)) if timed else 1
            calls += k
            for side in (fa, fb, fa, fb):
                use(side)
                _batch(run, k, metric, req["constants"])
            for p in range(pairs):
                order = [0, 1]
                rng.shuffle(order)
                for side in order:
                    use((fa, fb)[side])
                    value = _batch(run, k, metric, req["constants"])
                    value /= k if metric == "exec_time" else 1
                    if metric == "max_memory":  # the suite's peak: its largest test's
                        sums[p][side] = max(sums[p][side], value)
                    else:
                        sums[p][side] += value
                        walls[p][side] += LAST_WALL[0] / k
            measured += 1
        finally:
            use(fa)
            leave()
    if not measured:
        raise RuntimeError("every selected test was skipped: nothing to measure")
    if metric in ("cpu_utilization", "avg_memory"):  # the mean over the tests
        sums = [[a / measured, b / measured] for a, b in sums]
    if metric in ("max_memory", "avg_memory"):
        floor = req["constants"]["floor_bytes"]
        sums = [[max(floor, a), max(floor, b)] for a, b in sums]
    ratios = [a / b for a, b in sums if b > 0]
    unit = {"exec_time": "ns", "cpu_utilization": "ratio"}.get(metric, "B")
    return {
        "ratio": statistics.median(ratios),
        "baseline": statistics.median(a for a, _ in sums),
        "candidate": statistics.median(b for _, b in sums),
        "unit": unit,
        "k": calls,
        "tests": measured,
        "contract": 2,
        "wall_baseline": statistics.median(a for a, _ in walls),
        "wall_candidate": statistics.median(b for _, b in walls),
        "first": first,
        "second": second,
    }


Unit = tuple[str, Callable[[], Callable[[], None]], Callable[[], None]]  # name, set up, tear down


def _tests(session: Any) -> list[Unit]:
    """The selected tests, each set up before it is measured and torn down after."""
    state = session._setupstate
    items = list(session.items)
    units: list[Unit] = []
    for index, item in enumerate(items):
        nxt = items[index + 1] if index + 1 < len(items) else None

        def enter(item: Any = item) -> Callable[[], None]:
            state.setup(item)
            return _runner(item)

        def leave(nxt: Any = nxt) -> None:
            state.teardown_exact(nxt)

        units.append((item.nodeid, enter, leave))
    return units


def _generated(module: types.ModuleType, function: str, workload: dict[str, Any]) -> Unit:
    """The generated inputs (one per seed, at the workload's size) as one unit: each run calls
    the function the module holds now (the side switched in) on every input, on a fresh copy
    when the function changes its arguments (inside both sides' time: diluted, not inflated),
    drawing an iterator it returns."""

    def enter() -> Callable[[], None]:
        space: dict[str, Any] = {"__name__": "perforch_generator"}
        exec(compile(workload["generator"], "<generator>", "exec"), space)
        inputs = []
        for seed in workload["seeds"]:
            random.seed(seed)  # as py_workload.make_input: the random module seeded too
            args = space["generate_input"](workload["size"], random.Random(seed))
            inputs.append(tuple(args) if isinstance(args, (tuple, list)) else (args,))
        mutates = bool(workload.get("mutates"))

        from py_measuring import drawn  # shipped beside this plugin

        def run() -> None:
            f = getattr(module, function)
            for args in inputs:
                drawn(f(*(copy.deepcopy(args) if mutates else args)))

        return run

    return ("the generated workload", enter, lambda: None)


def _runner(item: Any) -> Callable[[], None]:
    """How to run ``item`` again and again. A doctest's runner clears its globals after each
    run, and they are a copy of its module's taken at collection: refill them from the module
    before every run, so that the function switched there is the one the examples call.
    pytest-benchmark's fixture may be called once per setup: it is made callable again before
    every run (with --benchmark-disable it calls the function once)."""
    dtest = getattr(item, "dtest", None)
    if dtest is None:
        bench = getattr(item, "funcargs", {}).get("benchmark")
        if bench is None or not hasattr(bench, "_mode"):
            return item.runtest  # type: ignore[no-any-return]

        def again() -> None:
            bench._mode = None
            item.runtest()

        return again
    first = dict(dtest.globs)
    module = sys.modules.get(str(first.get("__name__")))

    def run() -> None:
        dtest.globs.clear()
        dtest.globs.update(first)
        if module is not None:
            dtest.globs.update(vars(module))
        item.runtest()

    return run


def _calibrate(
    run: Callable[[], None], use: Callable[[object], None], fa: object, c: dict[str, int]
) -> int:
    """Calls per batch: doubling until a batch costs ≥ ¼ of the target, then scaled to it."""
    use(fa)
    target, max_k = c["target_batch_ns"], c["max_k"]
    k = 1
    while True:
        start = time.process_time_ns()
        for _ in range(k):
            run()
        spent = time.process_time_ns() - start
        if spent >= target / 4 or k >= max_k:
            break
        k *= 2
    if spent < target:
        k = int(k * target / max(spent, 1)) + 1
    return k


LAST_WALL = [0.0]  # the wall time of the last timed batch, ns


def _sampled_mean(run: Callable[[], None], min_ns: int) -> float:
    """tracemalloc's mean level above the start while ``run`` repeats (``py_measuring.py``,
    shipped beside this plugin)."""
    from py_measuring import sampled_mean

    tracemalloc.start()
    try:
        return float(sampled_mean(run, min_ns))
    finally:
        tracemalloc.stop()


def _batch(run: Callable[[], None], k: int, metric: str, c: dict[str, int]) -> float:
    if metric == "avg_memory":
        return _sampled_mean(run, c["sampled_min_ns"])
    if metric == "max_memory":
        tracemalloc.start()
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return float(peak - start)
    wall0, cpu0 = time.perf_counter_ns(), time.process_time_ns()
    for _ in range(k):
        run()
    cpu, wall = time.process_time_ns() - cpu0, time.perf_counter_ns() - wall0
    LAST_WALL[0] = float(wall)
    if metric == "cpu_utilization":
        return cpu / wall if wall > 0 else 1.0
    return float(cpu)
