"""Python in the profiler: a lone file's tests and measurements in a sandboxed interpreter
running ``py_runner.py`` (``harness.py``); a package's pytest tests, measured in-process by the
``pytest_bench.py`` plugin (``project.py``)."""

from .harness import PythonHarness
from .project import PytestRunner

HARNESS = PythonHarness
RUNNERS = {"pytest": PytestRunner}
