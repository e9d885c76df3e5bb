"""Generated workloads and differential testing for Python: run by the profiler inside the
sandbox, standard library only.

Usage: ``python -I py_workload.py REQUEST.json RESULT.json`` in a scratch directory holding
the module(s) and the input generator (for a project's module: without ``-I``, the project's
copy on ``PYTHONPATH``, the module imported by name: ``import`` in the request). The
generator is a module defining ``generate_input(size: int, rng: random.Random) -> tuple``
(the function's arguments), as ENAMEL's experts wrote theirs. Modes:

- ``probe``: validate the generator on the original (``module_a``) and scale it. For each seed,
  it must return the same arguments twice (deterministic for a seed), and the original must not
  raise on them. Then the size doubles from ``start_size`` until one call of the original costs
  ``target_ns`` of CPU (median over the seeds), ``max_size`` is reached or ``budget_ns`` is
  spent. Inputs that do not grow with the size (a date string) leave a call's cost flat: the
  original is then measured on many different inputs (``inputs``: how many seeds, enough to
  cost what the seeds asked would at the target; at most ``MAX_INPUTS``). Inputs that grow
  while the cost stays flat (an early exit) are refused. A call that overruns ``CALL_CAP`` ×
  the target (at least ``CALL_CAP_MIN_NS``) of wall time is stopped (a timer; a compiled
  program in the call is killed, and started again for the next) and the sizes between the
  last that ran and it are bisected: an exponential-time original (a naive recursive ``fib``)
  finds its size instead of running past the probe's timeout. Writes every size tried with its
  time, the size chosen, and whether the original changes its arguments (then every measured
  call gets its own copy).
- ``diff``: call the original (A) and the candidate (B) on the same generated inputs (each on
  its own deep copy) for every size and seed asked, and compare what a caller can see: the
  return value, the arguments afterwards (mutation), and the type of the exception raised. On a
  mismatch, shrink: the smallest size (then seed) that still differs is reported, with the
  input and both outcomes.
- ``scale``: the cost of one call of A and of B at each size asked (complexity evidence): per
  size and seed, A and B alternately, ``repeats`` times each, the median over all of them.
  Time: CPU time of one call (calls shorter than 0.2 ms repeated in a loop, each on its own
  copy of the input). Memory: tracemalloc's peak during one call above its start. Says when
  the generator gave each seed the same inputs at every size (it ignores its size).
- ``emit``: the inputs at ``size`` for every seed, encoded (:func:`encode`) for a compiled
  measuring program, which reads them into its parameters' types before it times anything.

A function that returns an iterator (a generator, ``map``, ``itertools.chain``…) does its work
as a caller draws it: every call here draws it (up to ``LAZY_ITEMS`` items), and differential
testing compares the items drawn (:class:`Iterated`), never two iterator objects.

A compiled language's function (``server`` in the request: the command of its measuring
program's ``serve``) is called through :class:`Remote`: each call's arguments go to the program
encoded, and it answers with what the function returned or raised, its arguments afterwards as
JSON, and the call's CPU time and allocation peak, measured inside the program.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import inspect
import json
import math
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
import types
from collections.abc import Callable
from typing import Any

REPR_LIMIT = 600  # characters of an input or outcome shown to the user


def load_module(name: str, path: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def encode(value: object, out: list[str]) -> None:
    """``value`` in the compiled programs' token form (workload_io.hpp and its kin): ``i 42``,
    ``f 0.5``, ``b 1``, ``s 5:hello`` (UTF-8 bytes), ``n``, ``l N …``, ``d N k v …``."""
    if isinstance(value, bool):
        out.append(f"b {int(value)}")
    elif isinstance(value, int):
        out.append(f"i {value}")
    elif isinstance(value, float):
        out.append(f"f {value!r}")
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        out.append(f"s {len(data)}:" + data.decode("latin-1"))
    elif value is None:
        out.append("n")
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        out.append(f"l {len(items)}")
        for item in items:
            encode(item, out)
    elif isinstance(value, dict):
        out.append(f"d {len(value)}")
        for k, v in value.items():
            encode(k, out)
            encode(v, out)
    else:
        raise GeneratorError(
            f"generate_input returned a {type(value).__name__}, which a compiled function's "
            "parameters cannot take (use int, float, bool, str, list, tuple, dict, set)"
        )


def encoded(value: object) -> bytes:
    out: list[str] = []
    encode(value, out)
    return " ".join(out).encode("latin-1")


MAX_NOISE_LINES = 10_000  # printed by the function or its runtime before a reply


def protocol_line(stdout: Any, line: bytes) -> tuple[bytes, list[str]]:
    """The first line from ``line`` on that starts a JSON object (b"" if none came), and the
    non-blank lines before it: not the program's protocol but what the function printed, a
    test harness's own lines, or a runtime's last words (the JVM's "# There is insufficient
    memory…"). At most ``MAX_NOISE_LINES`` are read past."""
    said: list[str] = []
    for _ in range(MAX_NOISE_LINES):
        if not line or line.startswith(b"{"):
            return line, said
        text = line.decode("utf-8", "replace").strip(" #\r\n")
        if text:
            said.append(text)
        line = stdout.readline()
    return (line if line.startswith(b"{") else b""), said


class Remote:
    """A compiled function, called in its measuring program through ``serve`` (one program for
    both sides; restarted after a call that crashed it)."""

    def __init__(self, command: list[str], side: int, shared: dict[str, Any]) -> None:
        self.command, self.side, self.shared = command, side, shared

    def _process(self) -> subprocess.Popen[bytes]:
        proc = self.shared.get("proc")
        if proc is None or proc.poll() is not None:
            proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            assert proc.stdout is not None
            line, _ = protocol_line(proc.stdout, proc.stdout.readline())
            hello = json.loads(line or b"{}")
            self.shared.update(
                proc=proc,
                arity=int(hello.get("arity", -1)),
                mutates=hello.get("mutates"),
            )
        return proc

    @property
    def arity(self) -> int:
        self._process()
        return int(self.shared["arity"])

    def mutates(self, args: tuple[Any, ...]) -> bool:
        """Whether the function changes the caller's values: known from the signature where
        the language says it (C++: a non-const reference parameter), else seen on ``args``
        (the program compares its arguments before and after the call)."""
        self._process()
        known = self.shared["mutates"]
        return bool(known) if known is not None else bool(self.outcome(args).get("changed"))

    def outcome(self, args: tuple[Any, ...], timed: bool = False) -> dict[str, Any]:
        """One call on ``args``: returned, raised (a type name), args_after, ns, peak.
        ``timed``: its cost is what is wanted; a JIT's program warms the function up first."""
        proc = self._process()
        assert proc.stdin is not None and proc.stdout is not None
        payload = encoded(args)
        try:
            request = f"call {self.side} {len(payload)} {int(timed)}\n"
            proc.stdin.write(request.encode() + payload)
            proc.stdin.flush()
            line = proc.stdout.readline()
        except BrokenPipeError:
            line = b""
        except Overran:  # the probe's cap: the program is still in the call, stop it
            proc.kill()
            proc.wait()
            raise
        line, said = protocol_line(proc.stdout, line)
        if not line:
            if proc.poll() is None:
                proc.kill()
            code = proc.wait()
            why = f"signal {-code}" if code < 0 else f"exit code {code}"
            last = f": {said[0][:300]}" if said else ""
            return {
                "returned": None,
                "raised": f"a crash ({why}{last})",
                "args_after": args,
                "ns": 0,
            }
        reply: dict[str, Any] = json.loads(line)
        if "input_error" in reply:
            raise GeneratorError(str(reply["input_error"]))
        # The arguments afterwards as the program wrote them (lists for tuples, [k, v] pairs for
        # maps): compared between the two sides, which write them alike.
        return reply


def functions(request: dict[str, Any]) -> tuple[Callable[..., Any], Callable[..., Any] | None]:
    """The original (A) and, when asked, the candidate (B). Lone files are loaded from
    ``module_a``/``module_b``. A project's module (``import``: its dotted name, the project's
    copy on the path) is imported as the project's code imports it, and the candidate's module
    source is run as a twin of it (same name and package: its relative imports resolve), in a
    namespace of its own."""
    entry = request["entry"]
    if request.get("server"):
        shared: dict[str, Any] = {}
        fb = Remote(request["server"], 1, shared) if request.get("module_b") else None
        return Remote(request["server"], 0, shared), fb  # type: ignore[return-value]
    if not request.get("import"):
        fa = getattr(load_module("module_a", request["module_a"]), entry)
        b = request.get("module_b")
        return fa, getattr(load_module("module_b", b), entry) if b else None
    module = importlib.import_module(request["import"])
    fa = getattr(module, entry)
    if not request.get("module_b"):
        return fa, None
    twin = types.ModuleType(module.__name__)
    twin.__package__ = module.__package__
    twin.__file__ = getattr(module, "__file__", None)
    with open(request["module_b"], encoding="utf-8") as fh:
        code = compile(fh.read(), twin.__file__ or request["module_b"], "exec")
    exec(code, twin.__dict__)
    return fa, getattr(twin, entry)


LAZY_ITEMS = 10_000_000  # items of a returned iterator drawn (an endless one stops there)


class Iterated:
    """What a caller drew from an iterator the function returned (a generator, ``map``,
    ``itertools.chain``…): a lazy function's work happens as it is drawn, and two iterator
    objects never compare equal, so the items are what is timed and compared. An iterator
    and a list with the same items differ (a caller's ``next()`` would see it)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Iterated) and same(self.items, other.items)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"iterator over {self.items!r}"


def lazy(value: object) -> bool:
    """An iterator (it is its own iterator): not a list, str, dict or other container."""
    try:
        return hasattr(value, "__next__") and iter(value) is value  # type: ignore[call-overload]
    except Exception:
        return False


def drawn(value: object, keep: bool = False) -> Any:
    """``value``, or when it is an iterator the function returned, it drawn: its items as
    ``Iterated`` when ``keep`` (to compare), else drawn and dropped (to time or weigh the work,
    not a list of its items)."""
    import itertools

    if not lazy(value):
        return value
    items = itertools.islice(value, LAZY_ITEMS)  # type: ignore[call-overload]
    if keep:
        return Iterated(list(items))
    for _ in items:
        pass
    return None


def short(value: object) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a repr that raises says so instead
        text = f"<unrepresentable {type(value).__name__}: {exc!r}>"
    return text if len(text) <= REPR_LIMIT else text[: REPR_LIMIT - 1] + "…"


class GeneratorError(Exception):
    """The generator (not the function) is at fault: it raised, or is not deterministic."""


def make_input(generate: Callable[..., Any], size: int, seed: int) -> tuple[Any, ...]:
    # The random module is seeded too: a generator drawing from it instead of ``rng`` (as
    # models often write, and ENAMEL's own generators do) is deterministic for a seed as well.
    # The runners that build the measured inputs (py_runner, pytest_bench) seed it the same way.
    random.seed(seed)
    try:
        args = generate(size, random.Random(seed))
    except Exception as exc:
        raise GeneratorError(f"generate_input({size}, seed {seed}) raised {exc!r}") from exc
    if not isinstance(args, (tuple, list)):
        args = (args,)  # a single argument returned bare
    return tuple(args)


def same(a: object, b: object) -> bool:
    """Equal as a caller would check: same type (int vs float differs, bool vs int differs),
    floats within 1e-9 relative (NaN equal to NaN), containers element by element."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Iterated):
        assert isinstance(b, Iterated)
        return same(a.items, b.items)
    if isinstance(a, float):
        assert isinstance(b, float)
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple))
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:
        return repr(a) == repr(b)


