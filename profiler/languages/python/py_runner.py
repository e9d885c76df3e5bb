"""Python harness runner: executed by the profiler inside the sandbox, standard library only.

Usage: ``python -I py_runner.py REQUEST.json RESULT.json`` in a scratch directory that holds the
candidate module(s). Modes:

- ``test``: import the candidate, run its tests (doctest / test functions / HumanEval ``check``)
  and write the outcome.
- ``inputs``: run the tests on the original, reading the arguments of each call of the
  function (``py_inputs.py``): differential testing's other inputs.
- ``compare``: import baseline (A) and candidate (B) side by side in this one process, turn the
  tests (or, when the request carries a ``workload``, the generated inputs) into a workload,
  calibrate K calls per batch (doubling until a batch costs ≥ 2 ms CPU), warm up, then run
  ``pairs`` A/B batch pairs in random order and write one ratio A/B per pair.
  The metric decides what a batch measures:

  * ``exec_time``: the process's CPU time (every thread's) over K workload calls, the wall
    time beside it; the process runs on one CPU (``py_measuring.pin_to_one_cpu``);
  * ``cpu_utilization``: CPU time / wall time over the batch;
  * ``max_memory``: tracemalloc peak above the starting level during one workload call;
  * ``avg_memory``: mean tracemalloc level, sampled every 1 ms by a thread, above the starting
    level, over repeated workload calls lasting ≥ 50 ms.

  Memory values under the contract's floor (16 KiB) are floored: such differences are noise.
  The constants (batch target, floor, hold time, …) come in the request, from the measuring
  contract (``profiler/harness/contract.py``).
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import json
import linecache
import os
import random
import statistics
import sys
import time
import traceback
import tracemalloc
import types
from collections.abc import Callable

# The measuring contract's constants (profiler/harness/contract.py), from the request.
CONSTANTS: dict[str, int] = {}


def load_module(name: str, path: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _tb(exc: BaseException, limit: int = 3000) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    tb = traceback.extract_tb(exc.__traceback__)
    where = [f"  line {f.lineno} in {f.name}: {f.line}" for f in tb if f.filename != __file__]
    return ("\n".join([*where[-4:], text]))[:limit]


class Suite:
    """The tests of one candidate module, runnable for checking and as a workload."""

    def __init__(
        self,
        tests: dict[str, str],
        module: types.ModuleType,
        module_name: str,
        entry_point: str,
        tag: str,
    ) -> None:
        self.kind = tests["kind"]
        self.source = tests["source"]
        self.module = module
        self.module_name = module_name
        self.entry_point = entry_point
        self.tag = tag

    # -- checking -------------------------------------------------------------------------
    def run(self) -> tuple[int, list[dict[str, str]]]:
        if self.kind == "doctest":
            return self._run_doctest()
        if self.kind == "functions":
            return self._run_functions()
        if self.kind == "check":
            return self._run_check()
        raise ValueError(f"unknown test kind {self.kind}")

    def _run_doctest(self) -> tuple[int, list[dict[str, str]]]:
        import doctest  # 20 ms of imports (pdb, unittest): only when the tests are doctests

        failures: list[dict[str, str]] = []

        class Runner(doctest.DocTestRunner):
            def report_failure(self, out, test, example, got):  # type: ignore[no-untyped-def]
                failures.append(
                    {
                        "name": example.source.strip(),
                        "message": f"expected {example.want.strip()!r}, got {got.strip()!r}",
                    }
                )

            def report_unexpected_exception(self, out, test, example, exc_info):  # type: ignore[no-untyped-def]
                failures.append({"name": example.source.strip(), "message": _tb(exc_info[1])})

        globs = dict(vars(self.module))
        test = doctest.DocTestParser().get_doctest(self.source, globs, "examples", None, 0)
        runner = Runner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
        runner.run(test, out=lambda _s: None)
        return len(test.examples), failures

    def _test_module(self) -> types.ModuleType:
        sys.modules[self.module_name] = self.module
        path = os.path.abspath(f"_tests_{self.tag}.py")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.source)
        return load_module(f"_tests_{self.tag}", path)

    def _test_functions(self) -> list[tuple[str, Callable[[], object]]]:
        mod = self._test_module()
        return [(n, f) for n, f in vars(mod).items() if n.startswith("test") and callable(f)]

    def _run_functions(self) -> tuple[int, list[dict[str, str]]]:
        failures = []
        tests = self._test_functions()
        for name, fn in tests:
            try:
                fn()
            except Exception as exc:
                failures.append({"name": name, "message": _tb(exc)})
        return len(tests), failures

    def _check_fn(self) -> Callable[[], object]:
        globs = dict(vars(self.module))
        name = f"<tests {self.tag}>"
        # Registered so that tracebacks quote the failing assert's line.
        linecache.cache[name] = (len(self.source), None, self.source.splitlines(True), name)
        # HumanEval's test text ends with a top-level `check(entry_point)`: dropped, so that
        # loading the tests never runs them (once per process would skew memory and counts).
        tree = ast.parse(self.source, name)
        tree.body = [
            node
            for node in tree.body
            if not (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "check"
            )
        ]
        exec(compile(tree, name, "exec"), globs)
        check = globs["check"]
        fn = getattr(self.module, self.entry_point)
        return lambda: check(fn)

    def _run_check(self) -> tuple[int, list[dict[str, str]]]:
        try:
            self._check_fn()()
        except Exception as exc:
            return 1, [{"name": "check", "message": _tb(exc)}]
        return 1, []

    # -- workload -------------------------------------------------------------------------
    def workload(self) -> Callable[[], None]:
        """One call runs every test once, with no checking overhead beyond the tests' own."""
        if self.kind == "doctest":
            import doctest

            examples = doctest.DocTestParser().get_examples(self.source)
            codes = [compile(ex.source, "<example>", "exec") for ex in examples]
            base = dict(vars(self.module))

            def run_examples() -> None:
                globs = dict(base)
                for code in codes:
                    exec(code, globs)

            return run_examples
        if self.kind == "functions":
            fns = [f for _, f in self._test_functions()]

            def run_functions() -> None:
                for f in fns:
                    f()

            return run_functions
        check = self._check_fn()

        def run_check() -> None:
            check()

        return run_check


