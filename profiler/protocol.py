"""The profiler daemon's wire protocol: JSON-RPC 2.0 with LSP-style Content-Length framing.

Requests (client → daemon): ``run_tests``, ``measure``, ``compare``, ``shutdown``.
Notifications (daemon → client, carrying the request's id): ``progress`` and ``sample``.
Notification (client → daemon): ``$/cancelRequest`` ``{"id": …}`` kills that request's processes.

The payload types reuse the core's domain models (``perforch_core.models`` is a leaf module that
imports only pydantic), so what the daemon returns is exactly what the core consumes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from perforch_core.errors import HarnessError, PerfOrchError, ProfilerError, SandboxError
from perforch_core.models import (
    DifferentialResult,
    HotspotsResult,
    Language,
    Metric,
    ProbeResult,
    ScalingResult,
    TestInputs,
    TestSpec,
    Workload,
)

JSONRPC = "2.0"

# JSON-RPC error codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
REQUEST_CANCELLED = -32800
HARNESS_ERROR = -32001

# The profiler's errors by kind, as the error's ``data`` carries them across the RPC: the client
# raises the same class with the same hint. Anything else the daemon raises arrives as
# ``HarnessError``.
ERROR_KINDS: dict[str, type[PerfOrchError]] = {
    cls.__name__: cls for cls in (ProfilerError, HarnessError, SandboxError)
}


def error_data(exc: PerfOrchError) -> dict[str, Any]:
    """What a JSON-RPC error's ``data`` carries of a PerfOrch error."""
    kind = type(exc).__name__ if type(exc).__name__ in ERROR_KINDS else "HarnessError"
    return {"kind": kind, "hint": exc.hint}


def error_from(err: dict[str, Any]) -> PerfOrchError:
    """The PerfOrch error a JSON-RPC error stands for (its kind and hint kept)."""
    data = err.get("data") if isinstance(err.get("data"), dict) else {}
    assert isinstance(data, dict)
    message = str(err.get("message", "profiler error"))
    if err.get("code") != HARNESS_ERROR:
        return ProfilerError(message)
    cls = ERROR_KINDS.get(str(data.get("kind")), HarnessError)
    hint = data.get("hint")
    return cls(message, hint=hint if isinstance(hint, str) else None)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Program(_Params):
    """What a harness needs to build and test one candidate."""

    language: Language
    module: str = "solution"
    entry_point: str
    tests: TestSpec
    interpreter: str | None = Field(default=None, description="Python executable to run with")
    workload: Workload | None = Field(
        default=None, description="measure on these generated inputs instead of the tests"
    )


class RunTestsParams(_Params):
    program: Program
    source: str
    timeout_s: float = 20.0


class TraceResult(BaseModel):
    """Which of a project's tests reached the function when they all ran (``trace_tests``)."""

    reached: list[str] = Field(default_factory=list, description="pytest node ids")
    ran: int = 0
    error: str | None = None  # the suite could not even be collected


class CompareParams(_Params):
    program: Program
    baseline: str
    candidate: str
    metric: Metric = Metric.EXEC_TIME
    threshold_pct: float = 5.0
    min_processes: int = 6  # the plan's looks (profiler.stats.LOOKS) within these bounds
    max_processes: int = 12
    pairs: int | None = Field(
        default=None, description="A/B batch pairs per process; None: the language's default"
    )
    instructions: bool = Field(
        default=False, description="also count instructions per test run with valgrind"
    )
    mirror: bool = Field(
        default=True,
        description="mirror the even processes where both sides share one (off: only for "
        "``perforch bench aa``'s side-by-side check)",
    )
    timeout_s: float = 120.0


__all__ = [
    "DifferentialResult",
    "HotspotsResult",
    "ProbeResult",
    "ScalingResult",
    "TestInputs",
]  # the core's types, on the wire as they are


class ProbeWorkloadParams(_Params):
    """Validate an input generator on the original and scale it to ``target_ns`` a call."""

    program: Program
    source: str = Field(description="the module with the original function")
    generator: str
    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3])
    target_ns: int = 5_000_000
    max_size: int = 1 << 20
    budget_ns: int = 10_000_000_000  # CPU time the probing may spend
    start_size: int = 8
    timeout_s: float = 60.0


class InputsParams(_Params):
    """A workload's inputs as JSON, for a benchmark file the user keeps: the generator run
    in the sandbox at ``size`` for each seed (no function is called)."""

    generator: str
    size: int
    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3])
    max_bytes: int = 16 << 20
    timeout_s: float = 120.0


class InputsResult(BaseModel):
    ok: bool
    json_text: str | None = Field(default=None, description='[{"seed": s, "args": [...]}, ...]')
    error: str | None = None


class DifferentialParams(_Params):
    """Original and candidate on the same generated inputs: do they behave the same?"""

    program: Program
    baseline: str
    candidate: str
    generator: str
    sizes: list[int]
    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3])
    timeout_s: float = 60.0


class ScalingParams(_Params):
    """Original and candidate called at each size of the generated input: the cost of one
    call of each (complexity evidence)."""

    program: Program
    baseline: str
    candidate: str
    generator: str
    sizes: list[int]
    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3])
    metric: Metric = Metric.EXEC_TIME
    repeats: int = 3
    timeout_s: float = 120.0


class HotspotsParams(_Params):
    """Where the function's time goes, per line, on its workload (profile feedback)."""

    program: Program
    source: str
    timeout_s: float = 60.0


class TestInputsParams(RunTestsParams):
    """The arguments the function's tests call it with (differential testing's other inputs):
    the tests run on ``source`` as they do for ``run_tests``."""


class MeasureParams(_Params):
    program: Program
    source: str
    metric: Metric = Metric.EXEC_TIME
    processes: int = 3
    timeout_s: float = 120.0


class SampleParams(BaseModel):
    """One fresh process's result, streamed while a comparison runs."""

    id: int | str
    metric: Metric
    process: int
    ratio: float
    baseline: float
    candidate: float
    unit: str


class ProgressParams(BaseModel):
    id: int | str
    message: str
    percentage: int | None = None


# -- framing ------------------------------------------------------------------------------
def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """Read one framed message; None at end of stream. Raises ValueError on bad framing."""
    length = None
    while True:
        line = await reader.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("message without Content-Length")
    body = await reader.readexactly(length)
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("message is not a JSON object")
    return message
