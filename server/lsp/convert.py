"""Conversions between the core's values and LSP types: code actions for a function, the
reviewed edit with its measured label, test failures as diagnostics, events as JSON."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Hunk:
    """One contiguous change: the document's lines [start, end) become ``text``."""

    start: int
    end: int
    text: str

    def lines(self) -> str:
        """1-based, as an editor shows them: "lines 12–15", "line 12", "after line 11"."""
        if self.end == self.start:
            return f"after line {self.start}"
        if self.end == self.start + 1:
            return f"line {self.start + 1}"
        return f"lines {self.start + 1}–{self.end}"


def hunks(old: list[str], new: list[str], offset: int = 0) -> list[Hunk]:
    """The changes turning lines ``old`` into ``new`` (both with their line ends), as hunks on
    the document whose line ``offset`` is ``old[0]``: each run of changed lines is one hunk,
    so a person can keep some and drop others."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        Hunk(offset + i1, offset + i2, "".join(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def annotation_id(n: int) -> str:
    """The change annotation of the n-th hunk (1-based): ``perforch.result.n``."""
    return f"{ANNOTATION}.{n}"


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
    result needs added to the file's import block (``source.extras``), as one edit per hunk,
    each under its own change annotation (``perforch.result.n``) labelled with the hunk's lines
    and what was measured: a client may offer them one by one (VS Code's review does; with
    ``confirm`` it must ask before applying any)."""
    lines = document.splitlines(keepends=True)
    prefix = "".join(lines[: function.start])
    merged = extras.merge(language, prefix, result.final_code, "")
    offset = function.start if merged.startswith(prefix) else 0  # 0: imports added above
    old, new = lines[offset : function.end], merged[len("".join(lines[:offset])) :]
    if new and not new.endswith("\n") and offset + len(old) < len(lines):
        new += "\n"  # the line after the function stays on its own line
    found = hunks(old, new.splitlines(keepends=True), offset)
    measured = edit_label(result)
    annotations: dict[str, lsp.ChangeAnnotation] = {}
    edits: list[lsp.TextEdit | lsp.AnnotatedTextEdit | lsp.SnippetTextEdit] = []
    for n, hunk in enumerate(found, start=1):
        annotations[annotation_id(n)] = lsp.ChangeAnnotation(
            label=f"change {n} of {len(found)} ({hunk.lines()}): {measured}",
            needs_confirmation=confirm,
            description=result.message,
        )
        edits.append(
            lsp.AnnotatedTextEdit(
                range=lines_range(hunk.start, hunk.end),
                new_text=hunk.text,
                annotation_id=annotation_id(n),
            )
        )
    return lsp.WorkspaceEdit(
        document_changes=[
            lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                edits=edits,
            )
        ],
        change_annotations=annotations,
    )


def applied(document: str, edit: lsp.WorkspaceEdit) -> str:
    """``document`` after all of ``edit``'s whole-line hunks (as ``workspace_edit`` makes them)."""
    lines = document.splitlines(keepends=True)
    change = (edit.document_changes or [])[0]
    assert isinstance(change, lsp.TextDocumentEdit)
    for e in sorted(change.edits, key=lambda e: e.range.start.line, reverse=True):
        assert not isinstance(e, lsp.SnippetTextEdit)
        lines[e.range.start.line : e.range.end.line] = [e.new_text]
    return "".join(lines)


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
