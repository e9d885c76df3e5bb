"""PerfOrch's pytest plugin that reads the arguments a project's tests call a function with:
each test (its setup, call and teardown) runs under ``py_inputs.Recorder`` (shipped beside it).
Loaded by the profiler inside the sandbox (``-p perforch_pytest_inputs
--perforch-inputs=REQUEST.json``); standard library and pytest only. Writes ``{"inputs":
[literals], "calls": n, "unreadable": m}`` to the request's ``out``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from py_inputs import Recorder

_state: dict[str, Any] = {}


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--perforch-inputs", dest="perforch_inputs", default=None)


def pytest_configure(config: Any) -> None:
    path = config.getoption("perforch_inputs")
    if path is None:
        return
    with open(path, encoding="utf-8") as fh:
        request = json.load(fh)
    _state.update(request=request, recorder=Recorder(request["function"], request["file"]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Any:
    if not _state:
        yield
        return
    _state["recorder"].start()
    try:
        yield
    finally:
        _state["recorder"].stop()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if not _state:
        return
    with open(_state["request"]["out"], "w", encoding="utf-8") as fh:
        json.dump(_state["recorder"].result(), fh)
