""" "Show the tests that judge this function" (``perforch.showTests``): the tests found for a
function, how each was found and, with ``run``, their outcome on the buffer's code (no model),
as a message, a diagnostic when they fail, and the command's result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from perforch_core import projects, source
from perforch_core.errors import PerfOrchError
from perforch_core.models import TestSpec

from . import convert, jobs

if TYPE_CHECKING:
    from .server import PerforchServer

COMMAND = convert.SHOW_TESTS


def listing(tests: TestSpec) -> list[dict[str, str]]:
    return [{"id": t, "file": f, "found_by": h} for t, f, h in projects.judging(tests)]


def summary(function: str, tests: TestSpec) -> str:
    rows = listing(tests)
    plural = len(rows) != 1
    head = f"{len(rows)} test{'s' if plural else ''} judge{'' if plural else 's'} {function}()"
    if tests.project is not None:
        head += f" in the {tests.project.kind} project"
        if tests.project.others:
            head += f" ({tests.project.others} others do not exercise it)"
    return head + ": " + "; ".join(f"{r['id']} ({r['found_by']})" for r in rows)


async def show_tests(
    ls: PerforchServer, uri: Any = None, function: Any = None, run: Any = False
) -> dict[str, Any]:
    if not isinstance(uri, str) or not isinstance(function, str):
        return {"error": f"{COMMAND} takes (uri, function name, run: bool)"}
    doc = ls.workspace.get_text_document(uri)
    try:
        task = source.task_from_text(Path(doc.path), doc.source, function)
    except PerfOrchError as exc:
        message = str(exc)  # the hint is part of it
        ls.window_show_message(
            lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=f"PerfOrch: {message}")
        )
        return {"error": message, "tests": []}
    result: dict[str, Any] = {"tests": listing(task.tests)}
    ls.window_show_message(
        lsp.ShowMessageParams(
            type=lsp.MessageType.Info, message=f"PerfOrch: {summary(function, task.tests)}"
        )
    )
    if not run:
        return result
    outcome = await jobs.run_tests_and_publish(ls, uri, function, task)
    result["outcome"] = outcome.model_dump(mode="json")
    return result
