"""C++ in the profiler: a lone file with its ``*_test.cpp`` (``harness.py``), a file with its
own ``main()`` self-test, and CMake projects under CTest (``project.py``)."""

from .harness import CppHarness
from .project import CMakeRunner, SelfTestRunner
from .toolchain import prepare

HARNESS = CppHarness
PREPARE = prepare  # the toolchain's one-time set-up (scripts/setup.sh)
RUNNERS = {"cmake": CMakeRunner, "cpp-self-test": SelfTestRunner}
