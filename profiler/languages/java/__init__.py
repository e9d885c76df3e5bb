"""Java in the profiler: a lone class with a ``main`` test, compiled by a warm ``javac``
(``harness.py``, ``javac_service.py``), and Maven/Gradle projects' JUnit tests on the JUnit
Platform console launcher, measured in one JVM (``project.py``, ``java_src/``)."""

from .harness import JavaHarness
from .project import JavaRunner
from .toolchain import prepare

HARNESS = JavaHarness
PREPARE = prepare  # the toolchain's one-time set-up (scripts/setup.sh)
RUNNERS = {"maven": JavaRunner, "gradle": JavaRunner}