# -- mode: test ---------------------------------------------------------------------------
def mode_test(req: dict) -> dict:  # type: ignore[type-arg]
    started = time.perf_counter()
    try:
        module = load_module(req["module"], req["paths"][0])
    except BaseException as exc:
        return {
            "passed": False,
            "total": 0,
            "failures": [],
            "error": f"the code failed to load:\n{_tb(exc)}",
            "duration_s": time.perf_counter() - started,
        }
    suite = Suite(req["tests"], module, req["module"], req["entry_point"], "t")
    try:
        total, failures = suite.run()
    except BaseException as exc:
        return {
            "passed": False,
            "total": 0,
            "failures": [],
            "error": f"the tests could not run:\n{_tb(exc)}",
            "duration_s": time.perf_counter() - started,
        }
    return {
        "passed": total > 0 and not failures,
        "total": total,
        "failures": failures,
        "error": None if total else "no test was executed",
        "duration_s": time.perf_counter() - started,
    }


# -- mode: compare ------------------------------------------------------------------------
def _cpu_ns() -> int:
    # The whole process's CPU time: work a candidate hands to other threads (a thread pool)
    # counts. Measuring runs have no RLIMIT_CPU, under which this kernel would serve this clock
    # at 4 ms tick resolution (mode_compare refuses to time under it).
    return time.process_time_ns()


def _refuse_tick_granular_clock() -> None:
    import resource

    if resource.getrlimit(resource.RLIMIT_CPU)[0] != resource.RLIM_INFINITY:
        raise RuntimeError("RLIMIT_CPU is set: the process CPU clock would tick at 4 ms")


LAST_WALL = [0.0]  # the wall time of the last timed batch, ns


def measure_exec_time(work: Callable[[], None], k: int) -> float:
    w0, t0 = time.perf_counter_ns(), _cpu_ns()
    for _ in range(k):
        work()
    spent = float(_cpu_ns() - t0)
    LAST_WALL[0] = float(time.perf_counter_ns() - w0)
    return spent


def measure_cpu_utilization(work: Callable[[], None], k: int) -> float:
    w0, c0 = time.perf_counter_ns(), _cpu_ns()
    for _ in range(k):
        work()
    wall = time.perf_counter_ns() - w0
    return (_cpu_ns() - c0) / wall if wall > 0 else 1.0


def measure_max_memory(work: Callable[[], None], k: int) -> float:
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    work()
    return max(CONSTANTS["floor_bytes"], float(tracemalloc.get_traced_memory()[1] - base))


def measure_avg_memory(work: Callable[[], None], k: int) -> float:
    from py_measuring import sampled_mean  # shipped beside this script (the work dir)

    def batch() -> None:
        for _ in range(k):
            work()

    floor = CONSTANTS["floor_bytes"]
    return float(max(floor, sampled_mean(batch, CONSTANTS["sampled_min_ns"])))


MEASURES = {
    "exec_time": (measure_exec_time, "ns"),
    "cpu_utilization": (measure_cpu_utilization, "ratio"),
    "max_memory": (measure_max_memory, "B"),
    "avg_memory": (measure_avg_memory, "B"),
}


