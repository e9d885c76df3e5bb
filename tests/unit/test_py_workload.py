"""The generated-workload runner's logic (``py_workload.py``), in-process: probing and scaling a
generator, and differential testing with shrinking. (The sandboxed runs are profiler tests.)"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from profiler.languages.python import py_workload as w
from tests.workload_sources import GENERATOR, LINEAR, QUADRATIC

# Passes small example tests, differs from size 3 on: only the first two items are compared.
WRONG = "def has_duplicates(items):\n    return len(items) >= 2 and items[0] == items[1]\n"
SORTS = """
def has_duplicates(items):
    items.sort()
    return any(a == b for a, b in zip(items, items[1:]))
"""


def files(tmp_path: Path, **sources: str) -> dict[str, str]:
    paths = {}
    for name, text in sources.items():
        (tmp_path / f"{name}.py").write_text(text)
        paths[name] = str(tmp_path / f"{name}.py")
    return paths


def run(tmp_path: Path, request: dict[str, object]) -> dict[str, object]:
    (tmp_path / "request.json").write_text(json.dumps(request))
    assert (
        w.main(["py_workload.py", str(tmp_path / "request.json"), str(tmp_path / "out.json")]) == 0
    )
    result: dict[str, object] = json.loads((tmp_path / "out.json").read_text())
    return result


def probe(
    tmp_path: Path, gen: str, code: str, entry: str = "has_duplicates", **limits: object
) -> dict[str, object]:
    """The runner's probe of generator ``gen`` on ``code`` (``limits``: seeds, target_ns, …)."""
    p = files(tmp_path, gen=gen, a=code)
    request = {"mode": "probe", "generator": p["gen"], "module_a": p["a"], "entry": entry}
    return run(tmp_path, {**request, **limits})


def test_probe_scales_the_size_until_a_call_costs_the_target(tmp_path: Path):
    p = files(tmp_path, gen=GENERATOR, a=QUADRATIC)
    request = {
        "mode": "probe",
        "generator": p["gen"],
        "module_a": p["a"],
        "entry": "has_duplicates",
    }
    out = run(
        tmp_path,
        {
            **request,
            "seeds": [1, 2],
            "target_ns": 2_000_000,
            "max_size": 1 << 16,
            "budget_ns": 5_000_000_000,
        },
    )
    assert out["ok"], out
    tried = out["tried"]
    assert isinstance(tried, list) and [t["size"] for t in tried] == [
        8 * 2**i for i in range(len(tried))
    ]
    assert tried[-1]["ns"] >= 2_000_000 > tried[-2]["ns"]


FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
FIB_INPUTS = "def generate_input(size, rng):\n    return (size // 2 + 4,)\n"


def probe_fib(tmp_path: Path, **limits: object) -> dict[str, object]:
    """The probe of naive fib on n = size / 2 + 4 (one seed, 10 s of budget)."""
    asked = {"seeds": [1], "max_size": 1 << 20, "budget_ns": 10_000_000_000, **limits}
    return probe(tmp_path, FIB_INPUTS, FIB, "fib", **asked)


def test_an_exponential_original_is_probed_to_a_size_below_its_cap_not_past_it(tmp_path: Path):
    """Doubling from 8 reaches fib(20) (a few ms, under the 5 ms target) at size 32, then
    fib(36) (seconds) at 64: on ENAMEL's fib such a step ran the probe into its 60 s timeout.
    A call past the cap (1 s here) is stopped and the sizes between are bisected."""
    out = probe_fib(tmp_path, target_ns=5_000_000)
    assert out["ok"], out
    sizes = [t["size"] for t in out["tried"]]  # type: ignore[union-attr]
    assert 64 not in sizes and out["size"] < 64 and sizes == sorted(sizes), out


