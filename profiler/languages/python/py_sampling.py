"""The sampled mean of tracemalloc's level (Python's ``avg_memory``), shared by the two
measuring scripts that run inside the sandbox (``py_runner.py``, ``pytest_bench.py``), which
the harness ships beside this file. Standard library only."""

from __future__ import annotations

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
