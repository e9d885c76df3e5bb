"""The daemon–core boundary: a PerfOrch error crosses the RPC with its kind and hint."""

from __future__ import annotations

import pytest

from perforch_core.errors import (
    ConfigError,
    HarnessError,
    PerfOrchError,
    ProfilerError,
    SandboxError,
)
from profiler import protocol as p


@pytest.mark.parametrize("cls", [HarnessError, SandboxError, ProfilerError])
def test_profiler_errors_keep_their_kind_and_hint(cls: type[PerfOrchError]) -> None:
    sent = cls("bubblewrap cannot create a namespace", hint="see docs/sandbox")
    wire = {"code": p.HARNESS_ERROR, "message": sent.message, "data": p.error_data(sent)}
    got = p.error_from(wire)
    assert type(got) is cls
    assert (got.message, got.hint) == (sent.message, sent.hint)


def test_other_errors_arrive_as_the_harness_failing() -> None:
    wire = {"code": p.HARNESS_ERROR, "message": "x", "data": p.error_data(ConfigError("x"))}
    assert type(p.error_from(wire)) is HarnessError


def test_protocol_errors_and_old_replies_without_data_still_map() -> None:
    assert type(p.error_from({"code": p.INTERNAL_ERROR, "message": "bug"})) is ProfilerError
    old = p.error_from({"code": p.HARNESS_ERROR, "message": "no data"})
    assert type(old) is HarnessError and old.hint is None