def test_the_cap_keeps_the_process_clock_fine_and_an_earlier_timer_armed():
    """A CPU timer would have made a 0.2 ms call read 0 ns; a wall-clock timer armed before
    (pytest-timeout's, in-process) is armed again with what was left of it."""
    import signal
    import time

    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 100.0)
    try:
        with w.time_cap(5_000_000_000):
            t0 = time.process_time_ns()
            while time.process_time_ns() - t0 < 300_000:
                pass
            assert w.cpu_ns_of_call(lambda n: sum(range(n)), (20_000,)) > 0
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 99.0 < left <= 100.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_first_call_past_the_cap_is_refused_with_the_size(tmp_path: Path):
    out = probe_fib(tmp_path, start_size=80, max_size=80, target_ns=1)  # fib(44): minutes
    assert not out["ok"] and out["tried"] == []
    assert "at size 80 (seed 1) ran past 1 s and was stopped" in str(out["error"])


def test_probe_refuses_a_generator_that_is_not_deterministic(tmp_path: Path):
    gen = """
import os
def generate_input(size, rng):
    return ([b for b in os.urandom(size)],)
"""
    out = probe(tmp_path, gen, LINEAR, seeds=[1], target_ns=10**6, max_size=64, budget_ns=10**9)
    assert not out["ok"] and "not deterministic" in str(out["generator_error"])


def test_a_generator_drawing_from_the_random_module_is_deterministic_for_a_seed(tmp_path: Path):
    # What models often write (and ENAMEL's own generators do) instead of using ``rng``.
    gen = """
import random
def generate_input(size, rng):
    return ([random.random() for _ in range(size)],)
"""
    out = probe(
        tmp_path, gen, LINEAR, seeds=[1, 2], target_ns=10**5, max_size=1 << 16, budget_ns=10**9
    )
    assert out["ok"], out


def test_an_equivalent_candidate_passes_and_a_wrong_one_is_shrunk(tmp_path: Path):
    p = files(tmp_path, gen=GENERATOR, a=QUADRATIC, b=LINEAR, c=WRONG)
    base = {
        "mode": "diff",
        "generator": p["gen"],
        "module_a": p["a"],
        "entry": "has_duplicates",
        "seeds": [1, 2, 3],
        "sizes": [50, 200],
    }
    assert run(tmp_path, {**base, "module_b": p["b"]}) == {"ok": True, "checked": 6}
    out = run(tmp_path, {**base, "module_b": p["c"]})
    assert not out["ok"]
    found = out["mismatch"]
    assert isinstance(found, dict) and found["why"] == "the return values differ"
    assert found["size"] <= 4, found  # shrunk from 50
    assert found["original"] != found["candidate"]


def test_mutating_the_argument_is_a_difference(tmp_path: Path):
    p = files(tmp_path, gen=GENERATOR, a=LINEAR, b=SORTS)
    out = run(
        tmp_path,
        {
            "mode": "diff",
            "generator": p["gen"],
            "module_a": p["a"],
            "module_b": p["b"],
            "entry": "has_duplicates",
            "seeds": [1],
            "sizes": [20],
        },
    )
    assert not out["ok"] and "mutates" in out["mismatch"]["why"]  # type: ignore[index]