def outcome(fn: Callable[..., Any], args: tuple[Any, ...]) -> dict[str, Any]:
    """Call ``fn`` on its own copy of ``args``: what it returned or raised, and the arguments
    afterwards."""
    if isinstance(fn, Remote):
        return fn.outcome(args)
    mine = copy.deepcopy(args)
    try:
        return {"returned": drawn(fn(*mine), keep=True), "raised": None, "args_after": mine}
    except Exception as exc:
        return {"returned": None, "raised": type(exc).__name__, "args_after": mine}


def difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """What a caller would see differ between two outcomes (None: nothing)."""
    if a["raised"] != b["raised"]:
        return (
            f"the original {'raised ' + a['raised'] if a['raised'] else 'returned'}, "
            f"the candidate {'raised ' + b['raised'] if b['raised'] else 'returned'}"
        )
    if a["raised"] is None and not same(a["returned"], b["returned"]):
        return "the return values differ"
    if not same(a["args_after"], b["args_after"]):
        return "the arguments differ afterwards (one of them mutates its input)"
    return None


class Overran(BaseException):
    """A probed call ran past its time cap (a BaseException: the function's own ``except
    Exception`` must not swallow it)."""


@contextlib.contextmanager
def time_cap(cap_ns: int) -> Any:
    """Raise :class:`Overran` in this (main) thread once ``cap_ns`` of wall time have passed.
    Not a CPU timer (``ITIMER_PROF``, ``ITIMER_VIRTUAL``): once one is armed, Linux reads the
    process's CPU clock at tick granularity (a 0.2 ms call read as 0 ns here), and the probe
    times calls by it. A wall-clock timer armed before (a test runner's timeout, when this
    runs in-process) is armed again afterwards with what was left of it."""

    live = [True]  # once the call is over, the (one-shot) timer firing is ignored

    def overrun(signum: int, frame: object) -> None:
        if live[0]:
            raise Overran

    before = signal.signal(signal.SIGALRM, overrun)
    started = time.monotonic()
    left, interval = signal.setitimer(signal.ITIMER_REAL, cap_ns / 1e9)
    try:
        try:
            yield
        finally:
            live[0] = False  # the timer firing just before this line raises here, not below
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
        if left > 0:
            signal.setitimer(
                signal.ITIMER_REAL, max(left - (time.monotonic() - started), 1e-3), interval
            )


