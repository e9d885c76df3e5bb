"""Conversions between the core's values and LSP types: code actions for a function, the
reviewed edit with its measured label, test failures as diagnostics, events as JSON."""

from __future__ import annotations

import math
from typing import Any

from lsprotocol import types as lsp
from pydantic import BaseModel

from perforch_core import describe
from perforch_core.models import Action, Language, Metric, TestOutcome
from perforch_core.result import JobResult
from perforch_core.source import Function, extras

COMMANDS = {
    Action.GENERATE: "perforch.generate",
    Action.FIX: "perforch.fix",
    Action.OPTIMIZE: "perforch.optimize",
}
ACTION_OF = {v: k for k, v in COMMANDS.items()}
SHOW_TESTS = "perforch.showTests"
KIND = lsp.CodeActionKind.RefactorRewrite
ANNOTATION = "perforch.result"


def code_actions(uri: str, function: Function) -> list[lsp.CodeAction]:
    """Generate, Fix, Optimize (one per metric), each also as "… choose model"."""
    entries: list[tuple[str, Action, Metric | None]] = [
        (f"PerfOrch: Generate {function.name}", Action.GENERATE, None),
        (f"PerfOrch: Fix {function.name}", Action.FIX, None),
        *(
            (f"PerfOrch: Optimize {function.name} for {metric.label}", Action.OPTIMIZE, metric)
            for metric in Metric
        ),
    ]
    actions = []
    for run in (False, True):
        title = (
            f"PerfOrch: Run the tests that judge {function.name}"
            if run
            else f"PerfOrch: Show the tests that judge {function.name}"
        )
        actions.append(
            lsp.CodeAction(
                title=title,
                kind=KIND,
                command=lsp.Command(
                    title=title, command=SHOW_TESTS, arguments=[uri, function.name, run]
                ),
            )
        )
    for choose in (False, True):
        for title, action, metric in entries:
            title = f"{title} (choose model…)" if choose else title
            args = [uri, function.name, metric.value if metric else None, choose]
            actions.append(
                lsp.CodeAction(
                    title=title,
                    kind=KIND,
                    command=lsp.Command(title=title, command=COMMANDS[action], arguments=args),
                )
            )
    return actions


def lines_range(start: int, end: int) -> lsp.Range:
    """Whole lines [start, end) (0-based)."""
    return lsp.Range(start=lsp.Position(line=start, character=0), end=lsp.Position(end, 0))


def edit_label(result: JobResult) -> str:
    """What was measured, for the change annotation: e.g. "exec time −23.1 % (95 % CI
    −27.0…−19.2), qwen2.5-coder-1.5b"."""
    model = result.accepted_model or "unknown model"
    v = result.verdict
    if v is not None and v.improved:
        return f"{v.metric.label} {describe.change(v)}, {model}"
    tests = result.final_tests
    passed = f"passes its tests ({tests.summary()})" if tests else "passes its tests"
    return f"{passed}, {model}"


def workspace_edit(
    uri: str,
    version: int | None,
    document: str,
    language: Language,
    function: Function,
    result: JobResult,
    confirm: bool,
) -> lsp.WorkspaceEdit:
    """The function's lines replaced by the result (helpers beside it), and the imports the
    result needs added to the file's import block (``source.extras``): one edit from the top of
    the file to the function's end, annotated with what was measured; with ``confirm`` the
    client must ask before applying."""
    lines = document.splitlines(keepends=True)
    prefix = "".join(lines[: function.start])
    merged = extras.merge(language, prefix, result.final_code, "")
    edits: list[lsp.TextEdit | lsp.AnnotatedTextEdit | lsp.SnippetTextEdit] = []
    if merged.startswith(prefix):  # no new imports: only the function's lines change
        edits.append(_annotated(lines_range(function.start, function.end), merged[len(prefix) :]))
    else:
        edits.append(_annotated(lines_range(0, function.end), merged))
    return lsp.WorkspaceEdit(
        document_changes=[
            lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                edits=edits,
            )
        ],
        change_annotations={
            ANNOTATION: lsp.ChangeAnnotation(
                label=edit_label(result),
                needs_confirmation=confirm,
                description=result.message,
            )
        },
    )


def _annotated(range_: lsp.Range, text: str) -> lsp.AnnotatedTextEdit:
    return lsp.AnnotatedTextEdit(range=range_, new_text=text, annotation_id=ANNOTATION)


def test_diagnostic(function: Function, outcome: TestOutcome) -> lsp.Diagnostic:
    """A failing function's first line, with what failed."""
    details = [f"{f.name}: {f.message}" for f in outcome.failures[:3]]
    if outcome.error:  # a compiler's or a test runner's own output, first lines first
        details += outcome.error.splitlines()[1:20]
    message = "\n".join([f"tests fail: {outcome.summary()}", *details])
    return lsp.Diagnostic(
        range=lsp.Range(
            start=lsp.Position(line=function.start, character=0),
            end=lsp.Position(line=function.start, character=len(function.code.splitlines()[0])),
        ),
        message=message[:2000],
        severity=lsp.DiagnosticSeverity.Error,
        source="perforch",
        code="tests-fail",
    )


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as null: JSON has no such numbers, and a client's
    JSON.parse rejects the whole message (a model without data in Memory scores NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def event_params(token: str, uri: str, function: str, event: BaseModel) -> dict[str, Any]:
    """The ``perforch/jobEvent`` notification's params: the event's fields, and its text from
    the one renderer (``line``, ``tone``, ``activity``; ``perforch_core.describe``)."""
    said = describe.event(event)
    return {
        "token": token,
        "uri": uri,
        "function": function,
        "event": json_safe(event.model_dump(mode="json")),
        "line": said.line,
        "tone": said.tone,
        "activity": said.activity,
    }
