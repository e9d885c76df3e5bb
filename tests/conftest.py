"""Suite-wide pytest configuration: a header with the versions that matter."""

from __future__ import annotations

import importlib.metadata as md
import os
import tempfile

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# Maps of traced tests the developer kept (perforch tests --trace) must not change what the
# suite discovers: the suite, and every process it starts, keeps its own.
os.environ["PERFORCH_TEST_MAPS"] = tempfile.mkdtemp(prefix="perforch-test-maps-")


def pytest_report_header() -> str:
    names = [
        "pygls",
        "lsprotocol",
        "litellm",
        "pydantic",
        "aiosqlite",
        "pytest-asyncio",
        "llama_cpp_python",
    ]
    versions = []
    for name in names:
        try:
            versions.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            versions.append(f"{name} missing")
    return "perforch deps: " + ", ".join(versions)
