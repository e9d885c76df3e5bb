"""Go in the profiler: a lone file with its ``*_test.go`` (``harness.py``) and a module's
packages under ``go test`` (``project.py``)."""

from .harness import GoHarness
from .project import GoRunner
from .toolchain import prepare

HARNESS = GoHarness
PREPARE = prepare  # the toolchain's one-time set-up (scripts/setup.sh)
RUNNERS = {"go": GoRunner}
