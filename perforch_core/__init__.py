"""PerfOrch's domain core: tasks, the generate → fix → refine Executor, Memory, the LLM gateway.

Imports neither pygls nor lsprotocol (editor-agnostic) and imports litellm only inside
``perforch_core.llm.gateway``, lazily. Public names are loaded on first use, so that importing
the leaf module ``perforch_core.models`` (as the profiler daemon does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Action": "models",
    "Category": "models",
    "Candidate": "models",
    "Language": "models",
    "Measurement": "models",
    "Metric": "models",
    "Stage": "models",
    "Task": "models",
    "TestOutcome": "models",
    "TestSpec": "models",
    "Verdict": "models",
    "JobEvent": "events",
    "event_from_json": "events",
    "PerfOrchError": "errors",
    "Executor": "executor",
    "Job": "executor",
    "Budget": "policy",
    "Policy": "policy",
    "JobResult": "result",
    "Attempt": "result",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'perforch_core' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
