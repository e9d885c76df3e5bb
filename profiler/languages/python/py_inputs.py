"""Reading the arguments a function's tests call it with, shared by the two scripts that run
tests inside the sandbox (``py_runner.py`` for lone files, ``pytest_inputs.py`` for pytest
projects) and shipped beside them by the harness: a profile hook that, at each call of the
function and before its body runs, keeps the arguments when they are a Python literal that
reads back as an equal value of the same types. Standard library only."""

from __future__ import annotations

import ast
import sys
from types import FrameType
from typing import Any

INPUTS_MAX = 64  # distinct argument tuples kept
INPUT_REPR_MAX = 100_000  # characters of one argument tuple's literal
CO_VARARGS, CO_VARKEYWORDS = 0x04, 0x08  # inspect's flags, without importing inspect


def literal(value: object) -> str | None:
    """``repr(value)`` when it reads back as an equal value of the same types; None for
    anything else (objects, ``set()``, a value over ``INPUT_REPR_MAX`` characters)."""
    try:
        text = repr(value)
    except Exception:
        return None
    if len(text) > INPUT_REPR_MAX:
        return None
    try:
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text if back == value and same_types(value, back) else None


def same_types(a: object, b: object) -> bool:
    """Equal values whose types also agree throughout (``1 == 1.0 == True`` does not do)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return all(same_types(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return all(same_types(a[k], b[k]) for k in a)
    return True


class Recorder:
    """A profile hook (``sys.setprofile``) keeping the distinct literal arguments of calls of
    ``function`` defined in a file whose path ends with ``file``. Calls through ``*args`` or
    ``**kwargs`` parameters, and arguments that are not literals, are counted, not kept."""

    def __init__(self, function: str, file: str) -> None:
        self.function, self.file = function, file
        self.inputs: list[str] = []
        self._seen: set[str] = set()
        self.calls = 0
        self.unreadable = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event != "call" or code.co_name != self.function:
            return
        if not code.co_filename.endswith(self.file):
            return
        self.calls += 1
        if code.co_flags & (CO_VARARGS | CO_VARKEYWORDS):
            self.unreadable += 1
            return
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        text = literal(tuple(frame.f_locals[n] for n in names))
        if text is None:
            self.unreadable += 1
        elif text not in self._seen and len(self.inputs) < INPUTS_MAX:
            self._seen.add(text)
            self.inputs.append(text)

    def start(self) -> None:
        sys.setprofile(self)

    def stop(self) -> None:
        sys.setprofile(None)

    def result(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "calls": self.calls, "unreadable": self.unreadable}
