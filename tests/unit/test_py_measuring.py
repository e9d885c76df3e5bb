"""What the sandboxed Python measuring scripts share (``py_measuring.py``): a measuring process
and every thread it starts afterwards stay on one CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import profiler.languages.python as python_harness

PROBE = """
import os, threading
import py_measuring
before = len(os.sched_getaffinity(0))
py_measuring.pin_to_one_cpu()
seen = []
t = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
t.start(); t.join()
print(before, len(os.sched_getaffinity(0)), len(seen[0]))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to pin to one")
def test_a_pinned_process_and_the_threads_it_starts_run_on_one_cpu():
    here = Path(python_harness.__file__).parent
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(here)!r})\n{PROBE}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert int(out[0]) >= 2 and out[1:] == ["1", "1"], out