def test_raising_another_exception_type_is_a_difference():
    a = w.outcome(lambda x: 1 // x, (0,))
    b = w.outcome(lambda x: [][x], (0,))
    assert (
        w.difference(a, b)
        == "the original raised ZeroDivisionError, the candidate raised IndexError"
    )
    assert w.difference(a, w.outcome(lambda x: 1 // x, (0,))) is None


def test_same_is_strict_about_types_and_lenient_about_float_rounding():
    assert w.same(0.1 + 0.2, 0.3) and w.same(float("nan"), float("nan"))
    assert not w.same(1, 1.0) and not w.same(True, 1) and not w.same([1, 2], (1, 2))
    assert w.same({"a": [1.0, 2]}, {"a": [1.0, 2]}) and not w.same({"a": 1}, {"b": 1})


def test_a_generator_returning_the_one_arguments_items_is_taken_as_that_argument(tmp_path: Path):
    """Seen on toolz's frequencies(seq): the model's generator returned the words themselves as
    the arguments' tuple. The probe takes them as the one argument and says so; the core then
    wraps the generator the same way, for every later use."""
    from perforch_core import workloads

    items = (
        "def generate_input(size, rng):\n    return tuple(rng.choice('ab') for _ in range(size))\n"
    )
    count = "def frequencies(seq):\n    return {k: list(seq).count(k) for k in set(seq)}\n"
    out = probe(
        tmp_path,
        items,
        count,
        "frequencies",
        seeds=[1],
        target_ns=100_000,
        max_size=1 << 12,
        budget_ns=2_000_000_000,
    )
    assert out["ok"] and out["wrapped"], out
    space: dict[str, object] = {}
    exec(workloads.wrap_single(items), space)
    import random

    (arg,) = space["generate_input"](5, random.Random(1))  # type: ignore[operator]
    assert isinstance(arg, tuple) and len(arg) == 5


def test_a_generator_adding_the_expected_result_is_read_for_its_first_value(tmp_path: Path):
    """Seen on ENAMEL's closest_integer(value) and fib(n): the local model's generator returned
    the argument and the expected result. Taken as the argument's items the original raises;
    its first value alone is the argument, the probe says so, and the core reads the generator
    the same way for every later use."""
    import random

    from perforch_core import workloads

    both = (
        "def generate_input(size, rng):\n"
        "    digits = ''.join(rng.choice('0123456789') for _ in range(size))\n"
        "    return (digits, int(digits))\n"
    )
    digit_sum = "def digit_sum(value):\n    return sum(int(c) for c in value.strip())\n"
    limits = dict(seeds=[1], target_ns=50_000, max_size=1 << 10, budget_ns=2_000_000_000)
    out = probe(tmp_path, both, digit_sum, "digit_sum", **limits)
    assert out["ok"] and out["first_only"] and not out["wrapped"], out
    space: dict[str, object] = {}
    exec(workloads.first_only(both), space)
    (arg,) = space["generate_input"](5, random.Random(1))  # type: ignore[operator]
    assert isinstance(arg, str) and len(arg) == 5
    # A function the first value does not suit either keeps the whole reading's message.
    needs_list = "def digit_sum(value):\n    return sum(value[1])\n"
    out = probe(tmp_path, both, needs_list, "digit_sum", **limits)
    assert not out["ok"] and "return a 1-tuple holding that argument" in str(out["error"]), out


def test_inputs_on_which_the_original_does_no_more_work_as_they_grow_are_refused(tmp_path: Path):
    """Seen on the demo: random small numbers make has_duplicates exit at once at any size, so
    the probe grew the size to its cap at microseconds a call; such a workload measures nothing."""
    early = (
        "def generate_input(size, rng):\n    return ([rng.randrange(3) for _ in range(size)],)\n"
    )
    out = probe(
        tmp_path,
        early,
        QUADRATIC,
        seeds=[1],
        target_ns=2_000_000,
        max_size=1 << 12,
        budget_ns=2_000_000_000,
    )
    assert not out["ok"]
    assert "the inputs do not make it work harder as they grow" in str(out["error"])
    assert out["checkable"] is True  # the original ran on them: they still check candidates


VALID_DATE = """def valid_date(date):
    try:
        m, d, y = (int(part) for part in date.split("-"))
    except ValueError:
        return False
    if not 1 <= m <= 12 or d < 1:
        return False
    return d <= (29 if m == 2 else 30 if m in (4, 6, 9, 11) else 31)
"""


def test_inputs_that_cannot_grow_are_measured_many_at_a_time(tmp_path: Path):
    """A date string is as long at size 8 as at size 4096: the cost is flat because nothing in
    the input can grow (ENAMEL's valid_date), not because of an early exit. The original is
    measured on enough different inputs to cost the seeds' share of the target, at most 4096."""
    dates = (
        "def generate_input(size, rng):\n"
        "    m, d, y = rng.randint(0, 13), rng.randint(0, 32), rng.randint(1, 9999)\n"
        "    return (f'{m:02d}-{d:02d}-{y}',)\n"
    )
    limits = {"target_ns": 2_000_000, "max_size": 1 << 12, "budget_ns": 2_000_000_000}
    out = probe(tmp_path, dates, VALID_DATE, "valid_date", seeds=[1, 2], **limits)
    assert out["ok"], out
    ns, inputs = float(out["ns"]), out["inputs"]  # type: ignore[arg-type]
    assert isinstance(inputs, int) and inputs == min(4096, math.ceil(2 * 2_000_000 / ns)), out
    # At the smallest size: the inputs are the same there, and making them may cost less.
    assert out["size"] == 8, out
    assert inputs > 2  # microseconds a call: many more inputs than the seeds asked
    # A workload that loads the original as it grows keeps the seeds asked.
    grown = probe(tmp_path, GENERATOR, QUADRATIC, seeds=[1, 2], **limits)
    assert grown["ok"] and grown["inputs"] is None, grown


def test_scaling_says_when_the_generator_gives_the_same_inputs_at_every_size(tmp_path: Path):
    """Same seed, another size: a list of `size` items is another input (its first items are
    the same draws); a number drawn whatever the size is not. The original sorts its argument:
    the inputs kept to compare are its own copies."""
    fixed = "def generate_input(size, rng):\n    return ([rng.randint(1, 10**6)] * 50,)\n"
    p = files(tmp_path, grown=GENERATOR, fixed=fixed, a=SORTS, b=LINEAR)
    request = {
        "mode": "scale",
        "module_a": p["a"],
        "module_b": p["b"],
        "entry": "has_duplicates",
        "sizes": [8, 16, 32],
        "seeds": [1, 2],
        "repeats": 1,
        "metric": "exec_time",
    }
    out = run(tmp_path, {**request, "generator": p["grown"]})
    assert out["ok"] and out["size_ignored"] is False, out
    out = run(tmp_path, {**request, "generator": p["fixed"]})
    assert out["ok"] and out["size_ignored"] is True, out
    out = run(tmp_path, {**request, "generator": p["fixed"], "sizes": [8]})
    assert out["ok"] and out["size_ignored"] is False, out  # one size: nothing to say


def test_timing_under_a_cpu_time_limit_is_refused(tmp_path: Path):
    """Under RLIMIT_CPU this kernel serves the process CPU clock at scheduler ticks (4 ms): a
    small call read 0 ns and the scaling fit had no points (a CI failure). The runner refuses
    to time there instead of reporting zeros."""
    import subprocess
    import sys

    p = files(tmp_path, gen=GENERATOR, a=QUADRATIC, b=LINEAR)
    request = {
        "mode": "scale",
        "generator": p["gen"],
        "module_a": p["a"],
        "module_b": p["b"],
        "entry": "has_duplicates",
        "sizes": [8, 16],
        "seeds": [1],
        "repeats": 1,
        "metric": "exec_time",
    }
    (tmp_path / "request.json").write_text(json.dumps(request))
    script = Path(w.__file__)
    argv = [sys.executable, str(script), "request.json", "out.json"]
    subprocess.run(["prlimit", "--cpu=100:100", "--", *argv], cwd=tmp_path, check=True)
    out = json.loads((tmp_path / "out.json").read_text())
    assert not out["ok"] and "RLIMIT_CPU" in out["harness_error"], out
    subprocess.run(argv, cwd=tmp_path, check=True)
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["ok"] and all(pt["baseline"] > 0 for pt in out["points"]), out


def test_values_are_encoded_for_a_compiled_programs_parameters():
    """The token form workload_io.hpp reads: byte counts for strings (UTF-8), sets sorted so
    that a seed always gives the same bytes, bools apart from ints."""
    got = w.encoded(([1, -2], "héllo", {"a": 1.5}, True, None, (3, "x y")))
    assert got == (
        "l 6 l 2 i 1 i -2 s 6:héllo d 1 s 1:a f 1.5 b 1 n l 2 i 3 s 3:x y"
    ).encode().decode("latin-1").encode("latin-1")
    assert w.encoded({3, 1, 2}) == b"l 3 i 1 i 2 i 3"
    with pytest.raises(w.GeneratorError, match="compiled function's parameters"):
        w.encoded((object(),))


def test_sizes_below_the_probes_that_the_generator_refuses_are_skipped(tmp_path: Path):
    """A generator validated from size 8 up may not accept size 0 (``randint(1, 0)``): those
    inputs are skipped, not held against the candidate; a generator refusing every size is."""
    picky = (
        "def generate_input(size, rng):\n"
        "    n = rng.randint(1, size)\n"
        "    return ([rng.randint(0, n) for _ in range(size)],)\n"
    )
    paths = files(tmp_path, a=QUADRATIC, b=LINEAR, g=picky)
    request = {"mode": "diff", "module_a": paths["a"], "module_b": paths["b"]}
    request |= {"generator": paths["g"], "entry": "has_duplicates", "seeds": [1, 2]}
    result = run(tmp_path, {**request, "sizes": [0, 8, 64]})
    assert result["ok"] and result["checked"] == 4, result
    assert "randint" in str(result["skipped"]) or "range" in str(result["skipped"]), result
    refused = run(tmp_path, {**request, "sizes": [0]})
    assert not refused["ok"] and "generate_input(0, seed" in refused["generator_error"]


# A measuring program's stand-in for ``serve``: a hello line, then per request either what the
# function printed followed by the reply, or a runtime's last words and an exit.
SERVER = r"""
import json, sys
print(json.dumps({"arity": 1, "mutates": False}), flush=True)
while True:
    header = sys.stdin.buffer.readline()
    if not header:
        break
    _, side, n, timed = header.split()
    arg = sys.stdin.buffer.read(int(n))
    if b"die" in arg:
        print("#\n# There is insufficient memory for the Java Runtime Environment to continue.")
        print("# Native memory allocation (malloc) failed", flush=True)
        sys.exit(1)
    print("the function printed this line", flush=True)
    print(json.dumps({"returned": 42, "raised": None, "args_after": [], "ns": 1}), flush=True)
"""


def test_a_remote_skips_what_the_function_prints_and_names_a_runtimes_last_words(tmp_path: Path):
    (tmp_path / "server.py").write_text(SERVER)
    import sys

    fn = w.Remote([sys.executable, str(tmp_path / "server.py")], 0, {})
    assert fn.outcome(("fine",))["returned"] == 42  # the printed line is not the reply
    died = fn.outcome(("die",))
    assert died["returned"] is None
    assert died["raised"] == (
        "a crash (exit code 1: There is insufficient memory for the Java Runtime "
        "Environment to continue.)"
    )
    assert fn.outcome(("fine",))["returned"] == 42  # started again for the next call
    proc = fn.shared["proc"]
    proc.stdin.close()
    assert proc.wait(10) == 0
    proc.stdout.close()


# A lazy function, as most of toolz's are: the work happens as the caller draws the result.
LAZY_PAIRS = """
def pairs(items):
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            yield items[i], items[j]
"""
LAZY_PAIRS_MAP = """
import itertools
def pairs(items):
    return itertools.combinations(items, 2)
"""
EAGER_PAIRS = """
import itertools
def pairs(items):
    return list(itertools.combinations(items, 2))
"""
PAIRS_GEN = (
    "def generate_input(size, rng):\n    return ([rng.randint(0, 9) for _ in range(size)],)\n"
)


def test_a_lazy_functions_result_is_drawn_to_compare_and_to_time(tmp_path: Path):
    """Two iterator objects never compare equal: the items drawn are compared (a generator
    and itertools.combinations agree; a list with the same items does not, a caller's next()
    would fail on it); and the probe times the drawing, so the cost grows with the size."""
    p = files(tmp_path, gen=PAIRS_GEN, a=LAZY_PAIRS, b=LAZY_PAIRS_MAP, c=EAGER_PAIRS)
    base = {"mode": "diff", "generator": p["gen"], "module_a": p["a"], "entry": "pairs"}
    base |= {"seeds": [1, 2], "sizes": [3, 30]}
    assert run(tmp_path, {**base, "module_b": p["b"]}) == {"ok": True, "checked": 4}
    out = run(tmp_path, {**base, "module_b": p["c"]})
    assert not out["ok"], out
    found = out["mismatch"]
    assert isinstance(found, dict) and found["why"] == "the return values differ"
    # Shrunk to the empty input: an iterator over nothing against an empty list.
    assert (found["size"], found["original"], found["candidate"]) == (0, "iterator over []", "[]")
    probed = probe(
        tmp_path,
        PAIRS_GEN,
        LAZY_PAIRS,
        "pairs",
        seeds=[1],
        target_ns=2_000_000,
        max_size=1 << 16,
        budget_ns=10**10,
    )
    assert probed["ok"], probed  # not refused as flat: creating a generator alone costs nothing
    assert int(probed["size"]) > 64  # type: ignore[call-overload]