def calibrate(work: Callable[[], None]) -> int:
    """K calls per batch: doubled until a batch costs the target (at most the contract's K)."""
    k = 1
    while k < CONSTANTS["max_k"]:
        if measure_exec_time(work, k) >= CONSTANTS["target_batch_ns"]:
            break
        k *= 2
    return k


def generated_workload(
    fn: Callable[..., object],
    workload: dict,  # type: ignore[type-arg]
) -> Callable[[], None]:
    """One call of ``fn`` per seed on the generated inputs (``generate_input(size, rng)``),
    built once; a function that changes its arguments gets a fresh copy each call (the copy
    is inside the measured time on both sides: a gain reads smaller, never larger); an
    iterator it returns is drawn (``py_measuring.drawn``)."""
    import copy

    space: dict[str, object] = {"__name__": "perforch_generator"}
    exec(compile(workload["generator"], "<generator>", "exec"), space)
    generate = space["generate_input"]
    inputs = []
    for seed in workload["seeds"]:
        random.seed(seed)  # as py_workload.make_input: the random module seeded too
        args = generate(workload["size"], random.Random(seed))  # type: ignore[operator]
        inputs.append(tuple(args) if isinstance(args, (tuple, list)) else (args,))
    from py_measuring import drawn  # shipped beside this script

    if workload.get("mutates"):

        def run_copies() -> None:
            for args in inputs:
                drawn(fn(*copy.deepcopy(args)))

        return run_copies

    def run_inputs() -> None:
        for args in inputs:
            drawn(fn(*args))

    return run_inputs


def _workload(req: dict, tag: str, path: str) -> Callable[[], None]:  # type: ignore[type-arg]
    """One side's workload: its tests, or the generated inputs when the request has them."""
    module = load_module(f"{req['module']}_{tag}", path)
    if req.get("workload"):
        return generated_workload(getattr(module, req["entry_point"]), req["workload"])
    return Suite(req["tests"], module, req["module"], req["entry_point"], tag).workload()


def _workloads(req: dict) -> list[Callable[[], None]]:  # type: ignore[type-arg]
    """Each side's workload (A, then B)."""
    return [_workload(req, tag, path) for tag, path in zip("AB", req["paths"], strict=True)]


def mode_hold(req: dict) -> dict:  # type: ignore[type-arg]
    """Side 0/1's tests (2: none, the empty harness, same imports) repeated for >= 60 ms of CPU
    time, while the memory launcher samples this process."""
    works = _workloads(req)
    side = req["side"]
    start, wall = _cpu_ns(), time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):
        cpu_ns, wall_s = CONSTANTS["hold_cpu_ns"], CONSTANTS["hold_wall_ns"] / 1e9
        while _cpu_ns() - start < cpu_ns and time.monotonic() - wall < wall_s:
            if side < 2:
                works[side]()
    return {"held": side}


def mode_count(req: dict) -> dict:  # type: ignore[type-arg]
    """Side 0/1's tests run ``n`` times (side 2: not at all), for valgrind's counts."""
    works = _workloads(req)
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(req["n"] if req["side"] < 2 else 0):
            works[req["side"]]()
    return {"counted": req["side"]}


def mode_compare(req: dict) -> dict:  # type: ignore[type-arg]
    metric = req["metric"]
    measure, unit = MEASURES[metric]
    rng = random.Random(req.get("seed", 0))
    work_a, work_b = _workloads(req)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        # The first and second runs of each side, before anything else: a candidate that keeps
        # results between calls is much cheaper the second time than the baseline is.
        first = [measure_exec_time(work_a, 1), measure_exec_time(work_b, 1)]
        second = [measure_exec_time(work_a, 1), measure_exec_time(work_b, 1)]
        # Calls per batch from the cheaper side: a candidate far slower than the baseline on
        # the workload must not turn the baseline's batch into minutes.
        k = min(calibrate(work_a), calibrate(work_b))
        for _ in range(req.get("warmup_batches", 2)):
            measure_exec_time(work_a, k)
            measure_exec_time(work_b, k)
        if metric in ("max_memory", "avg_memory"):
            tracemalloc.start()
        values_a: list[float] = []
        values_b: list[float] = []
        walls: tuple[list[float], list[float]] = ([], [])
        ratios: list[float] = []
        for _ in range(req["pairs"]):
            order = [0, 1]
            rng.shuffle(order)
            got = [0.0, 0.0]
            for idx in order:
                LAST_WALL[0] = 0.0
                got[idx] = measure((work_a, work_b)[idx], k)
                walls[idx].append(LAST_WALL[0] / k)
                sink.seek(0)
                sink.truncate()
            values_a.append(got[0])
            values_b.append(got[1])
            ratios.append(got[0] / got[1] if got[1] > 0 else float("inf"))
    per_call = 1.0 if metric in ("max_memory", "cpu_utilization") else float(k)
    return {
        "k": k,
        "unit": unit,
        "ratio": statistics.median(ratios),
        "baseline": statistics.median(values_a) / (per_call if metric != "avg_memory" else 1),
        "candidate": statistics.median(values_b) / (per_call if metric != "avg_memory" else 1),
        "ratios": ratios,
        "wall_baseline": statistics.median(walls[0]),
        "wall_candidate": statistics.median(walls[1]),
        "first": first,
        "second": second,
    }