def cpu_ns_of_call(fn: Callable[..., Any], args: tuple[Any, ...]) -> int:
    if isinstance(fn, Remote):
        return int(remote_cost(fn, args, "ns"))
    mine = copy.deepcopy(args)
    t0 = time.process_time_ns()
    drawn(fn(*mine))
    return time.process_time_ns() - t0


def remote_cost(fn: Remote, args: tuple[Any, ...], field: str) -> float:
    """A compiled call's CPU time ("ns") or allocation peak ("peak"); its exception raised."""
    got = fn.outcome(args, timed=True)
    if got["raised"] is not None:
        raise RuntimeError(f"it raised {got['raised']}")
    return float(got[field])


def one_argument(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` takes exactly one argument (a generator returning its items as the
    arguments' tuple means that one argument)."""
    if isinstance(fn, Remote):
        return fn.arity == 1
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 1 and not any(p.kind is p.VAR_POSITIONAL for p in params)


def probe(request: dict[str, Any]) -> dict[str, Any]:
    gen = load_module("perforch_generator", request["generator"]).generate_input
    fn, _ = functions(request)
    if one_argument(fn):
        try:
            raw = gen(int(request.get("start_size", 8)), random.Random(request["seeds"][0]))
        except Exception:
            raw = None  # said by the probe below, with the size and seed
        if isinstance(raw, (tuple, list)) and len(raw) != 1:
            # Not one value for one parameter: the items of the one argument, returned as if
            # they were the arguments; else the argument and more (a model that adds the
            # expected result), when the original runs on the first value alone.
            whole = probe_with(request, fn, lambda size, rng: (gen(size, rng),), "wrapped")
            if whole["ok"] or not whole.get("raised") or len(raw) < 2:
                return whole
            first = probe_with(request, fn, lambda size, rng: (gen(size, rng)[0],), "first_only")
            return first if first["ok"] or not first.get("raised") else whole
    return probe_with(request, fn, gen, "")


def probe_with(
    request: dict[str, Any], fn: Callable[..., Any], gen: Callable[..., Any], reading: str
) -> dict[str, Any]:
    """Scale ``gen`` until one call of ``fn`` costs the target; ``reading``: how the
    generator's values were taken for a one-parameter function ("wrapped", "first_only")."""
    wrapped = reading == "wrapped"
    seeds: list[int] = request["seeds"]
    target_ns, max_size, budget_ns = (
        int(request["target_ns"]),
        int(request["max_size"]),
        int(request["budget_ns"]),
    )
    size = int(request.get("start_size", 8))
    cap_ns = max(CALL_CAP * target_ns, CALL_CAP_MIN_NS)
    ceiling: int | None = None  # the smallest size a call overran at
    tried: list[dict[str, Any]] = []
    started = time.process_time_ns()
    while True:
        times = []
        for seed in seeds:
            args = make_input(gen, size, seed)
            if short(make_input(gen, size, seed)) != short(args):
                raise GeneratorError(f"generate_input({size}, seed {seed}) is not deterministic")
            try:
                with time_cap(cap_ns):
                    times.append(cpu_ns_of_call(fn, args))
            except Overran:
                ceiling = size
                break
            except Exception as exc:
                # A tuple of several values for a one-parameter function was taken for the
                # parameter's items; it may have been the argument and something more.
                also = (
                    f"; generate_input returned {len(args[0])} values and the function takes "
                    "one argument: return a 1-tuple holding that argument, nothing else (no "
                    "expected result)"
                    if wrapped
                    else ""
                )
                return {
                    "ok": False,
                    "error": f"the original raised {type(exc).__name__}: {exc} on "
                    f"generate_input({size}, seed {seed}) = {short(args)}{also}",
                    "tried": tried,
                    "raised": True,
                }
        if ceiling == size:
            if not tried:
                return {
                    "ok": False,
                    "error": f"one call of the original at size {size} (seed {seed}) ran past "
                    f"{cap_ns / 1e9:g} s and was stopped: the inputs must start smaller",
                    "tried": tried,
                }
        else:
            tried.append({"size": size, "ns": statistics.median(times)})
        spent = time.process_time_ns() - started
        if tried[-1]["ns"] >= target_ns or size >= max_size or spent >= budget_ns:
            break
        below = tried[-1]["size"]
        size = min(max_size, below * 2)
        if ceiling is not None and size >= ceiling:  # between the last that ran and the ceiling
            size = math.isqrt(below * ceiling)
            if size <= below:
                break
    inputs = None  # how many seeds' inputs to measure on (None: the seeds asked)
    chosen, ns = tried[-1]["size"], tried[-1]["ns"]  # the size measured at, one call's time
    flat = tried[-1]["ns"] < target_ns / FLAT and len(tried) > 1 and tried[-1]["size"] >= max_size
    if flat and not grows(gen, tried[0]["size"], tried[-1]["size"], seeds[0]):
        # The inputs stay as large at every size (a date string, a number in a fixed range):
        # nothing in them can grow, so the original is measured on many different ones, enough
        # that they cost what the seeds asked would at the target, at the smallest size (the
        # inputs are the same there; making them may not be: a generator that builds `size`
        # values and returns the first took ~1 s an input at 2^20, and ran the probe into its
        # timeout).
        chosen, ns = tried[0]["size"], tried[0]["ns"]
        if not isinstance(fn, Remote):  # a compiled call's time is read inside its program
            ns = per_input_ns(fn, gen, chosen)
        inputs = min(MAX_INPUTS, math.ceil(len(seeds) * target_ns / max(ns, 1.0)))
    elif flat:
        # The inputs grow but the original's cost does not (an early exit finds its answer at
        # once): measuring on them says nothing about the function's real work.
        return {
            "ok": False,
            "error": f"one call of the original still takes {tried[-1]['ns'] / 1e3:.1f} µs at "
            f"size {tried[-1]['size']} (from {tried[0]['ns'] / 1e3:.1f} µs at size "
            f"{tried[0]['size']}): the inputs do not make it work harder as they grow (an early "
            "exit?); generate inputs on which it must do its whole work",
            "tried": tried,
            "checkable": True,  # the original ran on all of them: they still check candidates
            "wrapped": wrapped,
            "first_only": reading == "first_only",
        }
    last = make_input(gen, chosen, seeds[0])  # not a size a call overran at
    if isinstance(fn, Remote):
        mutates = fn.mutates(last)
    else:
        mutates = (
            difference(outcome(fn, last), {**outcome(fn, last), "args_after": last}) is not None
        )
    return {
        "ok": True,
        "wrapped": wrapped,
        "first_only": reading == "first_only",
        "size": chosen,
        "ns": ns,
        "tried": tried,
        "mutates": mutates,
        "inputs": inputs,
    }


def per_input_ns(fn: Callable[..., Any], gen: Callable[..., Any], size: int) -> float:
    """One call's CPU time on fixed-size inputs as the measurement runs them: a loop over
    ``PER_INPUT_SAMPLE`` different inputs (each on its own copy), the median of three passes.
    Timed alone, a call of microseconds reads the clock's own cost too (``decimal_to_fraction``
    of TheAlgorithms/Python: 5.7 µs alone, 0.65 µs in the loop)."""
    inputs = [make_input(gen, size, seed) for seed in range(1, PER_INPUT_SAMPLE + 1)]
    passes = []
    for _ in range(3):
        copies = [copy.deepcopy(args) for args in inputs]
        t0 = time.process_time_ns()
        for args in copies:
            drawn(fn(*args))
        passes.append((time.process_time_ns() - t0) / len(copies))
    return statistics.median(passes)


def grows(gen: Callable[..., Any], small: int, large: int, seed: int) -> bool:
    """Whether the generator's inputs at size ``large`` are more than twice as long (written
    out) as at ``small``."""
    return len(repr(make_input(gen, large, seed))) > 2 * len(repr(make_input(gen, small, seed)))


def mismatch(
    fa: Callable[..., Any], fb: Callable[..., Any], args: tuple[Any, ...], size: int, seed: int
) -> dict[str, Any] | None:
    """How A and B differ on ``args`` (None: they agree), as shown to the user."""
    a, b = outcome(fa, args), outcome(fb, args)
    why = difference(a, b)
    if why is None:
        return None
    return {
        "size": size,
        "seed": seed,
        "why": why,
        "input": short(args),
        "original": short(a["returned"]) if a["raised"] is None else f"raised {a['raised']}",
        "candidate": short(b["returned"]) if b["raised"] is None else f"raised {b['raised']}",
    }


def shrink(
    gen: Callable[..., Any],
    fa: Callable[..., Any],
    fb: Callable[..., Any],
    size: int,
    seeds: list[int],
) -> dict[str, Any] | None:
    """The smallest size (then the first seed) at which A and B still differ."""
    sizes = sorted({s for s in (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64) if s < size} | {size})
    for n in sizes:
        for seed in seeds:
            try:
                args = make_input(gen, n, seed)
            except GeneratorError:
                continue  # the generator may not accept tiny sizes
            found = mismatch(fa, fb, args, n, seed)
            if found is not None:
                return found
    return None


def diff(request: dict[str, Any]) -> dict[str, Any]:
    gen = load_module("perforch_generator", request["generator"]).generate_input
    fa, fb = functions(request)
    assert fb is not None, "differential testing needs module_b"
    seeds: list[int] = request["seeds"]
    checked = 0
    refused: GeneratorError | None = None
    for size in request["sizes"]:
        for seed in seeds:
            try:
                args = make_input(gen, size, seed)
            except GeneratorError as exc:
                # The probe validated the generator from its start size up; a smaller size it
                # does not accept (randint(1, 0) at size 0) is skipped, not the candidate's fault.
                refused = exc
                continue
            found = mismatch(fa, fb, args, size, seed)
            if found is not None:
                smallest = shrink(gen, fa, fb, size, seeds) or found  # None: it varies
                return {"ok": False, "checked": checked + 1, "mismatch": smallest}
            checked += 1
    if checked == 0 and refused is not None:
        raise refused
    return {"ok": True, "checked": checked, **({"skipped": str(refused)} if refused else {})}


FLAT = 20  # at the largest size, a call under target ÷ FLAT: the inputs do not load it
MAX_INPUTS = 4096  # different inputs a workload of fixed-size inputs is measured on, at most
PER_INPUT_SAMPLE = 256  # inputs one call of such a workload is timed on, in a loop
CALL_CAP = 40  # a probed call past this many targets (wall time) is stopped …
CALL_CAP_MIN_NS = 1_000_000_000  # … and past 1 s at least
MIN_TIMED_NS = 200_000  # a call timed alone below this is repeated in a loop


def cost_of_call(fn: Callable[..., Any], args: tuple[Any, ...], memory: bool) -> float:
    """One call's CPU time (ns), or its tracemalloc peak above the start (bytes). A compiled
    call's own time, or the peak of what it allocated (``new``, Rust's allocator, …)."""
    if isinstance(fn, Remote):
        return remote_cost(fn, args, "peak" if memory else "ns")
    if memory:
        mine = copy.deepcopy(args)
        tracemalloc.start()
        try:
            start, _ = tracemalloc.get_traced_memory()
            drawn(fn(*mine))
            return float(tracemalloc.get_traced_memory()[1] - start)
        finally:
            tracemalloc.stop()
    once = cpu_ns_of_call(fn, args)
    if once >= MIN_TIMED_NS:
        return float(once)
    k = min(1000, MIN_TIMED_NS // max(once, 1) + 1)
    copies = [copy.deepcopy(args) for _ in range(k)]
    t0 = time.process_time_ns()
    for mine in copies:
        drawn(fn(*mine))
    return (time.process_time_ns() - t0) / k


def scale(request: dict[str, Any]) -> dict[str, Any]:
    gen = load_module("perforch_generator", request["generator"]).generate_input
    fa, fb = functions(request)
    assert fb is not None, "scaling needs module_b"
    memory = request["metric"] in ("max_memory", "avg_memory")
    points = []
    first: dict[int, tuple[Any, ...]] = {}  # per seed, its inputs at the first size
    ignored = len(request["sizes"]) > 1  # the same inputs at every size, seed by seed
    for size in request["sizes"]:
        costs: tuple[list[float], list[float]] = ([], [])
        for seed in request["seeds"]:
            args = make_input(gen, size, seed)
            if seed not in first:  # a copy: the original may change its arguments
                first[seed] = copy.deepcopy(args)
            ignored = ignored and same(first[seed], args)
            for _ in range(int(request["repeats"])):
                for side, fn in ((0, fa), (1, fb)):
                    try:
                        costs[side].append(cost_of_call(fn, args, memory))
                    except Exception as exc:
                        which = ("original", "candidate")[side]
                        raise RuntimeError(
                            f"the {which} raised {type(exc).__name__} at size {size}"
                        ) from exc
        points.append(
            {
                "size": size,
                "baseline": statistics.median(costs[0]),
                "candidate": statistics.median(costs[1]),
            }
        )
    unit = "B" if memory else "ns"
    return {"ok": True, "points": points, "unit": unit, "size_ignored": ignored}


def as_json(value: object) -> object:
    """``value`` as JSON has it, for a file the user keeps: tuples and sets become lists (a
    set's items in a fixed order), a dict's keys strings (Go's encoding/json reads integer
    keys from them)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [as_json(item) for item in items]
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    raise GeneratorError(
        f"generate_input returned a {type(value).__name__}, which a JSON file cannot hold"
    )


def emit(request: dict[str, Any]) -> dict[str, Any]:
    """The inputs at ``size`` for each seed, written to ``out``: in the measuring programs'
    token form, or (``format`` json) as ``[{"seed": s, "args": […]}, …]`` for a saved file."""
    gen = load_module("perforch_generator", request["generator"]).generate_input
    inputs = [make_input(gen, int(request["size"]), seed) for seed in request["seeds"]]
    if request.get("format") == "json":
        cases = [
            {"seed": seed, "args": [as_json(a) for a in args]}
            for seed, args in zip(request["seeds"], inputs, strict=True)
        ]
        try:
            text = json.dumps(cases, allow_nan=False, separators=(",", ":"))
        except ValueError as exc:  # NaN or infinity: not JSON
            raise GeneratorError(f"the inputs cannot be written as JSON: {exc}") from exc
        most = int(request.get("max_bytes", 1 << 62))
        if len(text) > most:
            return {"ok": False, "error": f"the inputs take {len(text) / 1e6:.1f} MB as JSON, "
                    f"over the {most / 1e6:.0f} MB a saved benchmark keeps"}  # fmt: skip
        with open(request["out"], "w", encoding="utf-8") as fh:
            fh.write(text)
        return {"ok": True, "inputs": len(inputs)}
    with open(request["out"], "wb") as fh:
        fh.write(encoded(inputs))
    return {"ok": True, "inputs": len(inputs)}


MODES = {"probe": probe, "diff": diff, "scale": scale, "emit": emit}


TIMING_MODES = ("probe", "scale")
MEMORY = ("max_memory", "avg_memory")


def clock_is_tick_granular() -> bool:
    """Under RLIMIT_CPU, Linux serves the process CPU clock from its armed CPU timer, updated
    at scheduler ticks (4 ms here): a call then reads 0 ns or 4 ms. Timing under it is refused."""
    return resource.getrlimit(resource.RLIMIT_CPU)[0] != resource.RLIM_INFINITY


def main(argv: list[str]) -> int:
    request_path, result_path = argv[1], argv[2]
    with open(request_path, encoding="utf-8") as fh:
        request = json.load(fh)
    sys.path.insert(0, ".")
    try:
        timing = request["mode"] in TIMING_MODES and request.get("metric") not in MEMORY
        if timing and clock_is_tick_granular():
            raise RuntimeError("RLIMIT_CPU is set: the process CPU clock would tick at 4 ms")
        result = MODES[request["mode"]](request)
    except GeneratorError as exc:
        result = {"ok": False, "generator_error": str(exc)}
    except Exception as exc:  # a module that does not load, a missing function
        result = {"ok": False, "harness_error": f"{type(exc).__name__}: {exc}"}
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh, default=repr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
