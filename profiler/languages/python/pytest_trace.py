"""PerfOrch's pytest plugin that finds which tests reach a function: each test (its setup,
call and teardown) runs under a profile hook that notes a call of the function's code. Loaded by
the profiler inside the sandbox (``-p perforch_pytest_trace --perforch-trace=REQUEST.json``);
standard library and pytest only. Writes ``{"reached": [node ids], "ran": n}`` to the request's
``out``."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import pytest

_state: dict[str, Any] = {}


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--perforch-trace", dest="perforch_trace", default=None)


def pytest_configure(config: Any) -> None:
    path = config.getoption("perforch_trace")
    if path is None:
        return
    with open(path, encoding="utf-8") as fh:
        request = json.load(fh)
    _state.update(request=request, reached=[], ran=0, hit=False)


def _profile(frame: Any, event: str, arg: Any) -> None:
    if event == "call" and not _state["hit"]:
        code = frame.f_code
        request = _state["request"]
        if code.co_name == request["function"] and code.co_filename.endswith(request["file"]):
            _state["hit"] = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Any:
    if not _state:
        yield
        return
    _state["hit"] = False
    sys.setprofile(_profile)
    threading.setprofile(_profile)
    try:
        yield
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    _state["ran"] += 1
    if _state["hit"]:
        _state["reached"].append(item.nodeid)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if not _state:
        return
    with open(_state["request"]["out"], "w", encoding="utf-8") as fh:
        json.dump({"reached": _state["reached"], "ran": _state["ran"]}, fh)
