"""What the memory launcher and valgrind report, read back: shared by every harness that runs a
program under them (the ``hold``/``count`` commands of the compiled drivers, the Python runner's
``hold``/``count`` modes)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from perforch_core.errors import HarnessError
from perforch_core.models import Footprint

EMPTY = 2  # the side number for "no tests": the empty-harness baseline
# Process-level memory differences below this are run-to-run noise (0.1-0.4 MB measured here).
FOOTPRINT_FLOOR = 512 * 1024
VALGRIND_ADDRESS_SPACE_MB = 16384  # valgrind reserves far more address space than it uses
COUNT_RUNS = 5  # test-suite runs per valgrind count (a difference of two counts, so exact)
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def tagged_json(text: str, tag: str) -> dict[str, object] | None:
    """The JSON after the last line starting with ``tag``."""
    line = next((ln for ln in reversed(text.splitlines()) if ln.startswith(tag + " ")), None)
    return None if line is None else json.loads(line.split(" ", 1)[1])


def footprint(stderr: str) -> Footprint | None:
    """The launcher's report (its last stderr line), in bytes; None if it has none."""
    data = tagged_json(stderr, "PERFORCH_FOOTPRINT")
    if data is None or not data.get("samples"):
        return None
    kib = 1024
    return Footprint(
        peak_rss=int(str(data["peak_rss_kb"])) * kib,
        mean_rss_anon=float(str(data["mean_rss_anon_kb"])) * kib,
        peak_vm_data_stk=int(str(data["peak_vm_data_stk_kb"])) * kib,
        mean_vm_data_stk=float(str(data["mean_vm_data_stk_kb"])) * kib,
        samples=int(str(data["samples"])),
    )


def valgrind_argv() -> list[str]:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise HarnessError("valgrind is not installed: instruction counts are unavailable")
    return [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]


def instructions(stderr: str) -> int | None:
    m = _IREFS.search(stderr)
    return int(m.group(1).replace(",", "")) if m else None


def launcher_binds(argv: Sequence[str]) -> list[str]:
    """The memory launcher's directory when ``argv`` starts with it (to show it read-only in
    the sandbox), else nothing."""
    if argv and Path(argv[0]).name == "perforch-launch":
        return [str(Path(argv[0]).parent)]
    return []
