"""Rust in the profiler: a lone file with its tests module (``harness.py``) and a Cargo crate
or workspace under ``cargo test --offline`` (``project.py``)."""

from .harness import RustHarness
from .project import CargoRunner
from .toolchain import prepare

HARNESS = RustHarness
PREPARE = prepare  # the toolchain's one-time set-up (scripts/setup.sh)
RUNNERS = {"cargo": CargoRunner}
