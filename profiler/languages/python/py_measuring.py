"""What the two measuring scripts that run inside the sandbox (``py_runner.py``,
``pytest_bench.py``) share, shipped beside them by the harness: the sampled mean of
tracemalloc's level (Python's ``avg_memory``), keeping a measuring process on one CPU, and
drawing the iterator a lazy function returns. Standard library only."""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable

MAX_SAMPLES = 1 << 17


def sampled_mean(work: Callable[[], None], min_ns: int) -> float:
    """The mean level above the level at the start, sampled every 1 ms (absolute deadlines)
    by a thread while ``work`` repeats for at least ``min_ns``; tracemalloc must be tracing."""
    # Preallocated before the starting level is read, so the samples do not measure themselves.
    samples = [0] * MAX_SAMPLES
    count = 0
    stop = threading.Event()
    base = tracemalloc.get_traced_memory()[0]

    def sampler() -> None:
        nonlocal count
        deadline = time.perf_counter_ns()
        while not stop.is_set() and count < MAX_SAMPLES:
            samples[count] = tracemalloc.get_traced_memory()[0] - base
            count += 1
            deadline += 1_000_000
            delay = (deadline - time.perf_counter_ns()) / 1e9
            if delay > 0:
                time.sleep(delay)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        t0 = time.perf_counter_ns()
        while True:
            work()
            if time.perf_counter_ns() - t0 >= min_ns:
                break
    finally:
        stop.set()
        thread.join()
    return statistics.fmean(samples[:count]) if count else 0.0


def pin_to_one_cpu() -> None:
    """Keep this process (and every thread it starts) on the CPU it runs on now.

    Under the GIL only one thread runs Python at a time, so this takes no parallelism from
    Python code; what it takes away is the scheduler's choice of CPU. On this machine's two
    vCPUs the same
    loop took 5.0 ms on one and 9.2 ms on the other a moment later: a two-thread workload's CPU
    time then said more about where its threads landed than about the code (per-process ratios
    0.64-1.18 against a single thread, unpinned; 0.86-1.01 pinned). Both sides of a comparison
    run in this one process, so both see the same CPU. Not for ``cpu_utilization``, which is
    about using more than one."""
    if not hasattr(os, "sched_setaffinity"):
        return
    allowed = os.sched_getaffinity(0)
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            cpu = int(fh.read().rsplit(")", 1)[1].split()[36])  # field 39: the CPU it ran on
    except (OSError, ValueError, IndexError):
        cpu = -1
    if cpu not in allowed:
        cpu = min(allowed)
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {cpu})


LAZY_ITEMS = 10_000_000  # items of a returned iterator drawn (as py_workload.py draws them)


def drawn(value: object) -> None:
    """Draw ``value`` when it is an iterator (a generator, ``map``…) the function returned: a
    lazy function does its work as it is drawn, so a generated workload's call draws it, up to
    ``LAZY_ITEMS`` items (an endless one stops there)."""
    import itertools

    try:
        is_iterator = hasattr(value, "__next__") and iter(value) is value  # type: ignore[call-overload]
    except Exception:
        return
    if is_iterator:
        for _ in itertools.islice(value, LAZY_ITEMS):  # type: ignore[call-overload]
            pass