HOT_LINES = 5
HOT_MIN_NS = 50_000_000  # the traced workload repeats for at least this long (wall)


def mode_hotspots(req: dict) -> dict:  # type: ignore[type-arg]
    """Where the function's own time goes, per line: the workload runs under ``sys.settrace``
    (repeated for >= 50 ms, at most 200 times), and each line event of the function's frames
    is charged the time until the frame's next event, callees included. Tracing slows the
    code many times over, so only shares and executions are reported, never durations."""
    import collections
    import linecache

    path = req["paths"][0]
    work = _workload(req, "A", path)
    entry = req["entry_point"]
    spent: collections.Counter[int] = collections.Counter()
    hits: collections.Counter[int] = collections.Counter()
    last: dict[int, tuple[int, int]] = {}  # frame id → (line, when)
    clock = time.perf_counter_ns
    header = [0]  # the function's ``def`` line

    def local(frame, event, arg):  # type: ignore[no-untyped-def]
        now = clock()
        key = id(frame)
        if key in last:
            line, when = last[key]
            spent[line] += now - when
        if event == "line":
            hits[frame.f_lineno] += 1
            last[key] = (frame.f_lineno, clock())
        elif event == "return":
            last.pop(key, None)
        return local

    def calls(frame, event, arg):  # type: ignore[no-untyped-def]
        code = frame.f_code
        if event == "call" and code.co_name == entry and code.co_filename == path:
            header[0] = code.co_firstlineno
            return local
        return None

    runs = 0
    started = time.monotonic_ns()
    with contextlib.redirect_stdout(io.StringIO()):
        sys.settrace(calls)
        try:
            while runs < 200 and (runs == 0 or time.monotonic_ns() - started < HOT_MIN_NS):
                work()
                runs += 1
        finally:
            sys.settrace(None)
    total = sum(spent.values()) or 1
    lines = [
        {
            "line": n,
            "offset": n - header[0],  # 1: the line after ``def``
            "code": linecache.getline(path, n).strip(),
            "share": t / total,
            "hits": hits[n] // max(runs, 1),
        }
        for n, t in spent.most_common(HOT_LINES)
    ]
    return {"lines": lines, "runs": runs}


def mode_inputs(req: dict) -> dict:  # type: ignore[type-arg]
    """The arguments the tests call the function with, as Python literals, read at each call
    before its body runs (so before it could change them; ``py_inputs.Recorder``)."""
    from py_inputs import Recorder  # shipped beside this script

    path = req["paths"][0]
    module = load_module(req["module"], path)
    suite = Suite(req["tests"], module, req["module"], req["entry_point"], "i")
    recorder = Recorder(req["entry_point"], path)
    with contextlib.redirect_stdout(io.StringIO()):
        recorder.start()
        try:
            total, failures = suite.run()
        finally:
            recorder.stop()
    return {**recorder.result(), "passed": total > 0 and not failures}


def main() -> None:
    req_path, result_path = sys.argv[1], sys.argv[2]
    with open(req_path, encoding="utf-8") as fh:
        req = json.load(fh)
    sys.path.insert(0, os.getcwd())
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    try:
        CONSTANTS.update(req.get("constants", {}))
        if req["mode"] not in ("test", "hotspots", "inputs") and CONSTANTS.get("contract") != 2:
            raise RuntimeError(f"this runner speaks contract 2, asked {CONSTANTS.get('contract')}")
        modes = {
            "test": mode_test,
            "compare": mode_compare,
            "hold": mode_hold,
            "count": mode_count,
            "hotspots": mode_hotspots,
            "inputs": mode_inputs,
        }
        if req["mode"] == "compare" and req.get("metric") not in ("max_memory", "avg_memory"):
            _refuse_tick_granular_clock()
        if req["mode"] == "compare" and req.get("metric") != "cpu_utilization":
            from py_measuring import pin_to_one_cpu  # shipped beside this script

            pin_to_one_cpu()  # first: every thread the candidate starts inherits it
        result = modes[req["mode"]](req)
    except BaseException as exc:
        result = {"harness_error": _tb(exc)}
    with open(result_path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(result_path + ".tmp", result_path)
    sys.stdout.flush()
    os._exit(0)  # candidates may leave non-daemon threads behind


if __name__ == "__main__":
    main()
