"""Suite-wide pytest configuration: a header with the versions that matter."""

from __future__ import annotations

import importlib.metadata as md
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


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
